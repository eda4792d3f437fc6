/**
 * The pre-order walk that defines what an encoding of some chunk ranges contains (bao spec
 * "Combined encoding"; bao-tree `ranges_pre_order_chunks_iter_ref` and `encode_selected_rec`;
 * brief §3 "Response byte layout").
 *
 * Rule, for a subtree whose extent is its chunks, or everything from its first chunk on when it
 * is on the right edge (so that a query past the end reaches the last chunk):
 * - nothing in the query → nothing;
 * - a single chunk, or a fully queried subtree of at most one group → its raw bytes (a leaf);
 * - otherwise → its 64-byte pair, then the left and right subtrees.
 *
 * The encoder and the verifier both follow this walk, so the byte layout is defined once.
 * Ranges must already be truncated to the tree (`ChunkRanges.truncate`).
 *
 * @module
 */

import type { ChunkRanges } from "../ranges/chunk_ranges.ts";
import type { BaoTree, TreeNode } from "./tree.ts";

/** A 64-byte pair: whether the left and right subtrees follow it in the walk. */
export interface ParentItem {
  readonly type: "parent";
  readonly node: TreeNode;
  readonly isRoot: boolean;
  readonly left: boolean;
  readonly right: boolean;
}

/** The raw bytes of chunks `[start, end)`: a single chunk or a fully queried group (part). */
export interface LeafItem {
  readonly type: "leaf";
  readonly start: number;
  readonly end: number;
  readonly isRoot: boolean;
}

/**
 * A chunk group (or the shorter last group) with query in it. A full group is one leaf; a
 * partial one is a sub-walk of pairs the outboard does not store and chunks (`walkInGroup`).
 */
export interface GroupItem {
  readonly type: "group";
  readonly start: number;
  readonly end: number;
  readonly isRoot: boolean;
  readonly full: boolean;
}

/** The extent a query is matched against: right-edge subtrees reach past the end. */
function extentEnd(tree: BaoTree, end: number): number {
  return end === tree.chunks ? Infinity : end;
}

/**
 * The pre-order walk over the subtree `[start, end)`: subtrees the query misses are skipped;
 * where `leaf` returns an item it is yielded in place of the subtree, else the subtree's pair
 * is yielded and both halves are walked.
 */
function* walk<L>(
  tree: BaoTree,
  ranges: ChunkRanges,
  root: [number, number, boolean],
  leaf: (start: number, end: number, ext: number, isRoot: boolean) => L | undefined,
): Generator<ParentItem | L> {
  const stack: [number, number, boolean][] = [root];
  while (stack.length > 0) {
    const [start, end, isRoot] = stack.pop()!;
    const ext = extentEnd(tree, end);
    if (!ranges.intersects(start, ext)) continue;
    const item = leaf(start, end, ext, isRoot);
    if (item !== undefined) {
      yield item;
      continue;
    }
    const node = tree.nodeOver(start, end)!;
    const mid = tree.mid(node);
    const left = ranges.intersects(start, mid);
    const right = ranges.intersects(mid, ext);
    yield { type: "parent", node, isRoot, left, right };
    stack.push([mid, end, false], [start, mid, false]);
  }
}

/** Stored pairs and chunk groups in pre-order: the unit the store and outboard work in. */
export function walkGroups(
  tree: BaoTree,
  ranges: ChunkRanges,
): Generator<ParentItem | GroupItem> {
  return walk(tree, ranges, [0, tree.chunks, true], (start, end, ext, isRoot) => {
    if (end - start > tree.groupChunks) return undefined;
    const full = end - start === 1 || ranges.covers(start, ext);
    return { type: "group", start, end, isRoot, full } satisfies GroupItem;
  });
}

/** The wire items inside a partially queried group: unstored pairs and leaves, in pre-order. */
export function walkInGroup(
  tree: BaoTree,
  ranges: ChunkRanges,
  group: GroupItem,
): Generator<ParentItem | LeafItem> {
  return walk(
    tree,
    ranges,
    [group.start, group.end, group.isRoot],
    (start, end, ext, isRoot) =>
      end - start === 1 || ranges.covers(start, ext)
        ? { type: "leaf", start, end, isRoot } satisfies LeafItem
        : undefined,
  );
}

/** Every item of the encoding in wire order, partial groups expanded. */
export function* walkWire(tree: BaoTree, ranges: ChunkRanges): Generator<ParentItem | LeafItem> {
  for (const item of walkGroups(tree, ranges)) {
    if (item.type === "parent") yield item;
    else if (item.full) {
      yield { type: "leaf", start: item.start, end: item.end, isRoot: item.isRoot };
    } else yield* walkInGroup(tree, ranges, item);
  }
}

/** Bytes of the encoding of `ranges` (truncated) without the 8-byte size header. */
export function encodedLength(tree: BaoTree, ranges: ChunkRanges): number {
  let n = 0;
  for (const item of walkWire(tree, ranges)) {
    if (item.type === "parent") n += 64;
    else {
      const [a, b] = tree.byteRange(item.start, item.end);
      n += b - a;
    }
  }
  return n;
}
