/**
 * What the gateway holds, for its home page: the blobs and collections people pinned (uploads),
 * a page at a time, and totals over the whole store.
 *
 * Pinned items are read from the store's index of what a holder keeps (`["holds", "user", hash]`,
 * store/layout.ts) rather than from `BlobStore.list()`, which walks every blob, children of
 * collections and cached peer data included: the index holds exactly the uploads, and Deno KV
 * cursors page through it at any depth for the cost of one page. The totals do walk every blob,
 * so they stop after `TOTALS_CAP` blobs and say so, keeping the page's cost bounded on any store.
 *
 * @module
 */

import { type Hash, toHex } from "../blake3/hash.ts";
import { availability } from "../protocol/discovery.ts";
import { type BlobStore, USER_PIN } from "../store/blob_store.ts";
import type { BlobMeta } from "../store/layout.ts";

/** Blobs the totals look at before they stop (and say they are a lower bound). */
export const TOTALS_CAP = 100_000;
/** Collections up to this many files get their total size on the page (one stat per file). */
const SIZED_COLLECTION_FILES = 1000;

/** A cursor that Deno KV did not make, or not for this listing. */
export class InvalidCursorError extends Error {
  override name = "InvalidCursorError";
}

/** A pinned blob or collection. */
export interface PinnedItem {
  /** Lowercase hex. */
  readonly hash: string;
  /** The blob's own size (for a collection: its hash seq's). */
  readonly size: number;
  /** Milliseconds since the epoch. */
  readonly createdAt: number;
  /** Whether only part of it is stored here. */
  readonly partial: boolean;
  readonly sniffedType?: string;
  /** For a collection: its files, and their bytes when counted (see `SIZED_COLLECTION_FILES`). */
  readonly collection?: { readonly files: number; readonly bytes?: number };
}

export interface PinnedPage {
  readonly items: readonly PinnedItem[];
  /** The cursor of the next page, when there is one. */
  readonly next?: string;
}

export interface StoreTotals {
  /** Every blob stored (complete or partial), children and cached data included. */
  readonly blobs: number;
  readonly bytes: number;
  /** Hash sequences among them (collections). */
  readonly collections: number;
  /** Bytes kept as a cache of what peers served. */
  readonly cachedBytes: number;
  /** False when the walk stopped at `TOTALS_CAP`: the figures are lower bounds. */
  readonly complete: boolean;
}

/** Files of a collection and, for small ones held whole, their total size. */
async function collectionSummary(
  store: BlobStore,
  hash: Hash,
  meta: BlobMeta,
): Promise<PinnedItem["collection"]> {
  // A hash seq of n + 1 hashes: the meta blob, then n files.
  const files = Math.max(0, meta.size / 32 - 1);
  if (files > SIZED_COLLECTION_FILES || meta.partial !== undefined) return { files };
  const children = (await availability(store, hash)).children;
  if (children === undefined || children.some((c) => c.size === null)) return { files };
  return { files, bytes: children.slice(1).reduce((sum, c) => sum + c.size!, 0) };
}

/**
 * Up to `limit` pinned items in hash order, from `cursor` (the `next` of the page before).
 * Throws `InvalidCursorError` for a cursor Deno KV rejects.
 */
export async function pinnedPage(
  store: BlobStore,
  options: { cursor?: string; limit: number },
): Promise<PinnedPage> {
  let page: { hashes: Hash[]; next: string | undefined };
  try {
    page = await store.pinnedBy(USER_PIN, options);
  } catch (e) {
    if (options.cursor !== undefined && e instanceof TypeError) {
      throw new InvalidCursorError(`not a cursor of this listing: ${options.cursor.slice(0, 80)}`);
    }
    throw e;
  }
  const { hashes, next } = page;
  const metas = await store.statMany(hashes);
  const items = await Promise.all(hashes.map(async (hash, i): Promise<PinnedItem | undefined> => {
    const meta = metas[i];
    if (meta === undefined) return undefined; // collected between the two reads
    return {
      hash: toHex(hash),
      size: meta.size,
      createdAt: meta.createdAt,
      partial: meta.partial !== undefined,
      ...(meta.sniffedType === undefined ? {} : { sniffedType: meta.sniffedType }),
      ...(meta.hashSeq ? { collection: await collectionSummary(store, hash, meta) } : {}),
    };
  }));
  return {
    items: items.filter((i): i is PinnedItem => i !== undefined),
    ...(next === undefined ? {} : { next }),
  };
}

/** Totals over the store's blobs, the first `cap` of them at most. */
export async function storeTotals(store: BlobStore, cap = TOTALS_CAP): Promise<StoreTotals> {
  let blobs = 0, bytes = 0, collections = 0, cachedBytes = 0;
  for await (const { meta } of store.list()) {
    if (blobs === cap) return { blobs, bytes, collections, cachedBytes, complete: false };
    blobs++;
    bytes += meta.size;
    if (meta.hashSeq) collections++;
    if (meta.cached) cachedBytes += meta.size;
  }
  return { blobs, bytes, collections, cachedBytes, complete: true };
}
