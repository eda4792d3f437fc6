/**
 * A directory's files as a tar archive, produced piece by piece as the files are read, for
 * `POST /collections` (`application/x-tar`): no file is held whole, so a directory of any size
 * uploads in constant memory. Tar rather than `multipart/form-data` because a tar name is exact
 * for every name (pax `path` is UTF-8 of any length), while a form's `filename` cannot tell a
 * name's literal `%22` from the `"` browsers escape as `%22`.
 *
 * Written as POSIX.1-2017 `pax` describes it ("ustar Interchange Format", "pax Interchange
 * Format"): a ustar header per file, preceded by a pax extended header only when ustar cannot
 * hold the name (over 100 bytes) or the size (8 GiB and more). Owner, mode and time are fixed,
 * so the same files always make the same bytes.
 *
 * @module
 */

import type { DirectoryFile } from "../src/collection/directory.ts";
import { sentPieces } from "./sent_file.ts";

const BLOCK = 512;
/** The ustar `name` field's length. */
const NAME_BYTES = 100;
/** The largest size an 11-digit octal ustar field holds. */
const MAX_USTAR_SIZE = 0o77777777777;

const encoder = new TextEncoder();

/** A ustar header block (pax: "ustar Interchange Format", header layout and checksum). */
function ustarHeader(name: string, size: number, typeflag: "0" | "x"): Uint8Array {
  const block = new Uint8Array(BLOCK);
  const field = (offset: number, text: string) => block.set(encoder.encode(text), offset);
  field(0, name);
  field(100, "0000644\0"); // mode
  field(108, "0000000\0"); // uid
  field(116, "0000000\0"); // gid
  field(124, size.toString(8).padStart(11, "0") + "\0");
  field(136, "00000000000\0"); // mtime
  field(148, "        "); // the checksum counts its own field as spaces
  field(156, typeflag);
  field(257, "ustar\u000000");
  const sum = block.reduce((a, b) => a + b, 0);
  field(148, sum.toString(8).padStart(6, "0") + "\0 ");
  return block;
}

/** One pax record, `"<length> <key>=<value>\n"`, whose length counts its own digits. */
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  const n = encoder.encode(body).length;
  let digits = String(n).length;
  while (String(n + digits).length !== digits) digits++;
  return `${n + digits}${body}`;
}

/** Zero bytes that pad `size` to a whole block. */
function padding(size: number): Uint8Array {
  return new Uint8Array((BLOCK - (size % BLOCK)) % BLOCK);
}

/** The header blocks of a regular file: pax records first when ustar cannot say it. */
function fileHeaders(name: string, size: number): Uint8Array[] {
  const longName = encoder.encode(name).length > NAME_BYTES;
  const bigFile = size > MAX_USTAR_SIZE;
  const records = (longName ? paxRecord("path", name) : "") +
    (bigFile ? paxRecord("size", String(size)) : "");
  // With records, the ustar fields they replace are placeholders: pax readers take the records.
  const header = ustarHeader(longName ? "long-name" : name, bigFile ? 0 : size, "0");
  if (records === "") return [header];
  const data = encoder.encode(records);
  return [ustarHeader("PaxHeader", data.length, "x"), data, padding(data.length), header];
}

/**
 * The tar archive of `files` (collection names and where to read them), in order, ending with
 * the two zero blocks. `onData(index, bytes)` sees each file's contents as they pass, so the
 * caller can hash and count them. Throws `FileChangedError` when a file's length differs from
 * the one its header announced (sent_file.ts), and the file system's errors.
 */
export async function* tarPieces(
  files: readonly DirectoryFile[],
  onData: (index: number, bytes: Uint8Array) => void,
): AsyncGenerator<Uint8Array> {
  for (const [index, file] of files.entries()) {
    const size = (await Deno.stat(file.path)).size;
    yield* fileHeaders(file.name, size);
    for await (const piece of sentPieces(file.path, size)) {
      onData(index, piece);
      yield piece;
    }
    yield padding(size);
  }
  yield new Uint8Array(2 * BLOCK);
}
