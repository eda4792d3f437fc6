/**
 * The `Content-Type` of a blob (RFC 9110 §8.3): from an explicit `?type=` override, else the
 * extension of its name in a collection, else a look at its first bytes, else
 * `application/octet-stream`.
 *
 * Sniffing is deliberately narrow. It recognises binary formats by their magic numbers and
 * plain UTF-8 text, and never answers `text/html`, `image/svg+xml`, `text/javascript` or any
 * other type a browser executes or renders with scripts. The bytes are untrusted: anyone who
 * can get a blob stored could otherwise turn data into active content on the gateway's origin
 * just by choosing its first bytes. Active types come only from a name or an override, both
 * chosen by a person, and the routes neutralise them for every blob response alike with
 * `X-Content-Type-Options: nosniff` (browsers use the type as sent, never upgrade it) and a
 * `Content-Security-Policy: sandbox` (a document runs in an opaque origin, away from the
 * gateway's storage and service workers).
 *
 * For that reason `?type=` accepts any syntactically valid media type, `text/html` included:
 * the extension table already yields `text/html` for an `index.html` entry, so refusing it as
 * an override would protect nothing the headers do not already protect, and would break the
 * plain use of viewing a stored page.
 *
 * @module
 */

import { InvalidMediaTypeError } from "./errors.ts";
import { TOKEN, trimOws } from "./syntax.ts";

/** The type of bytes we know nothing about (RFC 2046 §4.5.1). */
export const DEFAULT_CONTENT_TYPE = "application/octet-stream";

/**
 * How many leading bytes sniffing looks at: one BLAKE3 chunk, enough for every magic number
 * here and for a fair judgement of text (WHATWG MIME Sniffing reads up to 1,445).
 */
export const SNIFF_LEN = 1024;

/**
 * Longest override accepted. It is echoed into the response headers and into every part of a
 * multipart body; RFC 6838 §4.2 caps type and subtype names at 127 characters each.
 */
export const MAX_MEDIA_TYPE_LENGTH = 256;

const OCTETS = DEFAULT_CONTENT_TYPE;

/**
 * Types by lowercase extension (IANA media types registry; RFC 9239 for JavaScript, RFC 8081
 * for fonts). Formats that are opaque binary by nature (model weights, disk images) map to
 * `application/octet-stream` explicitly, so that a name settles the type and sniffing never
 * mistakes, say, a weights file with a text header for text. A `Map`, so that a name ending in
 * `.constructor` finds nothing rather than `Object.prototype`'s.
 */
const BY_EXTENSION: ReadonlyMap<string, string> = new Map(Object.entries({
  html: "text/html",
  htm: "text/html",
  css: "text/css",
  js: "text/javascript",
  mjs: "text/javascript",
  cjs: "text/javascript",
  json: "application/json",
  map: "application/json",
  webmanifest: "application/manifest+json",
  jsonl: "application/x-ndjson",
  ndjson: "application/x-ndjson",
  txt: "text/plain",
  text: "text/plain",
  log: "text/plain",
  md: "text/markdown",
  markdown: "text/markdown",
  csv: "text/csv",
  tsv: "text/tab-separated-values",
  xml: "application/xml",
  yaml: "application/yaml",
  yml: "application/yaml",
  toml: "application/toml",
  svg: "image/svg+xml",
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  gif: "image/gif",
  webp: "image/webp",
  avif: "image/avif",
  bmp: "image/bmp",
  tif: "image/tiff",
  tiff: "image/tiff",
  ico: "image/vnd.microsoft.icon",
  pdf: "application/pdf",
  zip: "application/zip",
  gz: "application/gzip",
  tgz: "application/gzip",
  tar: "application/x-tar",
  bz2: "application/x-bzip2",
  xz: "application/x-xz",
  zst: "application/zstd",
  "7z": "application/x-7z-compressed",
  wasm: "application/wasm",
  car: "application/vnd.ipld.car",
  mp4: "video/mp4",
  m4v: "video/mp4",
  m4a: "audio/mp4",
  mov: "video/quicktime",
  webm: "video/webm",
  mkv: "video/x-matroska",
  ogv: "video/ogg",
  mp3: "audio/mpeg",
  ogg: "audio/ogg",
  oga: "audio/ogg",
  opus: "audio/ogg",
  wav: "audio/wav",
  flac: "audio/flac",
  aac: "audio/aac",
  woff: "font/woff",
  woff2: "font/woff2",
  ttf: "font/ttf",
  otf: "font/otf",
  safetensors: OCTETS,
  bin: OCTETS,
  gguf: OCTETS,
  onnx: OCTETS,
  pt: OCTETS,
  pth: OCTETS,
  ckpt: OCTETS,
  iso: OCTETS,
  img: OCTETS,
  dmg: OCTETS,
  exe: OCTETS,
}));

/**
 * `text/*` types name their charset (RFC 9110 §8.3.2): without it a browser guesses, and a
 * guess is what `nosniff` is meant to rule out. The gateway assumes UTF-8 for named text.
 */
function withCharset(type: string): string {
  return type.startsWith("text/") ? `${type}; charset=utf-8` : type;
}

/**
 * The type for a file name, from its last extension (`a.tar.gz` is gzip: those are its bytes),
 * or `undefined` when the name has no known extension. Directories in the name are skipped;
 * a leading dot (`.env`) is not an extension.
 */
export function contentTypeFromName(name: string): string | undefined {
  const base = name.slice(name.lastIndexOf("/") + 1);
  const dot = base.lastIndexOf(".");
  if (dot <= 0) return undefined;
  const type = BY_EXTENSION.get(base.slice(dot + 1).toLowerCase());
  return type === undefined ? undefined : withCharset(type);
}

/** Whether `head` holds the ASCII `magic` at `offset`. */
function has(head: Uint8Array, offset: number, magic: string | readonly number[]): boolean {
  if (head.length < offset + magic.length) return false;
  for (let i = 0; i < magic.length; i++) {
    const want = typeof magic === "string" ? magic.charCodeAt(i) : magic[i];
    if (head[offset + i] !== want) return false;
  }
  return true;
}

/** Whether the ASCII `needle` occurs in the first `within` bytes of `head`. */
function contains(head: Uint8Array, needle: string, within: number): boolean {
  const end = Math.min(head.length, within) - needle.length;
  for (let i = 0; i <= end; i++) if (has(head, i, needle)) return true;
  return false;
}

/** A container format told apart by its first bytes, with a test for its subtype if any. */
interface Signature {
  readonly offset: number;
  readonly magic: string | readonly number[];
  readonly type: string | ((head: Uint8Array) => string | undefined);
}

/**
 * Magic numbers of common binary formats, from each format's own specification; for the
 * formats WHATWG MIME Sniffing §6 lists, the same patterns and types. No prefix here shadows
 * another, so the order is free.
 */
const SIGNATURES: readonly Signature[] = [
  { offset: 0, magic: [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], type: "image/png" },
  { offset: 0, magic: [0xff, 0xd8, 0xff], type: "image/jpeg" },
  { offset: 0, magic: "GIF87a", type: "image/gif" },
  { offset: 0, magic: "GIF89a", type: "image/gif" },
  {
    offset: 0,
    magic: "RIFF",
    type: (h) => has(h, 8, "WEBP") ? "image/webp" : has(h, 8, "WAVE") ? "audio/wav" : undefined,
  },
  { offset: 0, magic: "%PDF-", type: "application/pdf" },
  { offset: 0, magic: [0x50, 0x4b, 0x03, 0x04], type: "application/zip" },
  { offset: 0, magic: [0x50, 0x4b, 0x05, 0x06], type: "application/zip" },
  { offset: 0, magic: [0x1f, 0x8b, 0x08], type: "application/gzip" },
  { offset: 0, magic: [0x00, 0x61, 0x73, 0x6d], type: "application/wasm" },
  { offset: 4, magic: "ftyp", type: isoMediaType },
  {
    offset: 0,
    magic: [0x1a, 0x45, 0xdf, 0xa3],
    type: (h) => contains(h, "webm", 64) ? "video/webm" : "video/x-matroska",
  },
  { offset: 0, magic: "OggS\0", type: "application/ogg" },
  { offset: 0, magic: "ID3", type: "audio/mpeg" },
  { offset: 0, magic: "fLaC", type: "audio/flac" },
  { offset: 0, magic: "wOFF", type: "font/woff" },
  { offset: 0, magic: "wOF2", type: "font/woff2" },
  { offset: 0, magic: "OTTO", type: "font/otf" },
];

/** ISO base media files (ISO/IEC 14496-12 `ftyp` box): the major brand names the flavour. */
function isoMediaType(head: Uint8Array): string | undefined {
  if (head.length < 12) return undefined;
  if (has(head, 8, "avif") || has(head, 8, "avis")) return "image/avif";
  if (has(head, 8, "M4A ")) return "audio/mp4";
  if (has(head, 8, "qt  ")) return "video/quicktime";
  return "video/mp4";
}

/**
 * WHATWG MIME Sniffing §3 "binary data byte": control characters that text does not contain
 * (tab, line feed, form feed, carriage return and escape are allowed).
 */
function isBinaryDataByte(b: number): boolean {
  return b <= 0x08 || b === 0x0b || (b >= 0x0e && b <= 0x1a) || (b >= 0x1c && b <= 0x1f);
}

/**
 * Conservative text detection: no binary data byte and strictly valid UTF-8 (no overlong forms,
 * surrogates or stray continuation bytes). When `head` is only the start of the blob, a
 * sequence cut by the end of `head` is fine (the streaming decoder keeps it pending).
 */
function looksLikeUtf8Text(head: Uint8Array, truncated: boolean): boolean {
  if (head.some(isBinaryDataByte)) return false;
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(head, { stream: truncated });
    return true;
  } catch {
    return false;
  }
}

/**
 * A type recognised from the first bytes `head` of a `size`-byte blob (pass at least
 * `SNIFF_LEN` bytes when the blob has them), or `undefined`. Only the binary formats in
 * `SIGNATURES` and `text/plain; charset=utf-8`: see the module comment for why nothing that a
 * browser would execute is ever sniffed. An empty blob is not called text.
 */
export function sniffContentType(head: Uint8Array, size: number): string | undefined {
  for (const sig of SIGNATURES) {
    if (!has(head, sig.offset, sig.magic)) continue;
    const type = typeof sig.type === "string" ? sig.type : sig.type(head);
    if (type !== undefined) return type;
  }
  if (head.length > 0 && looksLikeUtf8Text(head, head.length < size)) {
    return withCharset("text/plain");
  }
  return undefined;
}

/** RFC 9110 §5.6.4 `quoted-string`, without obs-text (a header we send stays ASCII). */
const QUOTED_STRING = /^"(?:[\t \x21\x23-\x5b\x5d-\x7e]|\\[\t \x21-\x7e])*"$/;

/**
 * Validates a `?type=` override as an RFC 9110 §8.3.1 `media-type` (`type "/" subtype
 * *( OWS ";" OWS [ parameter ] )`, parameters `name=token` or `name="quoted"`) and returns it
 * normalised: type, subtype and parameter names lowercased (they are case-insensitive), values
 * kept as written, empty parameters dropped. Throws `InvalidMediaTypeError` otherwise, and for
 * non-ASCII or over `MAX_MEDIA_TYPE_LENGTH` characters: it goes into our headers verbatim.
 */
export function parseMediaType(input: string): string {
  const fail = (reason: string) => new InvalidMediaTypeError(input, reason);
  if (input.length > MAX_MEDIA_TYPE_LENGTH) {
    throw fail(`longer than ${MAX_MEDIA_TYPE_LENGTH} characters`);
  }
  const [essence, ...params] = splitParameters(input, fail);
  const slash = essence.indexOf("/");
  const type = essence.slice(0, slash), subtype = essence.slice(slash + 1);
  if (slash < 0 || !TOKEN.test(type) || !TOKEN.test(subtype)) {
    throw fail("expected type/subtype, each a token");
  }
  let out = `${type}/${subtype}`.toLowerCase();
  for (const param of params) {
    const eq = param.indexOf("=");
    const name = param.slice(0, eq), value = param.slice(eq + 1);
    if (eq < 0 || !TOKEN.test(name) || !(TOKEN.test(value) || QUOTED_STRING.test(value))) {
      throw fail(`bad parameter "${param}"`);
    }
    out += `; ${name.toLowerCase()}=${value}`;
  }
  return out;
}

/**
 * Splits a media type at the semicolons outside quoted strings, trimming optional whitespace
 * and dropping empty parameters; the first element is `type/subtype`.
 */
function splitParameters(
  input: string,
  fail: (reason: string) => InvalidMediaTypeError,
): string[] {
  const pieces: string[] = [];
  let start = 0, quoted = false;
  for (let i = 0; i <= input.length; i++) {
    const c = input[i];
    if (quoted) {
      if (c === "\\") i++;
      else if (c === '"') quoted = false;
    } else if (c === '"') {
      quoted = true;
    } else if (c === ";" || i === input.length) {
      pieces.push(input.slice(start, i));
      start = i + 1;
    }
  }
  if (quoted) throw fail("unterminated quoted string");
  const [essence, ...params] = pieces.map(trimOws);
  return [essence, ...params.filter((p) => p !== "")];
}

/** Where a blob's type can come from, best first. */
export interface TypeSources {
  /** The raw `?type=` query value, if the request had one. */
  readonly override?: string;
  /** The blob's name in a collection, if it was reached through one. */
  readonly name?: string;
  /** The blob's size. */
  readonly size: number;
  /** Reads the first `length` bytes of the blob (verified, like every byte we act on). */
  readonly readHead: (length: number) => Promise<Uint8Array>;
}

/**
 * The `Content-Type` of a blob response, decided in the order of the HTTP contract: override,
 * name, sniffing, `application/octet-stream`. The head is read only when sniffing is needed.
 * Throws `InvalidMediaTypeError` for a malformed override, before reading anything.
 */
export async function resolveContentType(sources: TypeSources): Promise<string> {
  if (sources.override !== undefined) return parseMediaType(sources.override);
  const named = sources.name === undefined ? undefined : contentTypeFromName(sources.name);
  if (named !== undefined) return named;
  if (sources.size === 0) return DEFAULT_CONTENT_TYPE;
  const head = await sources.readHead(Math.min(SNIFF_LEN, sources.size));
  return sniffContentType(head, sources.size) ?? DEFAULT_CONTENT_TYPE;
}
