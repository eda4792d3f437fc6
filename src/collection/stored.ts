/**
 * A collection read back from a blob provider (IB `Collection::load`): the hash seq and the meta
 * blob, each through verified reads, so a listing or a name lookup never rests on unchecked
 * storage.
 *
 * Both blobs are read whole, so their sizes are bounded before anything is read: a hash seq of a
 * million children and a meta blob of 64 MiB are far beyond any collection sendme or this
 * gateway makes, and well within memory.
 *
 * @module
 */

import { type Hash, toHex } from "../blake3/hash.ts";
import { collect } from "../bytes.ts";
import { readVerifiedExact } from "../bao/read.ts";
import type { BlobProvider } from "../protocol/response_writer.ts";
import { ChunkRanges } from "../ranges/chunk_ranges.ts";
import { BlobNotFoundError } from "../store/errors.ts";
import { Collection } from "./collection.ts";
import { HashSeq, hashSeqLength } from "./hash_seq.ts";

/** Most children of a collection that is read back. */
export const MAX_CHILDREN = 1_000_000;
/** Largest meta blob read back. */
export const MAX_META_SIZE = 64 * 1024 * 1024;

/** A hash seq or meta blob larger than this gateway reads whole. */
export class CollectionTooLargeError extends Error {
  override name = "CollectionTooLargeError";
}

/**
 * The collection `hash`, or `undefined` if the provider does not have its hash seq. Throws
 * `BlobNotFoundError` when the meta blob is missing, `InvalidHashSeqError` or
 * `InvalidCollectionError` when the blobs are not a collection, `CollectionTooLargeError`, and
 * `BaoError` when stored data fails verification.
 */
export async function loadCollection(
  provider: BlobProvider,
  hash: Hash,
): Promise<Collection | undefined> {
  const seq = await readWhole(provider, hash, (size) => {
    if (hashSeqLength(size) > MAX_CHILDREN + 1) {
      throw new CollectionTooLargeError(`collection has more than ${MAX_CHILDREN} children`);
    }
  });
  if (seq === undefined) return undefined;
  const hashSeq = HashSeq.decode(seq);
  // An empty hash seq has no meta blob; `decode` says so.
  const metaHash = hashSeq.get(0);
  if (metaHash === undefined) return Collection.decode(hashSeq, new Uint8Array(0));
  const meta = await readWhole(provider, metaHash, (size) => {
    if (size > MAX_META_SIZE) {
      throw new CollectionTooLargeError(`meta blob of ${size} bytes is over ${MAX_META_SIZE}`);
    }
  });
  if (meta === undefined) throw new BlobNotFoundError(toHex(metaHash));
  return Collection.decode(hashSeq, meta);
}

/**
 * All of blob `hash`, verified, after `check` has seen its size; `undefined` if not stored.
 * The size is proven first (a provider that fetches from peers fetches only the last chunk for
 * it): a blob too large to be read whole is refused before it is fetched.
 */
async function readWhole(
  provider: BlobProvider,
  hash: Hash,
  check: (size: number) => void,
): Promise<Uint8Array | undefined> {
  const sized = await provider.open(hash, ChunkRanges.LAST);
  if (sized === undefined) return undefined;
  check(sized.tree.size);
  const source = await provider.open(hash);
  if (source === undefined) return undefined;
  return await collect(readVerifiedExact(source, 0, source.tree.size));
}
