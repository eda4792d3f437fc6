/**
 * What `GET /collections/:hash` lists (GATEWAY.md): each entry's name, hash, size and content
 * type, and the total. Sizes and sniffed types come from the store's metadata of each child;
 * a child that is not stored here is listed with no size, so a partial collection still shows
 * what it holds.
 *
 * @module
 */

import { type Hash, toHex } from "../blake3/hash.ts";
import { contentTypeFromName, DEFAULT_CONTENT_TYPE } from "../http/content_type.ts";
import type { Collection } from "./collection.ts";
import { mapLimited } from "./concurrency.ts";

/** What the store knows of a child without reading it. */
export interface BlobInfo {
  readonly size: number;
  readonly sniffedType?: string;
}

export interface ListingEntry {
  readonly name: string;
  /** Lowercase hex. */
  readonly hash: string;
  /** `null` when the child is not stored here. */
  readonly size: number | null;
  /** By the name's extension, else as sniffed when stored, else `application/octet-stream`. */
  readonly type: string;
}

export interface Listing {
  readonly hash: string;
  readonly entries: readonly ListingEntry[];
  /** Bytes of the children whose size is known here (held whole or in part). */
  readonly totalSize: number;
}

/** Metadata look-ups in flight at once. */
const STAT_CONCURRENCY = 32;

/** The listing of `collection`, with `stat` telling what is stored of each child. */
export async function collectionListing(
  collection: Collection,
  stat: (hash: Hash) => Promise<BlobInfo | undefined>,
): Promise<Listing> {
  const entries = await mapLimited(collection.entries, STAT_CONCURRENCY, async (entry) => {
    const info = await stat(entry.hash);
    return {
      name: entry.name,
      hash: toHex(entry.hash),
      size: info?.size ?? null,
      type: contentTypeFromName(entry.name) ?? info?.sniffedType ?? DEFAULT_CONTENT_TYPE,
    };
  });
  const totalSize = entries.reduce((sum, e) => sum + (e.size ?? 0), 0);
  return { hash: toHex(collection.hash), entries, totalSize };
}
