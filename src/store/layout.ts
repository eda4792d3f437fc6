/**
 * How blobs are laid out in Deno KV (GATEWAY.md "Storage in Deno KV").
 *
 * - `["blob", hash]` → `BlobMeta`: a blob exists for readers only once this is written, by the
 *   single atomic commit that ends an import.
 * - `["data", dataId, page]` → raw 64 KiB pages (4 chunk groups; a KV value holds exactly 65,536
 *   bytes of a Uint8Array). The last page may be shorter.
 * - `["ob", dataId, page]` → the k = 4 outboard in **post-order**, 1,024 pairs per page: it is the
 *   order in which a streaming import produces pairs, and offsets never move, so pages are
 *   written once, as they fill. Pre-order (what iroh sends) is a mapping away.
 * - `["pin", hash, holder]` → why a blob is kept ("user" for an upload, `blob:<hex>` for the
 *   children of a hash sequence, a Willow entry, a lease, …); `BlobMeta.refs` counts them so one
 *   atomic check on the meta sees every change. `["holds", holder, hash]` is the same pin seen
 *   from the holder, so everything a holder keeps can be released at once.
 * - `["lease", id]` → a temporary holder with a heartbeat (a multi-blob upload in progress): if
 *   its owner dies, collection releases what it held.
 * - `["upload", dataId]` → an import in progress (or being discarded), with a heartbeat, so that
 *   garbage collection can tell a live upload from one whose process died.
 * - `["trash", dataId]` → pages whose blob was collected, still being deleted.
 * - `["release", hash]` → a collected blob whose own pins (the children of a hash sequence) are
 *   still being released: written by the commit that collects it, so that a crash before the
 *   release leaves work for the next GC, not children pinned for good.
 * - `["access", hash]` → when a cached blob was last read, for least-recently-used eviction.
 *
 * Data lives under a fresh `dataId` rather than under the hash because the hash is known only
 * after the last byte: a crash can leave pages, never a half-visible blob.
 *
 * @module
 */

import type { Hash } from "../blake3/hash.ts";

/** Bytes per data page: four 16 KiB chunk groups, the largest KV value. */
export const DATA_PAGE = 65536;
/** Outboard pairs per page (64 bytes each). */
export const OB_PAGE_PAIRS = 1024;
/** Bytes per outboard page. */
export const OB_PAGE = OB_PAGE_PAIRS * 64;

/** Pages of data and outboard that a complete blob of `size` bytes has. */
export function pageCounts(size: number): { dataPages: number; obPages: number } {
  const groups = Math.max(1, Math.ceil(size / 16384));
  return {
    dataPages: Math.ceil(size / DATA_PAGE),
    obPages: Math.ceil(((groups - 1) * 64) / OB_PAGE),
  };
}

/** A stored, complete blob. */
export interface BlobMeta {
  readonly size: number;
  /** Where its data and outboard pages are. */
  readonly dataId: string;
  /** Number of pins; 0 means collectable after the grace period. */
  readonly refs: number;
  /** Milliseconds since the epoch. */
  readonly createdAt: number;
  /** When `refs` last dropped to 0. */
  readonly unpinnedAt?: number;
  /**
   * The type sniffed from the first bytes at import, so that HEAD and range requests need not
   * read them again. Absent when nothing was recognised.
   */
  readonly sniffedType?: string;
  /**
   * For a partial blob, the boundaries of the chunk ranges stored and verified (always with the
   * last chunk: its verification proved `size` before anything was stored). Absent when the
   * blob is complete.
   */
  readonly partial?: readonly number[];
  /**
   * Kept as a cache of what peers served: evicted least recently used beyond the cache budget
   * instead of collected when unpinned.
   */
  readonly cached?: boolean;
  /** Known to be a hash sequence (a collection's root): discovery reports its children. */
  readonly hashSeq?: boolean;
  /**
   * Stored only as a payload of Willow namespaces that are not public: served only through
   * them (with a read proof), and nowhere else (`visible`), until it is imported without this.
   */
  readonly restricted?: true;
}

/**
 * Whether a stored value has the shape of `BlobMeta`. The gateway writes nothing else under a
 * blob's key, but a damaged store must cost that one blob, not every collection run.
 */
export function isBlobMeta(value: unknown): value is BlobMeta {
  const m = value as Partial<BlobMeta> | null;
  return typeof m === "object" && m !== null && Number.isSafeInteger(m.size) && m.size! >= 0 &&
    typeof m.dataId === "string" && Number.isSafeInteger(m.refs) &&
    (m.partial === undefined || Array.isArray(m.partial));
}

/**
 * The metadata as the public sees it (`/blobs`, `/get`, discovery, collections, peers): a
 * restricted blob is not there. Knowing its digest must not be enough to read a payload that a
 * namespace's read capabilities guard, nor to learn that it is stored.
 */
export function visible(meta: BlobMeta | undefined): BlobMeta | undefined {
  return meta?.restricted ? undefined : meta;
}

/** An import in progress. */
export interface UploadRecord {
  readonly startedAt: number;
  readonly updatedAt: number;
  /**
   * Data and outboard pages known to be written (a lower bound while the upload runs): lets
   * collection delete by key instead of listing, which would read every page's value.
   */
  readonly dataPages: number;
  readonly obPages: number;
  /** Set when the pages are known to be garbage (aborted, or a duplicate of a stored blob). */
  readonly discard?: boolean;
}

export const keys = {
  blobs: ["blob"] as const,
  blob: (hash: Hash) => ["blob", hash] as const,
  pins: (hash: Hash) => ["pin", hash] as const,
  pin: (hash: Hash, holder: string) => ["pin", hash, holder] as const,
  heldBy: (holder: string) => ["holds", holder] as const,
  holds: (holder: string, hash: Hash) => ["holds", holder, hash] as const,
  leases: ["lease"] as const,
  lease: (id: string) => ["lease", id] as const,
  dataPages: (dataId: string) => ["data", dataId] as const,
  dataPage: (dataId: string, page: number) => ["data", dataId, page] as const,
  obPages: (dataId: string) => ["ob", dataId] as const,
  obPage: (dataId: string, page: number) => ["ob", dataId, page] as const,
  uploads: ["upload"] as const,
  upload: (dataId: string) => ["upload", dataId] as const,
  access: (hash: Hash) => ["access", hash] as const,
  trashes: ["trash"] as const,
  trash: (dataId: string) => ["trash", dataId] as const,
  releases: ["release"] as const,
  release: (hash: Hash) => ["release", hash] as const,
  /** When the last scheduled collection started, by any instance (see `claimGcTurn`). */
  gcTurn: ["gc-turn"] as const,
};

/** A lease: a holder whose owner is alive while `updatedAt` keeps moving. */
export interface LeaseRecord {
  readonly startedAt: number;
  readonly updatedAt: number;
}

/** Pages in the trash, with how many there are. */
export interface TrashRecord {
  readonly since: number;
  readonly dataPages: number;
  readonly obPages: number;
}
