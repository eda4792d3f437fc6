/**
 * HashSeq and collections: the brief's meta-blob hexdump, sendme's ordering (Rust `String` order,
 * i.e. UTF-8 bytes), the name rules at creation and in received meta blobs, and the checks that
 * tie a meta blob to its hash seq.
 */
import { assert, assertEquals, assertThrows } from "./assert.ts";
import { fromHex, type Hash, toHex } from "../src/blake3/hash.ts";
import { hash as blake3 } from "../src/blake3/tree.ts";
import {
  Collection,
  decodeCollectionMeta,
  encodeCollectionMeta,
  InvalidCollectionError,
  validateName,
} from "../src/collection/collection.ts";
import { HashSeq, InvalidHashSeqError } from "../src/collection/hash_seq.ts";
import { concat } from "./bao_helpers.ts";

const hex = (s: string) => fromHex(s.replace(/\s+/g, ""))!;
const h = (n: number): Hash => blake3(Uint8Array.of(n));

Deno.test("meta blob: the brief's two-name hexdump, and back", () => {
  const meta = encodeCollectionMeta(["a.txt", "b.txt"]);
  assertEquals(
    toHex(meta),
    toHex(hex("436f6c6c656374696f6e56302e 02 05 612e747874 05 622e747874")),
  );
  assertEquals(decodeCollectionMeta(meta), ["a.txt", "b.txt"]);
  assertEquals(toHex(encodeCollectionMeta([])), toHex(hex("436f6c6c656374696f6e56302e 00")));
});

Deno.test("HashSeq: 32-byte hashes back to back; any other length is refused", () => {
  const hashes = [h(1), h(2), h(3)];
  const seq = HashSeq.from(hashes);
  assertEquals(toHex(seq.bytes), hashes.map(toHex).join(""));
  assertEquals(seq.length, 3);
  assertEquals([...seq].map(toHex), hashes.map(toHex));
  assertEquals(seq.get(3), undefined);
  assertEquals(seq.get(-1), undefined);
  assertEquals(HashSeq.decode(seq.bytes).length, 3);
  assertEquals(HashSeq.decode(new Uint8Array(0)).length, 0);
  for (const n of [1, 31, 33, 95]) {
    assertThrows(() => HashSeq.decode(new Uint8Array(n)), InvalidHashSeqError, `${n}`);
  }
});

Deno.test("create: sorted by UTF-8 bytes as sendme does, meta first in the hash seq", () => {
  const names = ["b", "a/c", "a", "é", "😀", "ｚ", "A", "a-b", "dir/sub/file.txt"];
  const entries = names.map((name, i) => ({ name, hash: h(i) }));
  const c = Collection.create(entries);
  const utf8 = (s: string) => [...new TextEncoder().encode(s)];
  const expected = [...names].sort((x, y) => {
    const a = utf8(x), b = utf8(y);
    for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] - b[i];
    return a.length - b.length;
  });
  assertEquals(c.entries.map((e) => e.name), expected);
  // UTF-16 order differs here (U+FF5A sorts after the surrogates of U+1F600), so this checks bytes.
  assert(expected.indexOf("ｚ") < expected.indexOf("😀"));
  assert([...names].sort().indexOf("ｚ") > [...names].sort().indexOf("😀"));
  // Each entry keeps its hash; the hash seq is [meta, children…]; the collection hash is its hash.
  for (const e of c.entries) assertEquals(toHex(e.hash), toHex(h(names.indexOf(e.name))));
  assertEquals(c.hashSeq.length, names.length + 1);
  assertEquals(toHex(c.metaHash), toHex(blake3(c.meta)));
  assertEquals(
    toHex(c.hashSeq.bytes),
    [c.metaHash, ...c.entries.map((e) => e.hash)].map(toHex).join(""),
  );
  assertEquals(toHex(c.hash), toHex(blake3(c.hashSeq.bytes)));
  assertEquals(decodeCollectionMeta(c.meta), expected);
  assertEquals(toHex(c.find("a/c")!.hash), toHex(h(1)));
  assertEquals(c.find("c"), undefined);
  // An empty collection is a hash seq of just the meta blob.
  const empty = Collection.create([]);
  assertEquals(empty.hashSeq.length, 1);
  assertEquals(empty.entries, []);
});

const ESCAPING = ["../x", "/abs", "a//b", "", ".", "..", "a/./b", "a/..", "a/", "x/../../y"];
const UNSAFE = ["a\\b", "..\\x", "a\0b", "\ud800", "a\udfffb"];

Deno.test("create: escaping, empty, backslash, NUL, ill-formed and repeated names are refused", () => {
  for (const name of [...ESCAPING, ...UNSAFE]) {
    assertThrows(() => validateName(name), InvalidCollectionError, JSON.stringify(name));
    assertThrows(
      () => Collection.create([{ name: "ok", hash: h(0) }, { name, hash: h(1) }]),
      InvalidCollectionError,
      JSON.stringify(name),
    );
  }
  for (const name of ["a", "a/b/c", ".hidden", "a..b", "...", "名前/ファイル", "with space"]) {
    validateName(name);
  }
  assertThrows(
    () => Collection.create([{ name: "x/y", hash: h(0) }, { name: "x/y", hash: h(1) }]),
    InvalidCollectionError,
  );
});

/** A meta blob holding exactly `names`, built by hand so that bad names can be written. */
function rawMeta(names: Uint8Array[]): Uint8Array {
  const parts: Uint8Array[] = [
    new TextEncoder().encode("CollectionV0."),
    Uint8Array.of(names.length),
  ];
  for (const n of names) parts.push(Uint8Array.of(n.length), n);
  return concat(parts);
}

Deno.test("decode: received meta blobs with bad names or bytes are refused", () => {
  const utf8 = (s: string) => new TextEncoder().encode(s);
  for (const name of ESCAPING) {
    assertThrows(() => decodeCollectionMeta(rawMeta([utf8(name)])), InvalidCollectionError, name);
  }
  const bad: [string, Uint8Array][] = [
    ["invalid UTF-8", rawMeta([Uint8Array.of(0x61, 0xff)])],
    ["lone surrogate as UTF-8", rawMeta([Uint8Array.of(0xed, 0xa0, 0x80)])],
    ["overlong UTF-8", rawMeta([Uint8Array.of(0xc0, 0xaf)])],
    ["NUL", rawMeta([utf8("a\0")])],
    ["backslash", rawMeta([utf8("..\\evil")])],
    ["duplicate", rawMeta([utf8("a"), utf8("a")])],
    ["wrong header", concat([utf8("CollectionV1."), Uint8Array.of(0)])],
    ["short header", utf8("Collection")],
    ["trailing byte", concat([rawMeta([utf8("a")]), Uint8Array.of(0)])],
    ["count past the input", concat([utf8("CollectionV0."), Uint8Array.of(5, 1, 0x61)])],
    ["name cut short", concat([utf8("CollectionV0."), Uint8Array.of(1, 4, 0x61)])],
  ];
  for (const [what, bytes] of bad) {
    assertThrows(() => decodeCollectionMeta(bytes), InvalidCollectionError, what);
  }
  // A BOM is kept as part of the name, not stripped.
  assertEquals(decodeCollectionMeta(rawMeta([utf8("\ufeffa")])), ["\ufeffa"]);
});

Deno.test("decode: a hash seq and its meta blob give back the created collection", () => {
  const created = Collection.create([
    { name: "z.txt", hash: h(1) },
    { name: "dir/a.txt", hash: h(2) },
  ]);
  const back = Collection.decode(HashSeq.decode(created.hashSeq.bytes), created.meta);
  assertEquals(toHex(back.hash), toHex(created.hash));
  assertEquals(
    back.entries.map((e) => [e.name, toHex(e.hash)]),
    created.entries.map((e) => [e.name, toHex(e.hash)]),
  );
  // Unsorted names from another producer are kept in their order.
  const meta = encodeCollectionMeta(["b", "a"]);
  const seq = HashSeq.from([blake3(meta), h(5), h(6)]);
  assertEquals(Collection.decode(seq, meta).entries.map((e) => e.name), ["b", "a"]);
  // The meta blob must be the first hash and name every child.
  const mismatched: [string, HashSeq, Uint8Array][] = [
    ["empty hash seq", HashSeq.from([]), meta],
    ["meta not the first hash", HashSeq.from([h(9), h(5), h(6)]), meta],
    ["too few names", HashSeq.from([blake3(meta), h(5), h(6), h(7)]), meta],
    ["too many names", HashSeq.from([blake3(meta), h(5)]), meta],
  ];
  for (const [what, s, m] of mismatched) {
    assertThrows(() => Collection.decode(s, m), InvalidCollectionError, what);
  }
  const escaping = encodeCollectionMeta(["../etc/passwd"]);
  assertThrows(
    () => Collection.decode(HashSeq.from([blake3(escaping), h(1)]), escaping),
    InvalidCollectionError,
  );
});
