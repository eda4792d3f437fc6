/**
 * Content types: the extension table, sniffing of each magic number and of UTF-8 text (and
 * never of an active type), `?type=` validation, and the order the sources are consulted in.
 */
import { assert, assertEquals, assertRejects, assertThrows } from "./assert.ts";
import { randomBytes, randomInt, seededRandom } from "./random.ts";
import {
  contentTypeFromName,
  DEFAULT_CONTENT_TYPE,
  MAX_MEDIA_TYPE_LENGTH,
  parseMediaType,
  resolveContentType,
  SNIFF_LEN,
  sniffContentType,
} from "../src/http/content_type.ts";
import { InvalidMediaTypeError } from "../src/http/errors.ts";

const OCTETS = "application/octet-stream";

Deno.test("content type: extensions named in the contract", () => {
  const table: Record<string, string> = {
    "index.html": "text/html; charset=utf-8",
    "style.css": "text/css; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "mod.mjs": "text/javascript; charset=utf-8",
    "data.json": "application/json",
    "notes.txt": "text/plain; charset=utf-8",
    "README.md": "text/markdown; charset=utf-8",
    "table.csv": "text/csv; charset=utf-8",
    "feed.xml": "application/xml",
    "logo.svg": "image/svg+xml",
    "a.png": "image/png",
    "a.jpg": "image/jpeg",
    "a.jpeg": "image/jpeg",
    "a.gif": "image/gif",
    "a.webp": "image/webp",
    "a.avif": "image/avif",
    "favicon.ico": "image/vnd.microsoft.icon",
    "paper.pdf": "application/pdf",
    "a.zip": "application/zip",
    "a.gz": "application/gzip",
    "a.tar": "application/x-tar",
    "a.wasm": "application/wasm",
    "a.mp4": "video/mp4",
    "a.webm": "video/webm",
    "a.mp3": "audio/mpeg",
    "a.ogg": "audio/ogg",
    "a.wav": "audio/wav",
    "a.woff": "font/woff",
    "a.woff2": "font/woff2",
    "a.ttf": "font/ttf",
    "a.otf": "font/otf",
    "model.safetensors": OCTETS,
    "model.bin": OCTETS,
    "model.gguf": OCTETS,
    "model.onnx": OCTETS,
    "model.pt": OCTETS,
    "disk.iso": OCTETS,
    "disk.img": OCTETS,
  };
  for (const [name, type] of Object.entries(table)) {
    assertEquals(contentTypeFromName(name), type, name);
  }
});

Deno.test("content type: the last extension of the last path segment, any case", () => {
  assertEquals(contentTypeFromName("backup.tar.gz"), "application/gzip");
  assertEquals(contentTypeFromName("site/Index.HTML"), "text/html; charset=utf-8");
  assertEquals(contentTypeFromName("v1.2/readme"), undefined);
  assertEquals(contentTypeFromName("README"), undefined);
  assertEquals(contentTypeFromName(".env"), undefined);
  assertEquals(contentTypeFromName("dir/.gitignore"), undefined);
  assertEquals(contentTypeFromName("trailing."), undefined);
  assertEquals(contentTypeFromName("a.unknownext"), undefined);
  assertEquals(contentTypeFromName("a.constructor"), undefined);
  assertEquals(contentTypeFromName("a.__proto__"), undefined);
  assertEquals(contentTypeFromName("a.toString"), undefined);
});

/** `prefix` followed by binary filler, so that only the magic can decide. */
function head(prefix: (number | string)[], length = 64): Uint8Array {
  const bytes: number[] = [];
  for (const p of prefix) {
    if (typeof p === "number") bytes.push(p);
    else for (const c of p) bytes.push(c.charCodeAt(0));
  }
  while (bytes.length < length) bytes.push(bytes.length % 2 ? 0x00 : 0xff);
  return Uint8Array.from(bytes);
}

Deno.test("content type: sniffing recognises each magic number", () => {
  const cases: [Uint8Array, string][] = [
    [head([0x89, "PNG\r\n", 0x1a, "\n"]), "image/png"],
    [head([0xff, 0xd8, 0xff, 0xe0]), "image/jpeg"],
    [head(["GIF87a"]), "image/gif"],
    [head(["GIF89a"]), "image/gif"],
    [head(["RIFF", 0x24, 0, 0, 0, "WEBPVP8 "]), "image/webp"],
    [head(["RIFF", 0x24, 0, 0, 0, "WAVEfmt "]), "audio/wav"],
    [head(["%PDF-1.7\n"]), "application/pdf"],
    [head(["PK", 3, 4]), "application/zip"],
    [head(["PK", 5, 6]), "application/zip"],
    [head([0x1f, 0x8b, 0x08, 0]), "application/gzip"],
    [head([0, "asm", 1, 0, 0, 0]), "application/wasm"],
    [head([0, 0, 0, 0x20, "ftypisom"]), "video/mp4"],
    [head([0, 0, 0, 0x1c, "ftypmp42"]), "video/mp4"],
    [head([0, 0, 0, 0x1c, "ftypavif"]), "image/avif"],
    [head([0, 0, 0, 0x1c, "ftypM4A "]), "audio/mp4"],
    [head([0, 0, 0, 0x14, "ftypqt  "]), "video/quicktime"],
    [head([0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x82, 0x84, "webm"]), "video/webm"],
    [head([0x1a, 0x45, 0xdf, 0xa3, 0xa3, 0x42, 0x82, 0x88, "matroska"]), "video/x-matroska"],
    [head(["OggS", 0, 2]), "application/ogg"],
    [head(["ID3", 4, 0]), "audio/mpeg"],
    [head(["fLaC", 0, 0, 0, 0x22]), "audio/flac"],
    [head(["wOFF", 0, 1, 0, 0]), "font/woff"],
    [head(["wOF2", 0, 1, 0, 0]), "font/woff2"],
    [head(["OTTO", 0, 0x0a]), "font/otf"],
  ];
  for (const [bytes, type] of cases) {
    assertEquals(sniffContentType(bytes, 1_000_000), type, type);
  }
});

Deno.test("content type: near misses of a magic number are not recognised", () => {
  for (
    const bytes of [
      head([0x89, "PNG\r\n", 0x1a]), // one byte short of the 8-byte signature
      head(["RIFF", 0x24, 0, 0, 0, "AVI "]),
      head([0, 0, 0, 0x20, "ftyq"]),
      head(["GIF88a"]),
      Uint8Array.of(0, 0, 0, 0x20, 0x66, 0x74, 0x79, 0x70), // ftyp without a brand
    ]
  ) {
    assertEquals(sniffContentType(bytes, 1_000_000), undefined);
  }
});

const utf8 = (s: string) => new TextEncoder().encode(s);
const TEXT = "text/plain; charset=utf-8";

Deno.test("content type: UTF-8 text is text/plain, conservatively", () => {
  const plain = utf8("hello, world\n\tindented\r\n");
  assertEquals(sniffContentType(plain, plain.length), TEXT);
  const accented = utf8("h\u00e9llo \u2713 \u{1f600}\f\x1b[0m");
  assertEquals(sniffContentType(accented, accented.length), TEXT);
  assertEquals(sniffContentType(utf8("\ufeffwith BOM"), 100), TEXT);
  // A sequence cut by the end of the sniffed head is fine, not by the end of the blob.
  const cut = utf8("abc\u2713").subarray(0, 5);
  assertEquals(sniffContentType(cut, 100), TEXT);
  assertEquals(sniffContentType(cut, cut.length), undefined);
  for (
    const bad of [
      Uint8Array.of(0x61, 0xc0, 0x80), // overlong NUL
      Uint8Array.of(0x61, 0xed, 0xa0, 0x80), // surrogate
      Uint8Array.of(0x61, 0x80, 0x62), // stray continuation byte
      Uint8Array.of(0x61, 0xe0, 0x80), // cut, but no sequence starts E0 80
      Uint8Array.of(0x61, 0x00, 0x62), // NUL
      Uint8Array.of(0x61, 0x07, 0x62), // BEL
      Uint8Array.of(0xfe, 0xff, 0x00, 0x61), // UTF-16
    ]
  ) {
    assertEquals(sniffContentType(bad, 100), undefined, `${bad}`);
  }
  assertEquals(sniffContentType(new Uint8Array(0), 0), undefined);
});

Deno.test("content type: markup and scripts are sniffed as plain text, never as active", () => {
  for (
    const source of [
      "<!DOCTYPE html><html><script>alert(1)</script>",
      "<html><body onload=alert(1)>",
      '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
      '<?xml version="1.0"?><x/>',
      "#!/usr/bin/env node\nconsole.log(1)",
      "importScripts('x.js')",
    ]
  ) {
    const bytes = utf8(source);
    assertEquals(sniffContentType(bytes, bytes.length), TEXT, source);
  }
});

Deno.test("content type: random bytes sniff only to known, inert types", () => {
  const inert = new Set([
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "audio/wav",
    "application/pdf",
    "application/zip",
    "application/gzip",
    "application/wasm",
    "video/mp4",
    "image/avif",
    "audio/mp4",
    "video/quicktime",
    "video/webm",
    "video/x-matroska",
    "application/ogg",
    "audio/mpeg",
    "audio/flac",
    "font/woff",
    "font/woff2",
    "font/otf",
    TEXT,
  ]);
  const rand = seededRandom(0x5eed_0005);
  const prefixes = ["", "RIFF", "\x1aE\xdf\xa3", "\0\0\0\x18ftyp", "<html>", "GIF8", "PK"];
  let texts = 0;
  for (let iter = 0; iter < 5000; iter++) {
    const prefix = utf8(prefixes[iter % prefixes.length]);
    const len = randomInt(rand, 0, 64);
    const tail = iter % 2
      ? randomBytes(len, rand)
      : Uint8Array.from(randomBytes(len, rand), (b) => 0x20 + (b % 0x5f));
    const bytes = new Uint8Array([...prefix, ...tail]);
    const type = sniffContentType(bytes, bytes.length + randomInt(rand, 0, 1));
    assert(type === undefined || inert.has(type), `seed 0x5eed0005 iter ${iter}: ${type}`);
    if (type === TEXT) texts++;
  }
  assert(texts > 1000, `printable inputs are recognised as text (${texts})`);
});

Deno.test("content type: valid overrides are normalised (RFC 9110 §8.3.1)", () => {
  const cases: [string, string][] = [
    ["text/plain", "text/plain"],
    ["IMAGE/PNG", "image/png"],
    ["text/plain; charset=utf-8", "text/plain; charset=utf-8"],
    ["Text/Plain;Charset=UTF-8", "text/plain; charset=UTF-8"],
    ["text/plain ;\tcharset=utf-8 ", "text/plain; charset=utf-8"],
    ['application/x-foo; a="b; c" ; d=e', 'application/x-foo; a="b; c"; d=e'],
    ['application/x-foo; a="say \\"hi\\""', 'application/x-foo; a="say \\"hi\\""'],
    ["text/plain;", "text/plain"],
    ["text/plain;;charset=utf-8", "text/plain; charset=utf-8"],
    ["application/vnd.ms-excel", "application/vnd.ms-excel"],
    ["text/html", "text/html"],
  ];
  for (const [input, normal] of cases) assertEquals(parseMediaType(input), normal, input);
});

Deno.test("content type: invalid overrides throw InvalidMediaTypeError", () => {
  for (
    const input of [
      "",
      "text",
      "text/",
      "/plain",
      "text/plain/x",
      "text/pl ain",
      "te(xt/plain",
      "text/plain; charset",
      "text/plain; =utf-8",
      "text/plain; charset =utf-8",
      "text/plain; charset= utf-8",
      'text/plain; charset="utf-8',
      "text/plain; a=b c",
      "text/plain\r\nX-Injected: 1",
      "text/plain; a=\r\n",
      "t\u00e9xt/plain",
      'text/plain; a="\u00e9"',
      `text/${"x".repeat(MAX_MEDIA_TYPE_LENGTH)}`,
    ]
  ) {
    const err = assertThrows(() => parseMediaType(input), InvalidMediaTypeError, input);
    assertEquals(err.input, input);
  }
});

/** A head reader that records what it was asked for. */
function reader(data: Uint8Array) {
  const calls: number[] = [];
  return {
    calls,
    readHead: (length: number) => {
      calls.push(length);
      return Promise.resolve(data.subarray(0, length));
    },
  };
}

Deno.test("content type: override, then name, then sniffing, then octet-stream", async () => {
  const png = head([0x89, "PNG\r\n", 0x1a, "\n"], 4000);
  const size = png.length;
  let r = reader(png);
  const typed = { override: "Text/Plain", name: "a.html", size, readHead: r.readHead };
  assertEquals(await resolveContentType(typed), "text/plain");
  assertEquals(
    await resolveContentType({ name: "a.html", size, readHead: r.readHead }),
    "text/html; charset=utf-8",
  );
  assertEquals(r.calls, []);

  r = reader(png);
  assertEquals(
    await resolveContentType({ name: "noext", size, readHead: r.readHead }),
    "image/png",
  );
  assertEquals(r.calls, [SNIFF_LEN]);

  r = reader(utf8("short text"));
  assertEquals(await resolveContentType({ size: 10, readHead: r.readHead }), TEXT);
  assertEquals(r.calls, [10]);

  r = reader(new Uint8Array(2000));
  assertEquals(
    await resolveContentType({ size: 2000, readHead: r.readHead }),
    DEFAULT_CONTENT_TYPE,
  );
  r = reader(new Uint8Array(0));
  assertEquals(await resolveContentType({ size: 0, readHead: r.readHead }), DEFAULT_CONTENT_TYPE);
  assertEquals(r.calls, []);

  r = reader(png);
  await assertRejects(
    () => resolveContentType({ override: "not a type", size, readHead: r.readHead }),
    InvalidMediaTypeError,
  );
  assertEquals(r.calls, []);
});
