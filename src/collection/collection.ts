/**
 * Collections: named blobs as iroh and sendme share them (IB `src/format/collection.rs`; brief §4
 * "HashSeq and Collection"). The collection hash is that of a HashSeq `[meta, child₁ … childₙ]`;
 * the meta blob is postcard `CollectionMeta { header: *b"CollectionV0.", names: Vec<String> }`,
 * one name per child, in hash-seq order.
 *
 * Names are relative paths joined with `/` (sendme `canonicalized_path_to_string`). iroh itself
 * accepts any string, but a gateway serves these names as URL paths and clients write them to
 * disk, so a name that could climb out of its directory or alias another is refused, both when
 * creating a collection and in a received meta blob: empty, `.` or `..` segments (which also
 * covers a leading `/` and `a//b`), `\`, NUL, and duplicates.
 *
 * @module
 */

import { bytesEqual, type Hash } from "../blake3/hash.ts";
import { hash as blake3 } from "../blake3/tree.ts";
import { DecodeError } from "../protocol/decode_error.ts";
import { PostcardReader, PostcardWriter } from "../protocol/postcard.ts";
import { HashSeq } from "./hash_seq.ts";

/** The 13 bytes a meta blob starts with (IB `Collection::HEADER`). */
export const COLLECTION_HEADER: Uint8Array = new TextEncoder().encode("CollectionV0.");

const UTF8 = new TextEncoder();

/** A collection, a name or a meta blob that breaks the format or the name rules. */
export class InvalidCollectionError extends Error {
  override name = "InvalidCollectionError";
}

export interface CollectionEntry {
  readonly name: string;
  readonly hash: Hash;
}

/**
 * Throws `InvalidCollectionError` unless `name` is a safe relative `/`-separated path: the names
 * sendme writes (`canonicalized_path_to_string` with `must_be_relative`), and nothing else.
 */
export function validateName(name: string): void {
  const fail = (why: string) => {
    throw new InvalidCollectionError(`collection name ${JSON.stringify(name)} ${why}`);
  };
  // A lone surrogate has no UTF-8 form; the encoder would silently substitute U+FFFD.
  if (!name.isWellFormed()) fail("is not valid Unicode");
  if (name.includes("\\")) fail("contains a backslash");
  if (name.includes("\0")) fail("contains NUL");
  for (const segment of name.split("/")) {
    if (segment === "") fail("has an empty path segment");
    if (segment === "." || segment === "..") fail(`has a "${segment}" path segment`);
  }
}

/** Lexicographic order of UTF-8 bytes, Rust's `String` order, which sendme sorts by. */
function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

/** The meta blob for `names` (IB `CollectionMeta` as postcard). Names are not checked here. */
export function encodeCollectionMeta(names: readonly string[]): Uint8Array {
  return PostcardWriter.encode((w) => {
    w.bytes(COLLECTION_HEADER).varint(names.length);
    for (const name of names) w.string(name);
  });
}

/**
 * The names of a meta blob, which must be exactly `CollectionMeta`: the header, a count, that
 * many valid UTF-8 strings, nothing after. Every name is checked and must be unique. Throws only
 * `InvalidCollectionError` (the postcard failure as its `cause`).
 */
export function decodeCollectionMeta(bytes: Uint8Array): string[] {
  let names: string[];
  try {
    names = PostcardReader.decode(bytes, (r) => {
      if (!bytesEqual(r.take(COLLECTION_HEADER.length), COLLECTION_HEADER)) {
        throw new DecodeError('meta blob does not start with "CollectionV0."', 0);
      }
      const count = r.length(1);
      const out: string[] = [];
      for (let i = 0; i < count; i++) out.push(r.string());
      return out;
    });
  } catch (e) {
    if (e instanceof DecodeError) {
      throw new InvalidCollectionError(`invalid meta blob: ${e.message}`, { cause: e });
    }
    throw e;
  }
  checkNames(names);
  return names;
}

/** Every name valid, none twice. */
function checkNames(names: readonly string[]): void {
  const seen = new Set<string>();
  for (const name of names) {
    validateName(name);
    if (seen.has(name)) throw new InvalidCollectionError(`collection name "${name}" is repeated`);
    seen.add(name);
  }
}

export class Collection {
  readonly #byName: Map<string, CollectionEntry>;

  private constructor(
    /** The collection hash: the hash of `hashSeq`. */
    readonly hash: Hash,
    /** `[meta hash, child hashes…]`. */
    readonly hashSeq: HashSeq,
    /** The meta blob. */
    readonly meta: Uint8Array,
    /** The children in hash-seq order. */
    readonly entries: readonly CollectionEntry[],
  ) {
    this.#byName = new Map(entries.map((e) => [e.name, e]));
  }

  /** The meta blob's hash, the first in the hash seq. */
  get metaHash(): Hash {
    return this.hashSeq.get(0)!;
  }

  /**
   * A collection of `entries` as sendme builds one: names checked, sorted by their UTF-8 bytes,
   * no name twice. The caller stores `meta` and `hashSeq.bytes` as blobs next to the children.
   */
  static create(entries: Iterable<CollectionEntry>): Collection {
    const list = [...entries].map((e) => ({ name: e.name, hash: e.hash }));
    checkNames(list.map((e) => e.name));
    const keyed = list.map((entry) => ({ entry, key: UTF8.encode(entry.name) }));
    keyed.sort((a, b) => compareBytes(a.key, b.key));
    const sorted = keyed.map((k) => k.entry);
    const meta = encodeCollectionMeta(sorted.map((e) => e.name));
    const hashSeq = HashSeq.from([blake3(meta), ...sorted.map((e) => e.hash)]);
    return new Collection(blake3(hashSeq.bytes), hashSeq, meta, sorted);
  }

  /**
   * The collection a verified hash seq and meta blob describe (IB `Collection::load`): `meta`
   * must hash to the first entry, and name every other one. Throws `InvalidCollectionError`.
   */
  static decode(hashSeq: HashSeq, meta: Uint8Array): Collection {
    const metaHash = hashSeq.get(0);
    if (metaHash === undefined) {
      throw new InvalidCollectionError("a collection's hash seq is empty");
    }
    if (!bytesEqual(blake3(meta), metaHash)) {
      throw new InvalidCollectionError("meta blob does not match the hash seq's first hash");
    }
    const names = decodeCollectionMeta(meta);
    if (names.length + 1 !== hashSeq.length) {
      throw new InvalidCollectionError(
        `meta blob has ${names.length} names for ${hashSeq.length - 1} children`,
      );
    }
    const entries = names.map((name, i) => ({ name, hash: hashSeq.get(i + 1)! }));
    return new Collection(blake3(hashSeq.bytes), hashSeq, meta, entries);
  }

  /** The entry named `name` exactly, if any. */
  find(name: string): CollectionEntry | undefined {
    return this.#byName.get(name);
  }
}
