/**
 * Encoding of any chunk ranges of a blob from its data and outboard (bao spec "Combined
 * encoding" and slices; bao-tree `encode_ranges_validated`), checking every pair and every
 * group against the root hash before it is written: the store is not trusted either.
 *
 * The output is the items only; iroh-blobs and bao put the 8-byte LE size in front
 * (`sizeHeader`).
 *
 * @module
 */

import { bytesEqual } from "../blake3/hash.ts";
import { parentCv, subtreeCv } from "../blake3/tree.ts";
import type { ChunkRanges } from "../ranges/chunk_ranges.ts";
import { HashMismatchError } from "./errors.ts";
import type { VerifiedPairs } from "./verified_pairs.ts";
import type { Outboard } from "./outboard.ts";
import type { BaoTree } from "./tree.ts";
import { type GroupItem, type ParentItem, walkGroups, walkInGroup } from "./walk.ts";

/** A blob's outboard together with random access to its data. */
export interface BaoSource extends Outboard {
  /** Bytes `[start, end)` of the blob (fewer only if storage lost them). */
  readData(start: number, end: number): Uint8Array | Promise<Uint8Array>;
  /**
   * Told, before a walk starts, that its reads end at byte `end`: a source that reads ahead
   * (storage) must not fetch what the walk will never ask for.
   */
  setReadWindow?(end: number): void;
  /** Pairs of this tree verified before, to take instead of reading and hashing them again. */
  readonly verifiedPairs?: VerifiedPairs;
  /**
   * The chunks this source holds, when not all of them (a blob held in part): asking for
   * others is known to fail before anything is read.
   */
  readonly held?: ChunkRanges;
}

/** The 8-byte little-endian size that precedes an encoding. */
export function sizeHeader(size: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(size), true);
  return out;
}

/** One verified step of a walk: a stored pair, or the whole data of a group. */
export type VerifiedStep =
  | { readonly type: "parent"; readonly item: ParentItem; readonly pair: Uint8Array }
  | { readonly type: "group"; readonly item: GroupItem; readonly data: Uint8Array };

/**
 * The stored pairs and groups that `query` (already truncated to the tree) touches, in
 * pre-order, each checked against the CV its parent promised before it is yielded: a pair that
 * does not hash to it, or a group whose data does not, throws `HashMismatchError`. Partly
 * queried groups are read and checked whole.
 */
export async function* verifiedSteps(
  source: BaoSource,
  query: ChunkRanges,
): AsyncGenerator<VerifiedStep> {
  const tree = source.tree;
  const b = query.boundaries;
  const end = query.isOpen ? tree.size : b.length === 0 ? 0 : tree.byteRange(0, b[b.length - 1])[1];
  source.setReadWindow?.(end);
  const expected: Uint8Array[] = [source.root];
  for (const item of walkGroups(tree, query)) {
    if (item.type === "parent") {
      const want = expected.pop()!;
      const known = source.verifiedPairs?.get(source.root, item.node);
      let pair: Uint8Array;
      if (known !== undefined && bytesEqual(known.cv, want)) {
        pair = known.pair;
      } else {
        pair = await source.loadPair(item.node);
        if (
          pair.length !== 64 ||
          !bytesEqual(parentCv(pair.subarray(0, 32), pair.subarray(32), item.isRoot), want)
        ) {
          throw new HashMismatchError("parent", item.node.start);
        }
        source.verifiedPairs?.set(source.root, item.node, pair, want);
      }
      const left = pair.subarray(0, 32), right = pair.subarray(32, 64);
      if (item.right) expected.push(right);
      if (item.left) expected.push(left);
      yield { type: "parent", item, pair };
      continue;
    }
    const [a, b] = tree.byteRange(item.start, item.end);
    const data = await source.readData(a, b);
    if (
      data.length !== b - a ||
      !bytesEqual(subtreeCv(data, item.start, item.isRoot), expected.pop()!)
    ) {
      throw new HashMismatchError("leaf", item.start);
    }
    yield { type: "group", item, data };
  }
}

/**
 * The encoding of `ranges` (bao-tree semantics: anything at or past the end means the last
 * chunk). Throws `HashMismatchError` at the first pair or group of the source that does not
 * verify, before any of its bytes are yielded.
 */
export async function* encodeRanges(
  source: BaoSource,
  ranges: ChunkRanges,
): AsyncGenerator<Uint8Array> {
  const query = ranges.truncate(source.tree.size);
  for await (const step of verifiedSteps(source, query)) {
    if (step.type === "parent") yield step.pair;
    else if (step.item.full) yield step.data;
    else yield* encodeInGroup(source.tree, query, step.item, step.data);
  }
}

/** The items inside a partly queried group, with the unstored pairs computed from its data. */
function* encodeInGroup(
  tree: BaoTree,
  query: ChunkRanges,
  group: GroupItem,
  data: Uint8Array,
): Generator<Uint8Array> {
  const base = group.start;
  const slice = (start: number, end: number) => {
    const [a, b] = tree.byteRange(start, end);
    const [g] = tree.byteRange(base, base);
    return data.subarray(a - g, b - g);
  };
  for (const item of walkInGroup(tree, query, group)) {
    if (item.type === "leaf") {
      yield slice(item.start, item.end);
      continue;
    }
    const mid = tree.mid(item.node);
    const end = tree.end(item.node);
    const pair = new Uint8Array(64);
    pair.set(subtreeCv(slice(item.node.start, mid), item.node.start, false), 0);
    pair.set(subtreeCv(slice(mid, end), mid, false), 32);
    yield pair;
  }
}

/** A source over data and an outboard both in memory. */
export function memorySource(data: Uint8Array, outboard: Outboard): BaoSource {
  return {
    tree: outboard.tree,
    root: outboard.root,
    loadPair: (node) => outboard.loadPair(node),
    readData: (start, end) => data.subarray(start, end),
  };
}
