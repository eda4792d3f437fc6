/**
 * Discovery: what this gateway holds of a blob or of a hash sequence and its children, in
 * iroh's terms (`Bitfield`: size validated once the last chunk is held, complete once every
 * chunk is), as JSON for people and as a `RangeSpecSeq` for peers (index 0 = the blob, i = child
 * i − 1), and the part of a Get request that could be answered here.
 *
 * @module
 */

import { type Hash, toHex } from "../blake3/hash.ts";
import { collect } from "../bytes.ts";
import { readVerifiedExact } from "../bao/read.ts";
import { HashSeq } from "../collection/hash_seq.ts";
import { ChunkRanges } from "../ranges/chunk_ranges.ts";
import { ChunkRangesSeq } from "../ranges/range_spec.ts";
import type { BlobStore } from "../store/blob_store.ts";
import { type BlobMeta, visible } from "../store/layout.ts";
import { storedRanges } from "../store/partial.ts";
import type { Request } from "./request.ts";

/**
 * Most children whose availability one answer lists (and a request to `POST /discovery` can
 * ask about), for a blob marked as a hash sequence: each costs a KV read, and anyone may ask.
 */
export const MAX_DISCOVERY_CHILDREN = 10_000;

/** The same for a view forced on an unmarked blob (`?hashseq`, a Get asking for children). */
export const MAX_FORCED_CHILDREN = 1_000;

/** What is held of one blob. */
export interface BlobAvailability {
  hash: string;
  /** The size, when the blob is known here (always proven: see `BlobMeta.partial`). */
  size: number | null;
  /** The last chunk is held, which proves the size. */
  validated: boolean;
  complete: boolean;
  /** Held chunk ranges: `[start, end]` pairs, `end` null for an open range. */
  ranges: [number, number | null][];
}

export interface Availability extends BlobAvailability {
  /** For a hash sequence held whole: the same for each child, in order, up to a limit. */
  children?: BlobAvailability[];
  /** How many children the hash sequence has (more than are listed when over the limit). */
  childCount?: number;
}

/** The chunk ranges held of a blob (empty when it is not here). */
export function heldRanges(meta: BlobMeta | undefined): ChunkRanges {
  return meta === undefined ? ChunkRanges.EMPTY : storedRanges(meta);
}

function describe(hash: Hash, meta: BlobMeta | undefined): BlobAvailability {
  const ranges = heldRanges(meta);
  const pairs: [number, number | null][] = [];
  const b = ranges.boundaries;
  for (let i = 0; i < b.length; i += 2) pairs.push([b[i], i + 1 < b.length ? b[i + 1] : null]);
  const chunks = meta === undefined ? 0 : Math.max(1, Math.ceil(meta.size / 1024));
  return {
    hash: toHex(hash),
    size: meta?.size ?? null,
    validated: meta !== undefined && ranges.contains(chunks - 1),
    complete: meta !== undefined && meta.partial === undefined,
    ranges: pairs,
  };
}

/**
 * The first children of `hash` (`MAX_DISCOVERY_CHILDREN`, or `MAX_FORCED_CHILDREN` for a view
 * forced on a blob not marked as one) if it is a hash sequence held whole here (a blob whose
 * size is a multiple of 32 and that is marked as one, or `asHashSeq`), read verified; and how
 * many there are. Only the listed children's hashes are read.
 */
async function children(
  store: BlobStore,
  hash: Hash,
  meta: BlobMeta | undefined,
  asHashSeq: boolean,
): Promise<{ listed: HashSeq; count: number } | undefined> {
  if (meta === undefined || meta.partial !== undefined || meta.size % 32 !== 0) return undefined;
  if (!asHashSeq && !meta.hashSeq) return undefined;
  const count = meta.size / 32;
  const limit = meta.hashSeq ? MAX_DISCOVERY_CHILDREN : MAX_FORCED_CHILDREN;
  const end = Math.min(count, limit) * 32;
  const bytes = await collect(readVerifiedExact(store.source(hash, meta), 0, end));
  return { listed: HashSeq.decode(bytes), count };
}

/**
 * What is held of `hash`, and of its first children when it is a hash sequence held whole
 * (`childCount` says how many it has).
 */
export async function availability(
  store: BlobStore,
  hash: Hash,
  options: { asHashSeq?: boolean } = {},
): Promise<Availability> {
  const meta = visible(await store.stat(hash));
  const info: Availability = describe(hash, meta);
  const seq = await children(store, hash, meta, options.asHashSeq ?? false);
  if (seq !== undefined) {
    const hashes = [...seq.listed];
    const childMetas = (await store.statMany(hashes)).map(visible);
    info.children = hashes.map((h, i) => describe(h, childMetas[i]));
    info.childCount = seq.count;
  }
  return info;
}

/** The binary form: index 0 the blob's held ranges, index i child i − 1's. */
export function availabilityRanges(info: Availability): ChunkRangesSeq {
  const toRanges = (a: BlobAvailability) =>
    ChunkRanges.fromBoundaries(a.ranges.flatMap(([s, e]) => e === null ? [s] : [s, e]));
  return ChunkRangesSeq.fromRanges([info, ...(info.children ?? [])].map(toRanges));
}

/**
 * The part of `request` this gateway could answer: per blob index, the requested ranges that
 * are held here (children of a Get through the hash sequence held here).
 */
export async function answerable(store: BlobStore, request: Request): Promise<ChunkRangesSeq> {
  let hashes: Hash[];
  if (request.type === "getMany") {
    hashes = [...request.hashes];
  } else {
    const meta = visible(await store.stat(request.hash));
    // Any index past 0 is a child, whichever the first one asked for is.
    const wantsChildren = request.ranges.nonEmpty(1).next().done !== true;
    const seq = wantsChildren ? await children(store, request.hash, meta, true) : undefined;
    // Children past the listed ones are answered as not held: the asker learns nothing false.
    hashes = [request.hash, ...(seq?.listed ?? [])];
  }
  const wanted: [number, ChunkRanges][] = [...request.ranges.nonEmpty(0, hashes.length)];
  const held = (await store.statMany(wanted.map(([i]) => hashes[i]))).map(visible);
  const out: ChunkRanges[] = new Array(hashes.length).fill(ChunkRanges.EMPTY);
  wanted.forEach(([i, ranges], k) => {
    const size = held[k]?.size ?? 0;
    out[i] = ranges.truncate(size).intersection(heldRanges(held[k]));
  });
  return ChunkRangesSeq.fromRanges(out);
}
