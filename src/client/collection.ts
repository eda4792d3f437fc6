/**
 * Collections, verified: iroh's HashSeq `[meta, child₁ … childₙ]` and its `CollectionV0.` meta
 * blob (GATEWAY.md "Wire formats"; IB `src/format/collection.rs`), both fetched with
 * `verifiedFetch` as ordinary blobs, so nothing a listing route says has to be believed.
 *
 * What is proven: the hash seq hashes to the collection hash; the meta blob hashes to its first
 * entry; the names, their order and their pairing with the child hashes are the meta blob's
 * (`Collection.decode`, which also refuses unsafe or repeated names). Each child's size is
 * proven by its own last chunk (size_proof.ts, cached per hash); with `sizes: false` those
 * proofs are skipped and no size is given, rather than an unproven one.
 *
 * @module
 */

import { type Hash, toHex } from "../blake3/hash.ts";
import { Collection, InvalidCollectionError } from "../collection/collection.ts";
import { HashSeq, InvalidHashSeqError } from "../collection/hash_seq.ts";
import { contentTypeFromName, DEFAULT_CONTENT_TYPE } from "../http/content_type.ts";
import { EntryNotFoundError, NotACollectionError, NotFoundError } from "./errors.ts";
import { MAX_CHILDREN, MAX_META_SIZE } from "../collection/stored.ts";
import { collect } from "../bytes.ts";
import {
  type ClientOptions,
  type GatewayContext,
  gatewayContext,
  toHash,
} from "./gateway_request.ts";
import { provenSize } from "./size_proof.ts";
import { type FetchOptions, fetchVerified } from "./verified_fetch.ts";
import { mapLimited } from "../collection/concurrency.ts";

/** One child of a verified collection. */
export interface ListedEntry {
  readonly name: string;
  /** The child's hash, lowercase hex. */
  readonly hash: string;
  /** Proven by the child's last chunk; absent when size proofs were not asked for. */
  readonly size?: number;
}

export interface CollectionListing {
  /** The collection hash, lowercase hex. */
  readonly hash: string;
  /** The children in hash-seq order (sendme sorts them by name). */
  readonly entries: readonly ListedEntry[];
  /** The sum of the children's sizes, when every one is proven. */
  readonly totalSize?: number;
}

export interface ListOptions extends ClientOptions {
  /** Prove each child's size (one small request per child not yet cached). Default true. */
  sizes?: boolean;
}

/** Size proofs in flight at once: enough to hide latency, few enough to be polite. */
const PROOF_CONCURRENCY = 8;

/**
 * The whole blob `hash`, verified, if it is at most `max` bytes: the hash seq and meta blob of a
 * collection, read whole. A larger blob is no collection the gateway would list either (its
 * limits, `src/collection/stored.ts`), and is not pulled into memory to find that out.
 */
async function verifiedBytes(ctx: GatewayContext, hash: Hash, max: number): Promise<Uint8Array> {
  const res = await fetchVerified(ctx, hash, {});
  return await collect(
    res.body!,
    max,
    () => new InvalidCollectionError(`blob ${toHex(hash)} is over ${max} bytes`),
  );
}

/** The collection `hash` names, from the cache or verified from the gateway, and cached. */
async function loadCollection(ctx: GatewayContext, hash: Hash): Promise<Collection> {
  const key = toHex(hash);
  const cached = ctx.cache.collections.get(key);
  if (cached !== undefined) return cached;
  let collection: Collection;
  try {
    const hashSeq = HashSeq.decode(await verifiedBytes(ctx, hash, (MAX_CHILDREN + 1) * 32));
    const metaHash = hashSeq.get(0);
    if (metaHash === undefined) throw new InvalidCollectionError("the hash seq is empty");
    const meta = await verifiedBytes(ctx, metaHash, MAX_META_SIZE).catch((e) => {
      // A collection whose meta blob the gateway lacks, or any blob of a multiple of 32 bytes
      // (which reads as a hash seq): the answer stays "not found", and says both.
      if (!(e instanceof NotFoundError)) throw e;
      throw new NotFoundError(
        e.status,
        e.error,
        `${key} names meta blob ${toHex(metaHash)}, which is not here (or ${key} is not a ` +
          `collection)`,
      );
    });
    collection = Collection.decode(hashSeq, meta);
  } catch (e) {
    if (e instanceof InvalidHashSeqError || e instanceof InvalidCollectionError) {
      throw new NotACollectionError(`${key} is not a collection: ${e.message}`, { cause: e });
    }
    throw e;
  }
  ctx.cache.collections.set(key, collection);
  return collection;
}

/**
 * The verified listing of the collection `hash` at `gatewayUrl`. Throws `NotACollectionError`
 * when the blob verifies but is not a collection, and every error of `verifiedFetch`.
 */
export async function listCollection(
  gatewayUrl: string | URL,
  hash: Hash | string,
  options: ListOptions = {},
): Promise<CollectionListing> {
  const ctx = gatewayContext(gatewayUrl, options);
  const collection = await loadCollection(ctx, toHash(hash));
  const sizes = options.sizes === false
    ? undefined
    : await mapLimited(collection.entries, PROOF_CONCURRENCY, (e) => provenSize(ctx, e.hash));
  const entries = collection.entries.map((e, i) => ({
    name: e.name,
    hash: toHex(e.hash),
    ...(sizes === undefined ? {} : { size: sizes[i] }),
  }));
  return {
    hash: toHex(collection.hash),
    entries,
    ...(sizes === undefined ? {} : { totalSize: sizes.reduce((a, b) => a + b, 0) }),
  };
}

/**
 * The entry `name` of the collection `collectionHash`, verified like `verifiedFetch` (all its
 * options apply), typed by the name's extension unless `contentType` says otherwise. Throws
 * `EntryNotFoundError` when the verified collection has no such name.
 */
export async function fetchEntry(
  gatewayUrl: string | URL,
  collectionHash: Hash | string,
  name: string,
  options: FetchOptions = {},
): Promise<Response> {
  const ctx = gatewayContext(gatewayUrl, options);
  const collection = await loadCollection(ctx, toHash(collectionHash));
  const entry = collection.find(name);
  if (entry === undefined) throw new EntryNotFoundError(name);
  const contentType = options.contentType ?? contentTypeFromName(name) ?? DEFAULT_CONTENT_TYPE;
  return await fetchVerified(ctx, entry.hash, { ...options, contentType });
}
