/**
 * Bao tree geometry with chunk groups (bao-tree `BaoTree`, `BlockSize`; brief §3).
 *
 * The tree is always BLAKE3's own tree over 1 KiB chunks; `k` only decides which parents are
 * stored: those above groups of `2^k` chunks (k = 0 is plain bao, k = 4 is iroh-blobs' 16 KiB).
 * A parent node is named by its first chunk and its level: its left child holds `2^level`
 * chunks. Everything here is arithmetic on the size; no hashing.
 *
 * @module
 */

import { CHUNK_LEN } from "../blake3/constants.ts";
import { ceilLog2, chunkCount } from "../blake3/tree.ts";
import { ChunkRanges } from "../ranges/chunk_ranges.ts";

/** A parent node: left child `[start, start + 2^level)`, right child from there to its end. */
export interface TreeNode {
  readonly start: number;
  readonly level: number;
}

/** A tree size, block size or offset that bao cannot represent. */
export class InvalidTreeError extends Error {
  override name = "InvalidTreeError";
}

/** iroh-blobs' chunk group log: 16 chunks = 16 KiB (`IROH_BLOCK_SIZE`). */
export const IROH_K = 4;
/** Largest chunk group log this implementation accepts (groups of 1 MiB). */
export const MAX_K = 10;

function popcount(n: number): number {
  let c = 0;
  while (n > 0) {
    c += n % 2;
    n = Math.floor(n / 2);
  }
  return c;
}

export class BaoTree {
  /** Chunks in the tree, at least 1 (the empty blob is one empty chunk). */
  readonly chunks: number;
  /** Chunks per group, `2^k`. */
  readonly groupChunks: number;
  /** Groups in the tree, at least 1. */
  readonly groups: number;

  constructor(readonly size: number, readonly k: number) {
    if (!Number.isSafeInteger(size) || size < 0) {
      throw new InvalidTreeError(`a blob size must be a non-negative safe integer, got ${size}`);
    }
    if (!Number.isInteger(k) || k < 0 || k > MAX_K) {
      throw new InvalidTreeError(`the chunk group log must be an integer in 0..${MAX_K}, got ${k}`);
    }
    this.chunks = chunkCount(size);
    this.groupChunks = 2 ** k;
    this.groups = Math.ceil(this.chunks / this.groupChunks);
  }

  /** Bytes per chunk group. */
  get groupBytes(): number {
    return CHUNK_LEN * this.groupChunks;
  }

  /** Bytes of a pre- or post-order outboard without header: one 64-byte pair per stored parent. */
  get outboardSize(): number {
    return 64 * (this.groups - 1);
  }

  /**
   * The chunks that encoding `ranges` reads (bao-tree `truncate_ranges`, brief §3): those inside
   * the blob, and the last one whenever the query reaches it or anything past the end, since
   * that is what proves the size. Knowing them lets a caller fetch exactly what a walk needs.
   */
  chunksRead(ranges: ChunkRanges): ChunkRanges {
    const truncated = ranges.truncate(this.size);
    const inside = truncated.intersection(ChunkRanges.range(0, this.chunks));
    return truncated.isOpen
      ? inside.union(ChunkRanges.range(this.chunks - 1, this.chunks))
      : inside;
  }

  /** The root parent, or `undefined` when the blob is a single chunk. */
  get root(): TreeNode | undefined {
    return this.chunks > 1 ? { start: 0, level: ceilLog2(this.chunks) - 1 } : undefined;
  }

  /** One past the last chunk of the subtree under `node`. */
  end(node: TreeNode): number {
    return Math.min(node.start + 2 * 2 ** node.level, this.chunks);
  }

  /** The chunk where the right child of `node` starts. */
  mid(node: TreeNode): number {
    return node.start + 2 ** node.level;
  }

  /** Whether `node` is on the tree's right edge, where queries reach past the end. */
  isRightEdge(node: TreeNode): boolean {
    return this.end(node) === this.chunks;
  }

  /** Whether `node`'s pair is stored in the outboard (it sits above the chunk groups). */
  isStored(node: TreeNode): boolean {
    return node.level >= this.k;
  }

  /** The parent over chunks `[start, end)`, or `undefined` for a single chunk. */
  nodeOver(start: number, end: number): TreeNode | undefined {
    return end - start > 1 ? { start, level: ceilLog2(end - start) - 1 } : undefined;
  }

  /** The byte range of chunks `[start, end)`, clipped to the blob. */
  byteRange(start: number, end: number): [number, number] {
    return [Math.min(start * CHUNK_LEN, this.size), Math.min(end * CHUNK_LEN, this.size)];
  }

  /** Groups strictly before chunk `start` (a multiple of the group size). */
  #groupsBefore(start: number): number {
    return start / this.groupChunks;
  }

  /**
   * Index of a stored parent in the pre-order outboard: its ancestors, plus every stored parent
   * of the complete subtrees to its left (a full subtree of g groups has g − 1 of them).
   */
  preOrderIndex(node: TreeNode): number {
    let depth = 0;
    let cur = this.root!;
    while (cur.start !== node.start || cur.level !== node.level) {
      const mid = this.mid(cur);
      cur = node.start < mid
        ? { start: cur.start, level: cur.level - 1 }
        : this.nodeOver(mid, this.end(cur))!;
      depth++;
    }
    const g = this.#groupsBefore(node.start);
    return depth + g - popcount(g);
  }

  /**
   * Index of a stored parent in the post-order outboard: the stored parents of the complete
   * subtrees to its left, then those below it. Offsets of a complete subtree never change as
   * data is appended, which is why a streaming writer can use this order.
   */
  postOrderIndex(node: TreeNode): number {
    const g = this.#groupsBefore(node.start);
    const below = Math.ceil((this.end(node) - node.start) / this.groupChunks) - 2;
    return g - popcount(g) + below;
  }

  /** Every stored parent in pre-order. */
  *storedNodes(): Generator<TreeNode> {
    const root = this.root;
    if (root === undefined || !this.isStored(root)) return;
    const stack: TreeNode[] = [root];
    while (stack.length > 0) {
      const node = stack.pop()!;
      yield node;
      const right = this.nodeOver(this.mid(node), this.end(node));
      if (right !== undefined && this.isStored(right)) stack.push(right);
      if (node.level - 1 >= this.k) stack.push({ start: node.start, level: node.level - 1 });
    }
  }
}
