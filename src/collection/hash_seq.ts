/**
 * HashSeq: a blob that is a list of hashes, 32 raw bytes each (IB `src/hashseq.rs`; brief §4
 * "HashSeq and Collection"). It is what a Get request's indices i ≥ 1 refer to, and the root of a
 * collection.
 *
 * @module
 */

import { asHash, type Hash } from "../blake3/hash.ts";
import { OUT_LEN } from "../blake3/constants.ts";

/** Bytes whose length is not a multiple of 32, so they are not a list of hashes. */
export class InvalidHashSeqError extends Error {
  override name = "InvalidHashSeqError";
}

/** The number of hashes in a hash seq of `size` bytes; throws `InvalidHashSeqError`. */
export function hashSeqLength(size: number): number {
  if (size % OUT_LEN !== 0) {
    throw new InvalidHashSeqError(`a hash seq is a multiple of ${OUT_LEN} bytes, got ${size}`);
  }
  return size / OUT_LEN;
}

export class HashSeq {
  private constructor(
    /** The blob's bytes: the hashes back to back. */
    readonly bytes: Uint8Array,
  ) {}

  /** Takes a hash-seq blob as is (IB `HashSeq::new`); throws `InvalidHashSeqError`. */
  static decode(bytes: Uint8Array): HashSeq {
    hashSeqLength(bytes.length);
    return new HashSeq(bytes);
  }

  /** The hash seq listing `hashes` in order (IB `FromIterator<Hash>`). */
  static from(hashes: Iterable<Hash>): HashSeq {
    const list = [...hashes];
    const bytes = new Uint8Array(list.length * OUT_LEN);
    list.forEach((h, i) => bytes.set(h, i * OUT_LEN));
    return new HashSeq(bytes);
  }

  /** Number of hashes. */
  get length(): number {
    return this.bytes.length / OUT_LEN;
  }

  /** The hash at `index` (a copy), or `undefined` past the end. */
  get(index: number): Hash | undefined {
    if (!Number.isInteger(index) || index < 0 || index >= this.length) return undefined;
    return asHash(this.bytes.slice(index * OUT_LEN, (index + 1) * OUT_LEN));
  }

  *[Symbol.iterator](): Iterator<Hash> {
    for (let i = 0; i < this.length; i++) yield this.get(i)!;
  }
}
