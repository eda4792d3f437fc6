/**
 * A strict streaming reader of tar archives (POSIX.1-2017 `pax` utility, "ustar Interchange
 * Format" and "pax Interchange Format"; GNU tar manual, "Basic Tar Format" for its long names and
 * base-256 numbers), for uploading a collection as `application/x-tar`. It yields each regular
 * file with a stream of its bytes; nothing of a file is held.
 *
 * What it accepts, and why:
 * - ustar and GNU headers (magic `ustar\0` `00`, or `ustar ` ` \0`) with a correct checksum;
 *   pre-POSIX v7 headers, with no magic, are refused. Numbers are octal (leading spaces, a NUL
 *   or space after the digits) or GNU base-256 (positive only).
 * - Names: pax `path`, else a GNU `L` long name, else the ustar `prefix/name` (the prefix field
 *   only in POSIX headers: GNU headers keep times there). UTF-8, strictly. Leading `./` segments
 *   are dropped, as `tar -cf - .` writes them and tar drops them on extraction; every other
 *   name goes to the importer as written, to be validated there.
 * - Regular files (`0`, NUL, contiguous `7`) become entries; hard links (`1`) become links to
 *   an earlier file of the archive, because tar stores the second name of a file that way and a
 *   directory walk sees two files. Directories (`5`) are implied by names, and symbolic links,
 *   devices and FIFOs (`2`, `3`, `4`, `6`) are skipped, as sendme skips everything that is not a
 *   regular file: such an archive of a directory gives the collection a walk of it gives.
 * - pax extended headers (`x`) set `path`, `linkpath` and `size` of the next entry; other keys
 *   are ignored, except GNU sparse keys, which change what the data means and are refused. pax
 *   global headers (`g`) are skipped: no global key changes a file's name or contents here.
 * - GNU sparse files (`S`), multi-volume and other vendor types are refused.
 * - The archive ends at a zero block; the stream must reach one (a cut upload is an error, not a
 *   shorter collection), and what follows it is not read.
 *
 * @module
 */

import { type ArchiveEntry, ArchiveError } from "./archive_entry.ts";
import { ByteReader } from "./byte_reader.ts";

/** Bytes that are not a tar archive this reader accepts. */
export class MalformedTarError extends ArchiveError {
  override name = "MalformedTarError";
}

const BLOCK = 512;

/** Largest pax extended header or GNU long name: real ones are a few hundred bytes. */
export const MAX_EXTENDED_HEADER = 1024 * 1024;

const UTF8 = new TextDecoder("utf-8", { fatal: true });
const ASCII_SPACE = 32;

/** Field offsets and lengths of a ustar header block. */
const FIELD = {
  name: [0, 100],
  size: [124, 12],
  checksum: [148, 8],
  typeflag: [156, 1],
  linkname: [157, 100],
  magic: [257, 8],
  prefix: [345, 155],
} as const;

type Field = keyof typeof FIELD;

/** Symbolic links, devices, directories and FIFOs: not files of a collection. */
const SKIPPED = new Set(["2", "3", "4", "5", "6"]);

/** What pax `x` headers and GNU `L`/`K` entries say about the next entry. */
interface Overrides {
  path?: string;
  linkpath?: string;
  size?: number;
}

/** Which header formats carry a prefix field. */
type Magic = "posix" | "gnu";

/**
 * The regular files and hard links of a tar stream, in archive order. A file's body is valid
 * until the next entry is asked for; what is left unread is skipped. Throws `MalformedTarError`.
 */
export async function* readTar(body: AsyncIterable<Uint8Array>): AsyncGenerator<ArchiveEntry> {
  const reader = new ByteReader(body);
  const truncated = () =>
    new MalformedTarError(`the archive ends at byte ${reader.received} before its end marker`);
  let next: Overrides = {};
  while (true) {
    const at = reader.offset;
    if (!(await reader.fill(BLOCK))) throw truncated();
    const block = reader.take(BLOCK);
    if (block.every((b) => b === 0)) {
      if (Object.keys(next).length > 0) {
        throw new MalformedTarError(`an extended header at byte ${at} is followed by no entry`);
      }
      return;
    }
    const header = new Header(block, at);
    const type = header.typeflag;
    const meta = type === "x" || type === "L" || type === "K" || type === "g";
    // An extended header's size applies to the entry after it, not to another extended header.
    const size = meta ? header.number("size") : next.size ?? header.number("size");
    const padding = (BLOCK - (size % BLOCK)) % BLOCK;
    if (type === "x" || type === "L" || type === "K") {
      const data = await readExtended(reader, size, at, truncated);
      next = type === "x" ? { ...next, ...paxRecords(data, at) } : {
        ...next,
        [type === "L" ? "path" : "linkpath"]: nulTerminated(data, at),
      };
    } else if (type === "g") {
      await reader.skip(size, truncated);
    } else {
      const name = stripDotSlash(next.path ?? header.path());
      if (type === "0" || type === "\0" || type === "7") {
        let left = size;
        const pieces = async function* () {
          for await (const piece of reader.stream(size, truncated)) {
            left -= piece.length;
            yield piece;
          }
        };
        yield { type: "file", name, body: pieces() };
        await reader.skip(left, truncated);
      } else if (type === "1") {
        const target = stripDotSlash(next.linkpath ?? header.text("linkname"));
        yield { type: "link", name, target };
        await reader.skip(size, truncated);
      } else if (SKIPPED.has(type)) {
        await reader.skip(size, truncated);
      } else {
        throw new MalformedTarError(`unsupported entry type "${type}" at byte ${at}`);
      }
      next = {};
    }
    await reader.skip(padding, truncated);
  }
}

/** A checked header block. */
class Header {
  readonly magic: Magic;

  constructor(readonly block: Uint8Array, readonly at: number) {
    const magic = this.text("magic", false);
    if (magic === "ustar\u000000") this.magic = "posix";
    else if (magic === "ustar  \0") this.magic = "gnu";
    else throw this.#fail("has no ustar magic (v7 and other formats are not accepted)");
    const stored = this.number("checksum");
    let unsigned = 0, signed = 0;
    for (let i = 0; i < BLOCK; i++) {
      const inField = i >= FIELD.checksum[0] && i < FIELD.checksum[0] + FIELD.checksum[1];
      const b = inField ? ASCII_SPACE : block[i];
      unsigned += b;
      signed += b < 128 ? b : b - 256;
    }
    // POSIX sums bytes as unsigned; some historic writers summed them as signed.
    if (stored !== unsigned && stored !== signed) throw this.#fail("has a wrong checksum");
  }

  get typeflag(): string {
    return String.fromCharCode(this.block[FIELD.typeflag[0]]);
  }

  #fail(why: string): MalformedTarError {
    return new MalformedTarError(`the header at byte ${this.at} ${why}`);
  }

  #bytes(field: Field): Uint8Array {
    const [offset, length] = FIELD[field];
    return this.block.subarray(offset, offset + length);
  }

  /** A NUL-terminated text field (the whole field if it has no NUL), as strict UTF-8. */
  text(field: Field, toNul = true): string {
    const bytes = this.#bytes(field);
    const end = toNul ? bytes.indexOf(0) : -1;
    try {
      return UTF8.decode(end < 0 ? bytes : bytes.subarray(0, end));
    } catch {
      throw this.#fail(`has a ${field} that is not UTF-8`);
    }
  }

  /** The ustar name: `prefix/name` when a POSIX header has a prefix. */
  path(): string {
    const name = this.text("name");
    const prefix = this.magic === "posix" ? this.text("prefix") : "";
    return prefix === "" ? name : `${prefix}/${name}`;
  }

  /**
   * A numeric field: octal digits after optional spaces, ended by NUL or space (then only NULs
   * and spaces), or GNU base-256 (first byte 0x80, big-endian after it).
   */
  number(field: Field): number {
    const bytes = this.#bytes(field);
    let value = 0;
    if (bytes[0] === 0x80) {
      for (const b of bytes.subarray(1)) value = value * 256 + b;
    } else {
      const text = String.fromCharCode(...bytes);
      const m = /^ *([0-7]+)[ \0][ \0]*$/.exec(text) ?? /^ *([0-7]+)$/.exec(text);
      if (m === null) throw this.#fail(`has a ${field} field that is not an octal number`);
      value = parseInt(m[1], 8);
    }
    if (!Number.isSafeInteger(value)) throw this.#fail(`has a ${field} beyond 2^53`);
    return value;
  }
}

/** Reads the data of an extended header entry, bounded by `MAX_EXTENDED_HEADER`. */
async function readExtended(
  reader: ByteReader,
  size: number,
  at: number,
  truncated: () => Error,
): Promise<Uint8Array> {
  if (size > MAX_EXTENDED_HEADER) {
    throw new MalformedTarError(`the extended header at byte ${at} is over 1 MiB`);
  }
  if (!(await reader.fill(size))) throw truncated();
  return reader.take(size);
}

/** A GNU long name: the data up to its first NUL, strict UTF-8. */
function nulTerminated(data: Uint8Array, at: number): string {
  const end = data.indexOf(0);
  try {
    return UTF8.decode(end < 0 ? data : data.subarray(0, end));
  } catch {
    throw new MalformedTarError(`the long name at byte ${at} is not UTF-8`);
  }
}

/**
 * pax extended header records (POSIX.1-2017 `pax`, "pax Extended Header"): `"%d %s=%s\n"`,
 * the decimal length counting the whole record in bytes. Returns the keys this reader uses.
 */
function paxRecords(data: Uint8Array, at: number): Overrides {
  const fail = (why: string) => new MalformedTarError(`the pax header at byte ${at} ${why}`);
  const out: Overrides = {};
  for (let i = 0; i < data.length;) {
    const space = data.subarray(i, i + 9).indexOf(ASCII_SPACE);
    const digits = space < 0 ? "" : String.fromCharCode(...data.subarray(i, i + space));
    if (!/^[1-9][0-9]*$/.test(digits)) throw fail(`has a bad record length at offset ${i}`);
    const end = i + Number(digits);
    if (end > data.length || end <= i + space + 1 || data[end - 1] !== 0x0a) {
      throw fail(`has a record at offset ${i} that does not end in a newline where it says`);
    }
    let record: string;
    try {
      record = UTF8.decode(data.subarray(i + space + 1, end - 1));
    } catch {
      throw fail(`has a record at offset ${i} that is not UTF-8`);
    }
    const eq = record.indexOf("=");
    if (eq <= 0) throw fail(`has a record at offset ${i} without key=value`);
    const key = record.slice(0, eq), value = record.slice(eq + 1);
    if (key === "path") out.path = value;
    else if (key === "linkpath") out.linkpath = value;
    else if (key === "size") {
      if (!/^[0-9]{1,16}$/.test(value) || !Number.isSafeInteger(Number(value))) {
        throw fail(`has a bad size "${value.slice(0, 40)}"`);
      }
      out.size = Number(value);
    } else if (key.startsWith("GNU.sparse.")) throw fail("describes a sparse file");
    i = end;
  }
  return out;
}

/** `./a/b` → `a/b`: the prefix `tar -cf - .` writes. */
function stripDotSlash(name: string): string {
  let out = name;
  while (out.startsWith("./")) out = out.slice(2);
  return out;
}
