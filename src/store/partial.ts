/**
 * Partial blobs: verified chunk groups and pairs from any source (a peer's stream, a client
 * pushing ranges) written into the same page layout as complete blobs, with iroh's meaning for
 * the verified set (iroh-blobs `Bitfield`): the size is known to be right because the last
 * chunk verified before anything was stored, and the blob is complete once every chunk is there.
 *
 * Pages may be shared by groups that arrive separately, so a page is read, patched and written
 * back, checked against the version read: two writers of one blob (two peers, two requests)
 * retry instead of losing each other's groups. Everything written was verified by the caller;
 * readers verify again anyway.
 *
 * @module
 */

import { CHUNK_LEN } from "../blake3/constants.ts";
import { type Hash, toHex } from "../blake3/hash.ts";
import { BaoTree, IROH_K, type TreeNode } from "../bao/tree.ts";
import { SNIFF_LEN, sniffContentType } from "../http/content_type.ts";
import { ChunkRanges } from "../ranges/chunk_ranges.ts";
import { ATTEMPTS, pause } from "./contention.ts";
import { BlobContentionError } from "./errors.ts";
import { type BlobMeta, DATA_PAGE, keys, OB_PAGE, OB_PAGE_PAIRS } from "./layout.ts";

/** A chunk group (or the shorter last group) of verified data, by its first chunk. */
export interface VerifiedGroup {
  readonly start: number;
  readonly data: Uint8Array;
}

/** A verified pair of a stored parent. */
export interface VerifiedPair {
  readonly node: TreeNode;
  readonly pair: Uint8Array;
}

/**
 * Most boundaries a partial blob's verified set may have. The set lives in the blob's meta
 * record (at most 64 KiB); a blob fragmented further keeps what it has and stores no new island
 * until gaps fill.
 */
export const MAX_BOUNDARIES = 2048;

/** The part of a blob stored here: everything for a complete blob. */
export function storedRanges(meta: BlobMeta): ChunkRanges {
  return meta.partial === undefined ? ChunkRanges.ALL : ChunkRanges.fromBoundaries(meta.partial);
}

/** Bytes of data stored for a blob (what its cache entry costs). */
export function storedBytes(meta: BlobMeta): number {
  if (meta.partial === undefined) return meta.size;
  const b = meta.partial;
  let n = 0;
  for (let i = 0; i < b.length; i += 2) {
    const end = i + 1 < b.length ? b[i + 1] * CHUNK_LEN : meta.size;
    n += Math.max(0, Math.min(end, meta.size) - b[i] * CHUNK_LEN);
  }
  return n;
}

/** A page's full length: 64 KiB, or what is left at the end. */
function pageLength(total: number, page: number, pageSize: number): number {
  return Math.min(pageSize, total - page * pageSize);
}

interface PagePatch {
  readonly key: Deno.KvKey;
  readonly length: number;
  readonly writes: { offset: number; bytes: Uint8Array }[];
}

/** Groups and pairs gathered by the page they fall in. */
function patchesFor(
  dataId: string,
  tree: BaoTree,
  groups: readonly VerifiedGroup[],
  pairs: readonly VerifiedPair[],
): Map<string, PagePatch> {
  const patches = new Map<string, PagePatch>();
  const add = (key: Deno.KvKey, length: number, offset: number, bytes: Uint8Array) => {
    const id = key.join("/");
    let patch = patches.get(id);
    if (patch === undefined) {
      patch = { key, length, writes: [] };
      patches.set(id, patch);
    }
    patch.writes.push({ offset, bytes });
  };
  for (const g of groups) {
    const byte = g.start * CHUNK_LEN;
    const page = Math.floor(byte / DATA_PAGE);
    add(
      keys.dataPage(dataId, page),
      pageLength(tree.size, page, DATA_PAGE),
      byte % DATA_PAGE,
      g.data,
    );
  }
  for (const p of pairs) {
    if (!tree.isStored(p.node)) continue;
    const index = tree.postOrderIndex(p.node);
    const page = Math.floor(index / OB_PAGE_PAIRS);
    const length = pageLength(tree.outboardSize, page, OB_PAGE);
    add(keys.obPage(dataId, page), length, (index % OB_PAGE_PAIRS) * 64, p.pair);
  }
  return patches;
}

/** Whether the patches rewrite every byte of their page (no need to read it first). */
function coversPage(patch: PagePatch): boolean {
  return patch.writes.reduce((n, w) => n + w.bytes.length, 0) >= patch.length;
}

export interface WriteResult {
  /** The blob is now complete. */
  complete: boolean;
  /** Groups not stored because the verified set would have become too fragmented. */
  skipped: number;
}

export interface WriteOptions {
  /** Mark a blob created by this write as a cache of peer data (evicted, not collected). */
  cached?: boolean;
  /**
   * The caller verified the last chunk under `size` (in the same stream as these groups), so
   * the blob may be created without its last group.
   */
  sizeProven?: boolean;
}

/** Most pages one commit rewrites: 12 × 64 KiB stays under the 800 KiB atomic limit. */
const MAX_PAGES_PER_COMMIT = 12;
/** Groups tried per commit: 8 pages of data (a slice is halved if its pages do not fit). */
const GROUPS_PER_COMMIT = 32;

/**
 * Stores verified groups and pairs of blob `hash` of validated size `size`. A blob not yet
 * stored is created (unpinned, marked `cached` when `cached`), which requires its last group
 * among `groups` (that group's verification proves `size`) or `sizeProven`. Give each group with the
 * pairs verified on the way to it: a group is stored together with the pairs above it, so a
 * stored group always has its path stored; pairs over no given group are not kept.
 */
export async function writeVerified(
  kv: Deno.Kv,
  hash: Hash,
  size: number,
  groups: readonly VerifiedGroup[],
  pairs: readonly VerifiedPair[],
  options: WriteOptions = {},
): Promise<WriteResult> {
  const tree = new BaoTree(size, IROH_K);
  for (const g of groups) {
    const [a, b] = tree.byteRange(g.start, g.start + tree.groupChunks);
    if (g.start % tree.groupChunks !== 0 || g.data.length !== b - a || b === a) {
      throw new Error(`not a whole chunk group of a ${size}-byte blob: chunk ${g.start}`);
    }
  }
  const sorted = [...groups].sort((a, b) => a.start - b.start);
  // The last group first: it is what may create the blob.
  const last = sorted.findIndex((g) => g.start === (tree.groups - 1) * tree.groupChunks);
  if (last > 0) sorted.unshift(...sorted.splice(last, 1));
  const result: WriteResult = { complete: false, skipped: 0 };
  const commit = async (slice: VerifiedGroup[]): Promise<void> => {
    const over = (p: VerifiedPair) => {
      const end = tree.end(p.node);
      return slice.some((g) => g.start >= p.node.start && g.start < end);
    };
    const r = await commitSlice(kv, hash, tree, slice, pairs.filter(over), options);
    if (r === "too-big") {
      const half = Math.ceil(slice.length / 2);
      await commit(slice.slice(0, half));
      await commit(slice.slice(half));
      return;
    }
    result.complete = r.complete;
    result.skipped += r.skipped;
  };
  for (let i = 0; i < sorted.length; i += GROUPS_PER_COMMIT) {
    await commit(sorted.slice(i, i + GROUPS_PER_COMMIT));
  }
  // A proven size alone makes the blob known, with nothing held yet.
  if (sorted.length === 0 && options.sizeProven) await commit([]);
  return result;
}

async function commitSlice(
  kv: Deno.Kv,
  hash: Hash,
  tree: BaoTree,
  groups: readonly VerifiedGroup[],
  pairs: readonly VerifiedPair[],
  options: WriteOptions,
): Promise<WriteResult | "too-big"> {
  const lastGroup = (tree.groups - 1) * tree.groupChunks;
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    if (attempt > 0) await pause(attempt);
    const metaEntry = await kv.get<BlobMeta>(keys.blob(hash));
    let meta = metaEntry.value;
    if (meta !== null && meta.size !== tree.size) {
      throw new Error(`blob ${toHex(hash)} is stored with size ${meta.size}, not ${tree.size}`);
    }
    if (meta === null) {
      if (!options.sizeProven && !groups.some((g) => g.start === lastGroup)) {
        throw new Error("a partial blob is created with its last group, which proves its size");
      }
      meta = {
        size: tree.size,
        dataId: crypto.randomUUID(),
        refs: 0,
        createdAt: Date.now(),
        unpinnedAt: Date.now(),
        partial: [],
        ...(options.cached ? { cached: true } : {}),
      };
    }
    if (meta.partial === undefined) return { complete: true, skipped: 0 };
    const had = ChunkRanges.fromBoundaries(meta.partial);
    let have = had;
    const accepted: VerifiedGroup[] = [];
    // At the limit of pieces a group is stored only if it joins one; one that joins a piece
    // can make its neighbour do so, so go round until a round accepts nothing.
    let waiting = groups;
    for (let progress = true; progress && waiting.length > 0;) {
      const refused: VerifiedGroup[] = [];
      for (const g of waiting) {
        // The group that holds the last chunk opens the set to the end, as iroh's bitfields do.
        const end = g.start + tree.groupChunks >= tree.chunks
          ? undefined
          : g.start + tree.groupChunks;
        const next = have.union(ChunkRanges.range(g.start, end));
        if (next.boundaries.length > MAX_BOUNDARIES) refused.push(g);
        else {
          have = next;
          accepted.push(g);
        }
      }
      progress = refused.length < waiting.length;
      waiting = refused;
    }
    const skipped = waiting.length;
    // A pair over a group already stored is stored already: stored groups keep their paths.
    const fresh = pairs.filter((p) => !had.intersects(p.node.start, tree.end(p.node)));
    const patches = patchesFor(meta.dataId, tree, accepted, fresh);
    if (patches.size > MAX_PAGES_PER_COMMIT && groups.length > 1) return "too-big";
    const toRead = [...patches.values()].filter((p) => !coversPage(p));
    const current = new Map<string, Deno.KvEntryMaybe<Uint8Array>>();
    for (let j = 0; j < toRead.length; j += 10) {
      const entries = await kv.getMany<Uint8Array[]>(toRead.slice(j, j + 10).map((p) => p.key));
      entries.forEach((e, k) => current.set(toRead[j + k].key.join("/"), e));
    }
    // The metadata's check alone orders writers: every commit that writes this blob's pages
    // rewrites its metadata too, so a page read after it changed only if the metadata did (and
    // one check, not one per page, stays within `denokv`'s ten).
    const op = kv.atomic().check(metaEntry);
    for (const [id, patch] of patches) {
      const before = current.get(id);
      const page = new Uint8Array(patch.length);
      if (before?.value) page.set(before.value.subarray(0, patch.length));
      for (const w of patch.writes) page.set(w.bytes, w.offset);
      op.set(patch.key, page);
    }
    const complete = have.covers(0, tree.chunks);
    const first = accepted.find((g) => g.start === 0);
    const sniffedType = meta.sniffedType ??
      (first && sniffContentType(first.data.subarray(0, SNIFF_LEN), tree.size));
    const { partial: _, ...rest } = meta;
    const next: BlobMeta = {
      ...rest,
      ...(complete ? {} : { partial: [...have.boundaries] }),
      ...(sniffedType === undefined ? {} : { sniffedType }),
    };
    op.set(keys.blob(hash), next);
    if ((await op.commit()).ok) return { complete, skipped };
  }
  throw new BlobContentionError(`could not store groups of ${toHex(hash)}: too much contention`);
}
