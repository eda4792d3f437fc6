/**
 * A streaming reader of `multipart/form-data` bodies (RFC 7578, on the multipart syntax of
 * RFC 2046 §5.1.1), for uploading a collection one part per file. `Request.formData()` would
 * hold every file in memory; this hands out each part's bytes as they arrive.
 *
 * Strict where the RFCs are: a boundary of 1–70 `bchars`, CRLF line ends, a delimiter line that
 * is the boundary, optional transport padding and CRLF, header sections of at most
 * `MAX_PART_HEADER` bytes in UTF-8 with no folded lines, exactly one `Content-Disposition:
 * form-data` with a `name` per part, and a close delimiter before the body ends. The preamble and
 * the epilogue are ignored, as §5.1.1 says.
 *
 * Names are taken as browsers write them (HTML Standard, "multipart/form-data encoding
 * algorithm"): the quoted value runs to the next `"`, with no backslash escapes, and the three
 * escapes browsers make (`%0A`, `%0D`, `%22`) are undone. `filename*` (RFC 5987), which
 * RFC 7578 §4.2 forbids senders to use, is ignored like any other unknown parameter.
 *
 * @module
 */

import { ArchiveError, type ArchiveFile } from "./archive_entry.ts";
import { ByteReader } from "./byte_reader.ts";

/** A body that is not `multipart/form-data` as RFC 7578 and RFC 2046 define it. */
export class MalformedFormDataError extends ArchiveError {
  override name = "MalformedFormDataError";
}

/** Largest header section of one part, final empty line included. */
export const MAX_PART_HEADER = 16 * 1024;

/** Longest transport padding (RFC 2046 `LWSP`) accepted after a delimiter. */
const MAX_PADDING = 256;

/** RFC 2046 §5.1.1 `boundary := 0*69<bchars> bcharsnospace`. */
const BOUNDARY = /^[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]$/;

/** RFC 9110 §5.6.2 `token`, matched where `lastIndex` says. */
const TOKEN_AT = /[!#$%&'*+\-.^_`|~0-9A-Za-z]+/y;

const CR = 13, LF = 10, DASH = 45, SP = 32, HTAB = 9;
const CRLF = Uint8Array.of(CR, LF);
const UTF8 = new TextDecoder("utf-8", { fatal: true });

/**
 * The `boundary` parameter of a `multipart/form-data` content type (RFC 7578 §4.1; RFC 2046
 * §5.1.1 syntax), quoted or not. Throws `MalformedFormDataError` if it is missing or invalid.
 */
export function formDataBoundary(contentType: string): string {
  const m = /;\s*boundary\s*=\s*(?:"([^"]*)"|([^\s;"]+))/i.exec(contentType);
  const boundary = m?.[1] ?? m?.[2];
  if (boundary === undefined || !BOUNDARY.test(boundary)) {
    throw new MalformedFormDataError(
      "multipart/form-data needs a boundary parameter of 1 to 70 characters (RFC 2046 §5.1.1)",
    );
  }
  return boundary;
}

/**
 * The parts of a `multipart/form-data` body as files: the entry name is the part's `filename`,
 * or its field `name` when it has none. A part's body is valid until the next part is asked for;
 * what the consumer leaves unread is skipped. Throws `MalformedFormDataError` (RFC 7578 §4).
 */
export async function* readFormData(
  body: AsyncIterable<Uint8Array>,
  boundary: string,
): AsyncGenerator<ArchiveFile> {
  if (!BOUNDARY.test(boundary)) throw new MalformedFormDataError("invalid boundary");
  const delimiter = new TextEncoder().encode(`\r\n--${boundary}`);
  // The first delimiter may open the body without the CRLF that belongs to it (§5.1.1).
  const reader = new ByteReader(withLeadingCrlf(body));
  const part = new PartBody(reader, delimiter);
  await part.drain(); // the preamble
  while (!(await closes(reader))) {
    const name = await readPartName(reader);
    part.reset();
    yield { type: "file", name, body: part.pieces() };
    await part.drain();
  }
}

async function* withLeadingCrlf(body: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  yield CRLF;
  yield* body;
}

function truncated(reader: ByteReader): MalformedFormDataError {
  return new MalformedFormDataError(
    `the body ends at byte ${reader.received - CRLF.length} before the close delimiter`,
  );
}

/** The bytes of one part up to its delimiter, which is consumed at the end. */
class PartBody {
  #ended = false;

  constructor(readonly reader: ByteReader, readonly delimiter: Uint8Array) {}

  reset(): void {
    this.#ended = false;
  }

  async *pieces(): AsyncGenerator<Uint8Array> {
    for (let p = await this.#next(); p !== undefined; p = await this.#next()) yield p;
  }

  /** Skips the rest of the part. */
  async drain(): Promise<void> {
    while (await this.#next() !== undefined) { /* dropped */ }
  }

  /** The next piece of the part, or `undefined` once its delimiter has been consumed. */
  async #next(): Promise<Uint8Array | undefined> {
    const reader = this.reader;
    while (!this.#ended) {
      const { at, safe } = findDelimiter(reader.buffered, this.delimiter);
      if (at === 0) {
        reader.take(this.delimiter.length);
        this.#ended = true;
      } else if (safe > 0) {
        return reader.take(safe);
      } else if (!(await reader.pull())) {
        throw truncated(reader);
      }
    }
    return undefined;
  }
}

/**
 * Where `delimiter` first occurs in `buf` (`at`, or −1), and how many leading bytes cannot be
 * part of it (`safe`): everything before a match, or before a tail that could begin one.
 */
function findDelimiter(buf: Uint8Array, delimiter: Uint8Array): { at: number; safe: number } {
  for (let i = buf.indexOf(delimiter[0]); i >= 0; i = buf.indexOf(delimiter[0], i + 1)) {
    const n = Math.min(delimiter.length, buf.length - i);
    let j = 1;
    while (j < n && buf[i + j] === delimiter[j]) j++;
    if (j === n) return { at: n === delimiter.length ? i : -1, safe: i };
  }
  return { at: -1, safe: buf.length };
}

/**
 * After a delimiter: true for the close delimiter (`--`), else consumes the transport padding
 * and the CRLF that end the delimiter line.
 */
async function closes(reader: ByteReader): Promise<boolean> {
  for (let i = 0;; i++) {
    if (!(await reader.fill(i + 2))) throw truncated(reader);
    const b = reader.buffered;
    if (i === 0 && b[0] === DASH && b[1] === DASH) return true;
    if (b[i] === CR && b[i + 1] === LF) {
      reader.take(i + 2);
      return false;
    }
    if ((b[i] !== SP && b[i] !== HTAB) || i >= MAX_PADDING) {
      throw new MalformedFormDataError(
        `expected CRLF after the boundary at byte ${reader.offset + i - CRLF.length}`,
      );
    }
  }
}

/** Reads a part's header section and returns its entry name. */
async function readPartName(reader: ByteReader): Promise<string> {
  const start = reader.offset - CRLF.length;
  const tooLong = () =>
    new MalformedFormDataError(`the part header at byte ${start} is over ${MAX_PART_HEADER} bytes`);
  // `end` is where the fields stop; the CRLFs after them (one, or two after a field) follow.
  let end: number, crlfs: number;
  for (let from = 0;;) {
    const b = reader.buffered;
    if (b.length >= 2 && b[0] === CR && b[1] === LF) [end, crlfs] = [0, 2];
    else [end, crlfs] = [indexOfBlankLine(b, from), 4];
    if (end >= 0) break;
    if (b.length > MAX_PART_HEADER) throw tooLong();
    from = Math.max(0, b.length - 3);
    if (!(await reader.pull())) throw truncated(reader);
  }
  if (end + crlfs > MAX_PART_HEADER) throw tooLong();
  const raw = reader.take(end);
  reader.take(crlfs);
  let text: string;
  try {
    text = UTF8.decode(raw);
  } catch {
    throw new MalformedFormDataError(`the part header at byte ${start} is not valid UTF-8`);
  }
  return entryName(partDisposition(text, start));
}

/** The index of the CRLF that ends the header fields (`\r\n\r\n`), or −1. */
function indexOfBlankLine(b: Uint8Array, from: number): number {
  for (let i = b.indexOf(CR, from); i >= 0; i = b.indexOf(CR, i + 1)) {
    if (b[i + 1] === LF && b[i + 2] === CR && b[i + 3] === LF) return i;
  }
  return -1;
}

/** The one `Content-Disposition` field of a header section (`text` without the blank line). */
function partDisposition(text: string, start: number): string {
  const fail = (why: string) =>
    new MalformedFormDataError(`the part header at byte ${start} ${why}`);
  let disposition: string | undefined;
  for (const line of text === "" ? [] : text.split("\r\n")) {
    if (/[\r\n]/.test(line)) throw fail("has a bare CR or LF");
    const colon = line.indexOf(":");
    TOKEN_AT.lastIndex = 0;
    const name = line.slice(0, Math.max(colon, 0));
    if (colon <= 0 || TOKEN_AT.exec(name)?.[0] !== name) {
      throw fail(`has a line that is not a header field: ${JSON.stringify(line.slice(0, 80))}`);
    }
    if (name.toLowerCase() !== "content-disposition") continue;
    if (disposition !== undefined) throw fail("has two Content-Disposition fields");
    disposition = line.slice(colon + 1);
  }
  if (disposition === undefined) throw fail("has no Content-Disposition (RFC 7578 §4.2)");
  return disposition;
}

/** The entry name from `form-data; name="…"; filename="…"` (RFC 7578 §4.2). */
function entryName(disposition: string): string {
  const fail = (why: string) =>
    new MalformedFormDataError(
      `Content-Disposition ${JSON.stringify(disposition.slice(0, 200))} ${why}`,
    );
  let i = 0;
  const skipSpace = () => {
    while (disposition[i] === " " || disposition[i] === "\t") i++;
  };
  const token = () => {
    TOKEN_AT.lastIndex = i;
    const m = TOKEN_AT.exec(disposition);
    if (m === null) throw fail(`needs a token at character ${i}`);
    i += m[0].length;
    return m[0];
  };
  skipSpace();
  if (token().toLowerCase() !== "form-data") throw fail("is not form-data");
  const params = new Map<string, string>();
  for (skipSpace(); i < disposition.length; skipSpace()) {
    if (disposition[i++] !== ";") throw fail(`needs ";" at character ${i - 1}`);
    skipSpace();
    const name = token().toLowerCase();
    skipSpace();
    if (disposition[i++] !== "=") throw fail(`needs "=" after ${name}`);
    skipSpace();
    let value: string;
    if (disposition[i] === '"') {
      const close = disposition.indexOf('"', i + 1);
      if (close < 0) throw fail("has an unterminated quoted string");
      value = disposition.slice(i + 1, close);
      i = close + 1;
    } else value = token();
    if (params.has(name)) throw fail(`repeats the parameter ${name}`);
    params.set(name, value);
  }
  const field = params.get("name");
  if (field === undefined) throw fail("has no name parameter");
  return unescapeName(params.get("filename") ?? field);
}

/** Undoes the HTML Standard's escaping of names in form-data headers. */
function unescapeName(name: string): string {
  return name.replaceAll("%0A", "\n").replaceAll("%0D", "\r").replaceAll("%22", '"');
}
