/**
 * Pairs already verified against a root, remembered in memory. A pair that once hashed to what
 * its parent promised, on a chain up to the root hash, is the tree's true pair for good: a later
 * walk can take it from here instead of reading and hashing it again. Memory is trusted; storage
 * is not, and is still checked for every pair not remembered and every group of data.
 *
 * This is what makes small random ranges of a large blob cheap: each otherwise re-verifies the
 * whole path from the root (one compression per level).
 *
 * @module
 */

import { toHex } from "../blake3/hash.ts";
import type { TreeNode } from "./tree.ts";

interface Remembered {
  /** The 64-byte pair. */
  readonly pair: Uint8Array;
  /** The CV it hashes to (what its parent promised). */
  readonly cv: Uint8Array;
}

/**
 * Only pairs over at least 2^10 chunks (1 MiB) are remembered: those are the ones every read of
 * a blob passes through (the top of each path), and they are few (one per MiB of blob), so a
 * full download does not flood the cache with pairs no other read will meet.
 */
export const MIN_REMEMBERED_LEVEL = 10;

export class VerifiedPairs {
  readonly #pairs = new Map<string, Remembered>();

  /** At most `capacity` pairs, least recently used forgotten first. */
  constructor(readonly capacity = 16_384) {}

  #key(root: Uint8Array, node: TreeNode): string {
    return `${toHex(root)}/${node.start}/${node.level}`;
  }

  /** The pair of `node` in the tree of `root`, if it was verified before. */
  get(root: Uint8Array, node: TreeNode): Remembered | undefined {
    if (node.level < MIN_REMEMBERED_LEVEL) return undefined;
    const key = this.#key(root, node);
    const hit = this.#pairs.get(key);
    if (hit !== undefined) {
      this.#pairs.delete(key);
      this.#pairs.set(key, hit);
    }
    return hit;
  }

  /** Remembers that `pair` of `node` hashed to `cv`, which its verified parent promised. */
  set(root: Uint8Array, node: TreeNode, pair: Uint8Array, cv: Uint8Array): void {
    if (node.level < MIN_REMEMBERED_LEVEL) return;
    const key = this.#key(root, node);
    this.#pairs.delete(key);
    if (this.#pairs.size >= this.capacity) this.#pairs.delete(this.#pairs.keys().next().value!);
    // One buffer per entry: pair, then CV.
    const both = new Uint8Array(96);
    both.set(pair);
    both.set(cv, 64);
    this.#pairs.set(key, { pair: both.subarray(0, 64), cv: both.subarray(64) });
  }
}
