/**
 * `deno task bao`: hashing, outboards, encodings, slices and verified decoding from the command
 * line, in the spirit of the `bao` tool, byte-compatible with bao (k = 0) and iroh-blobs (k = 4).
 *
 * Exit status: 0 success, 1 verification or I/O failure, 2 usage error. Messages go to stderr;
 * stdout carries only data (or the hash), so the commands compose in pipelines.
 *
 * @module
 */

import { enterCallerDir } from "./caller_dir.ts";
import { type Hash, InvalidHashError, parseTypedHash, toHex } from "../src/blake3/hash.ts";
import { Hasher } from "../src/blake3/hasher.ts";
import { BaoDecoder } from "../src/bao/decode.ts";
import { type BaoSource, encodeRanges, sizeHeader } from "../src/bao/encode.ts";
import { BaoError } from "../src/bao/errors.ts";
import { type MemOutboard, OutboardBuilder } from "../src/bao/outboard.ts";
import { InvalidTreeError, IROH_K, MAX_K } from "../src/bao/tree.ts";
import { ChunkRanges, InvalidRangesError } from "../src/ranges/chunk_ranges.ts";
import { InvalidCollectionError } from "../src/collection/collection.ts";
import { directoryCollection } from "../src/collection/directory.ts";
import { HelpRequested, parseArgv, UsageError } from "./args.ts";
import { BatchWriter, openInput, openOutput, readAt, readPieces, writeAll } from "./io.ts";

const USAGE = `usage: deno task bao <command> ...

  hash FILE                         print the BLAKE3 hash (hex), like b3sum --no-names
  outboard FILE OUT [--k N] [--no-header]
                                    write the pre-order outboard: 8-byte LE size, then the
                                    hash pairs (--no-header: pairs only, iroh's .obao4 at k=4)
  encode FILE OUT [--k N] [--ranges a..b,c..]
                                    write the 8-byte LE size and the encoding of the chunk
                                    ranges (1 KiB chunks; default all) exactly as iroh-blobs
                                    sends one blob
  slice FILE START LEN OUT          write a bao slice (k = 0) covering bytes START..START+LEN
  decode HASH IN OUT [--k N] [--ranges a..b,c..]
                                    verify an encoding and write only verified bytes; with
                                    --ranges and a file OUT, bytes land at their offsets
  collection DIR                    print the hash of the collection DIR makes: its regular
                                    files named as sendme names them (DIR's own name first,
                                    then the path inside it), the hash POST /collections gives
                                    for the same files

  Exit status: 0 ok, 1 verification failed, 2 usage, 3 a file that cannot be read or written.
  FILE, IN, OUT may be - for stdin/stdout. --k is the chunk group log: 0 = bao, 4 = iroh
  (default). HASH is 64 hex or 52 base32 characters.`;

interface Args {
  positional: string[];
  k: number;
  ranges: ChunkRanges | undefined;
  header: boolean;
}

function parseArgs(argv: string[]): Args {
  const args: Omit<Args, "positional"> = { k: IROH_K, ranges: undefined, header: true };
  const positional = parseArgv(argv, (flag, value) => {
    if (flag === "--k") {
      const v = value();
      if (!/^\d+$/.test(v) || Number(v) > MAX_K) {
        throw new UsageError(`--k takes an integer in 0..${MAX_K}, got "${v}"`);
      }
      args.k = Number(v);
    } else if (flag === "--ranges") args.ranges = ChunkRanges.parse(value());
    else if (flag === "--no-header") args.header = false;
    else return false;
    return true;
  });
  return { ...args, positional };
}

function expectPositional(args: Args, names: string[]): string[] {
  if (args.positional.length !== names.length) {
    throw new UsageError(`expected ${names.join(" ")}, got ${args.positional.length} arguments`);
  }
  return args.positional;
}

function byteCount(text: string, what: string): number {
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) {
    throw new UsageError(`${what} must be a byte count, got "${text}"`);
  }
  return Number(text);
}

/** Hashes a stream into an outboard at chunk group log `k`. */
async function buildOutboard(file: Parameters<typeof readPieces>[0], k: number) {
  const builder = new OutboardBuilder(k);
  for await (const piece of readPieces(file)) builder.update(piece);
  return builder.finalize();
}

/** Runs `fn` on a seekable file: `path` itself, or a temporary copy of stdin for `-`. */
async function withSeekable<T>(path: string, fn: (file: Deno.FsFile) => Promise<T>): Promise<T> {
  let temp: string | undefined;
  if (path === "-") {
    temp = await Deno.makeTempFile({ prefix: "bao-stdin-" });
    await Deno.writeFile(temp, Deno.stdin.readable);
  }
  const file = await Deno.open(temp ?? path, { read: true });
  try {
    return await fn(file);
  } finally {
    file.close();
    if (temp) await Deno.remove(temp);
  }
}

/** Writes the size header and the encoding of `ranges`, every item checked before it goes. */
async function writeEncoding(
  file: Deno.FsFile,
  outboard: MemOutboard,
  ranges: ChunkRanges,
  out: string,
) {
  const source: BaoSource = {
    tree: outboard.tree,
    root: outboard.root,
    loadPair: (node) => outboard.loadPair(node),
    readData: (start, end) => readAt(file, start, end),
  };
  const dest = await openOutput(out);
  const writer = new BatchWriter(dest);
  try {
    await writer.write(sizeHeader(outboard.tree.size));
    for await (const item of encodeRanges(source, ranges)) await writer.write(item);
    await writer.flush();
  } finally {
    if (dest !== Deno.stdout) dest.close();
  }
}

async function hashCommand(args: Args): Promise<void> {
  const [path] = expectPositional(args, ["FILE"]);
  const file = await openInput(path);
  const hasher = new Hasher();
  try {
    for await (const piece of readPieces(file)) hasher.update(piece);
  } finally {
    if (file !== Deno.stdin) file.close();
  }
  console.log(toHex(hasher.finalize()));
}

async function outboardCommand(args: Args): Promise<void> {
  const [path, out] = expectPositional(args, ["FILE", "OUT"]);
  const file = await openInput(path);
  let outboard: MemOutboard;
  try {
    outboard = (await buildOutboard(file, args.k)).inOrder("pre");
  } finally {
    if (file !== Deno.stdin) file.close();
  }
  const dest = await openOutput(out);
  try {
    if (args.header) await writeAll(dest, sizeHeader(outboard.tree.size));
    await writeAll(dest, outboard.pairs);
  } finally {
    if (dest !== Deno.stdout) dest.close();
  }
}

async function encodeCommand(args: Args): Promise<void> {
  const [path, out] = expectPositional(args, ["FILE", "OUT"]);
  await withSeekable(path, async (file) => {
    const outboard = await buildOutboard(file, args.k);
    await writeEncoding(file, outboard, args.ranges ?? ChunkRanges.ALL, out);
  });
}

async function sliceCommand(args: Args): Promise<void> {
  const [path, startText, lenText, out] = expectPositional(args, ["FILE", "START", "LEN", "OUT"]);
  const start = byteCount(startText, "START");
  const len = byteCount(lenText, "LEN");
  await withSeekable(path, async (file) => {
    const outboard = await buildOutboard(file, 0);
    // bao treats a zero-length slice as one byte, so that it still proves something.
    await writeEncoding(
      file,
      outboard,
      ChunkRanges.fromBytes(start, start + Math.max(len, 1)),
      out,
    );
  });
}

async function decodeCommand(args: Args): Promise<void> {
  const [hashText, input, out] = expectPositional(args, ["HASH", "IN", "OUT"]);
  let root: Hash;
  try {
    root = parseTypedHash(hashText);
  } catch (e) {
    throw new UsageError(e instanceof InvalidHashError ? e.message : String(e));
  }
  const ranges = args.ranges ?? ChunkRanges.ALL;
  const decoder = new BaoDecoder(root, ranges, args.k);
  const source = await openInput(input);
  const dest = await openOutput(out);
  // Sparse output only when a file is the target and ranges were asked for: stdout gets the
  // verified bytes back to back.
  const positioned = dest !== Deno.stdout && args.ranges !== undefined;
  const writer = new BatchWriter(dest);
  try {
    for await (const piece of readPieces(source)) {
      for (const v of decoder.push(piece)) {
        if (positioned) {
          await writer.flush();
          await (dest as Deno.FsFile).seek(v.offset, Deno.SeekMode.Start);
        }
        await writer.write(v.data);
      }
      if (decoder.done) break;
    }
    decoder.finish();
  } finally {
    // Whatever was written is verified; keep it even when a later item failed.
    await writer.flush();
    if (dest !== Deno.stdout) dest.close();
  }
}

async function collectionCommand(args: Args): Promise<void> {
  const [dir] = expectPositional(args, ["DIR"]);
  console.log(toHex((await directoryCollection(dir)).hash));
}

const COMMANDS: Record<string, (args: Args) => Promise<void>> = {
  hash: hashCommand,
  outboard: outboardCommand,
  encode: encodeCommand,
  slice: sliceCommand,
  decode: decodeCommand,
  collection: collectionCommand,
};

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  try {
    if (name === "-h" || name === "--help") throw new HelpRequested();
    const command = COMMANDS[name];
    if (command === undefined) {
      throw new UsageError(name === undefined ? "" : `unknown command "${name}"`);
    }
    await command(parseArgs(rest));
    return 0;
  } catch (e) {
    if (e instanceof HelpRequested) {
      console.log(USAGE);
      return 0;
    }
    if (
      e instanceof UsageError || e instanceof InvalidRangesError || e instanceof InvalidTreeError
    ) {
      if (e.message) console.error(`bao: ${e.message}`);
      console.error(USAGE);
      return 2;
    }
    if (e instanceof BaoError) {
      console.error(`bao ${name}: verification failed: ${e.message}`);
      return 1;
    }
    // A file that cannot be used is not a failed verification (1): scripts tell them apart.
    if (
      e instanceof InvalidCollectionError || Object.values(Deno.errors).some((t) => e instanceof t)
    ) {
      console.error(`bao ${name}: ${(e as Error).message}`);
      return 3;
    }
    throw e;
  }
}

if (import.meta.main) {
  enterCallerDir(3);
  Deno.exit(await main(Deno.args));
}
