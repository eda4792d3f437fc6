/**
 * Helpers for the upload-format tests: a minimal tar writer (for archives `tar` will not make,
 * such as escaping names or broken headers), a reader that drains entries, and mutations.
 */
import type { ArchiveEntry } from "../src/collection/archive_entry.ts";
import { assert } from "./assert.ts";
import { concat } from "./bao_helpers.ts";
import { randomBytes, randomInt } from "./random.ts";

export interface TarFields {
  name: string;
  size?: number;
  type?: string;
  linkname?: string;
  prefix?: string;
  /** `posix` (default), `gnu`, or raw 8 magic+version bytes. */
  magic?: "posix" | "gnu" | string;
  /** A size field written as is (12 bytes at most). */
  rawSize?: string;
}

const ENC = new TextEncoder();

/** One ustar header block with a correct checksum. */
export function tarHeader(f: TarFields): Uint8Array<ArrayBuffer> {
  const block = new Uint8Array(512);
  const put = (offset: number, text: string) => block.set(ENC.encode(text), offset);
  put(0, f.name);
  put(100, "0000644\0");
  put(108, "0000000\0");
  put(116, "0000000\0");
  put(124, f.rawSize ?? (f.size ?? 0).toString(8).padStart(11, "0") + "\0");
  put(136, "00000000000\0");
  block[156] = (f.type ?? "0").charCodeAt(0);
  put(157, f.linkname ?? "");
  const magic = f.magic ?? "posix";
  put(257, magic === "posix" ? "ustar\u000000" : magic === "gnu" ? "ustar  \0" : magic);
  if (f.prefix) put(345, f.prefix);
  put(148, "        ");
  const sum = block.reduce((a, b) => a + b, 0);
  put(148, sum.toString(8).padStart(6, "0") + "\0 ");
  return block;
}

/** A header and its data padded to whole blocks. */
export function tarEntry(f: TarFields, data: Uint8Array = new Uint8Array(0)): Uint8Array {
  const padded = new Uint8Array(Math.ceil(data.length / 512) * 512);
  padded.set(data);
  return concat([tarHeader({ size: data.length, ...f }), padded]);
}

/** A pax extended header entry (`x`) with the given records. */
export function paxEntry(records: Record<string, string>): Uint8Array {
  const parts = Object.entries(records).map(([k, v]) => {
    const body = ` ${k}=${v}\n`;
    let len = ENC.encode(body).length + 1;
    while (String(len).length + ENC.encode(body).length !== len) len++;
    return `${len}${body}`;
  });
  return tarEntry({ name: "PaxHeader", type: "x" }, ENC.encode(parts.join("")));
}

/** The end-of-archive marker. */
export const TAR_END = new Uint8Array(1024);

/** A tar archive of regular files. */
export function tarOf(files: [string, Uint8Array][]): Uint8Array<ArrayBuffer> {
  return concat([...files.map(([name, data]) => tarEntry({ name }, data)), TAR_END]);
}

export type ReadEntry = { type: "file"; name: string; data: Uint8Array } | {
  type: "link";
  name: string;
  target: string;
};

/** Every entry, with file bodies read whole. */
export async function readEntries(entries: AsyncIterable<ArchiveEntry>): Promise<ReadEntry[]> {
  const out: ReadEntry[] = [];
  for await (const e of entries) {
    if (e.type === "link") {
      out.push(e);
      continue;
    }
    const pieces: Uint8Array[] = [];
    for await (const p of e.body) pieces.push(p.slice());
    out.push({ type: "file", name: e.name, data: concat(pieces) });
  }
  return out;
}

/** `bytes` in pieces of random sizes (1 byte to `max`), each a fresh copy. */
export async function* randomPieces(
  bytes: Uint8Array,
  rand: () => number,
  max = 4096,
): AsyncGenerator<Uint8Array> {
  for (let off = 0; off < bytes.length;) {
    const n = rand() < 0.2 ? 1 : randomInt(rand, 1, max);
    yield bytes.slice(off, off + n);
    off += n;
  }
}

/** A directory tree with everything a tar of it can hold. */
export async function testTree(
  rand: () => number,
): Promise<{ parent: string; files: Map<string, Uint8Array> }> {
  const parent = await Deno.makeTempDir({ prefix: "tar-test-" });
  const files = new Map<string, Uint8Array>();
  const long = "a-rather-long-directory-name-".repeat(4);
  const add = async (rel: string, data: Uint8Array) => {
    const path = `${parent}/${rel}`;
    await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
    await Deno.writeFile(path, data);
    files.set(rel, data);
  };
  await add("root/a.txt", ENC.encode("hello\n"));
  await add("root/empty", new Uint8Array(0));
  await add("root/block.bin", randomBytes(512, rand));
  await add("root/big.bin", randomBytes(100_000, rand));
  await add(`root/${long}/${long}/${"n".repeat(120)}.txt`, randomBytes(700, rand));
  await add("root/ünïcødé/файл ✓.txt", ENC.encode("unicode"));
  await Deno.mkdir(`${parent}/root/empty-dir`);
  await Deno.symlink("a.txt", `${parent}/root/link-to-a`);
  await Deno.link(`${parent}/root/a.txt`, `${parent}/root/hard-a`);
  files.set("root/hard-a", files.get("root/a.txt")!);
  return { parent, files };
}

/** The archive `tar` writes with `args` (to stdout). */
export async function tarOfDirectory(args: string[]): Promise<Uint8Array<ArrayBuffer>> {
  const out = await new Deno.Command("tar", { args, stdout: "piped", stderr: "piped" }).output();
  assert(out.success, new TextDecoder().decode(out.stderr));
  return out.stdout;
}

/** One to four random edits of `valid` (overwrite, insert, delete, cut), or random bytes. */
export function mutated(valid: Uint8Array, rand: () => number): Uint8Array {
  if (rand() < 0.1) return randomBytes(randomInt(rand, 0, 2048), rand);
  let out = valid;
  for (let edits = randomInt(rand, 1, 4); edits > 0; edits--) {
    const at = randomInt(rand, 0, out.length);
    const byte = Uint8Array.of(randomInt(rand, 0, 255));
    const kind = randomInt(rand, 0, 3);
    if (kind === 0 && at < out.length) {
      out = concat([out.subarray(0, at), byte, out.subarray(at + 1)]);
    } else if (kind === 1) out = concat([out.subarray(0, at), byte, out.subarray(at)]);
    else if (kind === 2) out = concat([out.subarray(0, at), out.subarray(at + 1)]);
    else out = out.subarray(0, at);
  }
  return out;
}
