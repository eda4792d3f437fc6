/**
 * Outboards: the stored parent pairs of a Bao tree, kept apart from the data (bao spec
 * "Outboard encoding"; bao-tree `PreOrderOutboard`, `PostOrderOutboard`).
 *
 * Pre-order is what iroh-blobs stores and sends; post-order is what a stream produces, since a
 * parent is known only after both children, and its offsets never move as data is appended.
 * Both are `64 · (groups − 1)` bytes with no size header.
 *
 * @module
 */

import { bytesEqual, type Hash } from "../blake3/hash.ts";
import { Hasher } from "../blake3/hasher.ts";
import { parentCv } from "../blake3/tree.ts";
import { HashMismatchError } from "./errors.ts";
import { BaoTree, InvalidTreeError, IROH_K, type TreeNode } from "./tree.ts";

/** Read access to a tree's stored pairs, wherever they live (memory, a file, Deno KV). */
export interface Outboard {
  readonly tree: BaoTree;
  readonly root: Hash;
  /** The 64-byte pair (left CV ‖ right CV) of a stored parent. */
  loadPair(node: TreeNode): Uint8Array | Promise<Uint8Array>;
}

export type OutboardOrder = "pre" | "post";

/** An outboard held in one buffer, in either order. */
export class MemOutboard implements Outboard {
  constructor(
    readonly root: Hash,
    readonly tree: BaoTree,
    readonly order: OutboardOrder,
    readonly pairs: Uint8Array,
  ) {
    if (pairs.length !== tree.outboardSize) {
      throw new InvalidTreeError(
        `an outboard of a ${tree.size}-byte blob at k=${tree.k} is ${tree.outboardSize} bytes, got ${pairs.length}`,
      );
    }
  }

  loadPair(node: TreeNode): Uint8Array {
    const i = this.order === "pre" ? this.tree.preOrderIndex(node) : this.tree.postOrderIndex(node);
    return this.pairs.subarray(64 * i, 64 * i + 64);
  }

  /** The same outboard in `order` (a copy when the order differs). */
  inOrder(order: OutboardOrder): MemOutboard {
    if (order === this.order) return this;
    const out = new Uint8Array(this.pairs.length);
    const tree = this.tree;
    for (const node of tree.storedNodes()) {
      const from = order === "pre" ? tree.postOrderIndex(node) : tree.preOrderIndex(node);
      const to = order === "pre" ? tree.preOrderIndex(node) : tree.postOrderIndex(node);
      out.set(this.pairs.subarray(64 * from, 64 * from + 64), 64 * to);
    }
    return new MemOutboard(this.root, tree, order, out);
  }
}

/** A byte buffer that doubles as it fills; keeps the outboard in one allocation. */
class GrowableBytes {
  #buf = new Uint8Array(4096);
  #len = 0;

  append(bytes: Uint8Array): void {
    if (this.#len + bytes.length > this.#buf.length) {
      const next = new Uint8Array(Math.max(this.#buf.length * 2, this.#len + bytes.length));
      next.set(this.#buf.subarray(0, this.#len));
      this.#buf = next;
    }
    this.#buf.set(bytes, this.#len);
    this.#len += bytes.length;
  }

  bytes(): Uint8Array {
    return this.#buf.subarray(0, this.#len);
  }
}

/**
 * Builds an outboard from data arriving in pieces of any size. Memory: the outboard itself, a
 * 1 MiB hashing slab and one CV per tree level.
 */
export class OutboardBuilder {
  readonly #pairs = new GrowableBytes();
  readonly #hasher: Hasher;

  /**
   * `onPair`, when given, also receives each pair as it is formed, in post-order: a store can
   * persist the outboard while the data streams.
   */
  constructor(readonly k: number = IROH_K, onPair?: (pair: Uint8Array) => void) {
    new BaoTree(0, k); // validates k
    this.#hasher = new Hasher({
      groupLog: k,
      onParent: (left, right) => {
        const pair = new Uint8Array(64);
        pair.set(left, 0);
        pair.set(right, 32);
        this.#pairs.append(pair);
        onPair?.(pair);
      },
    });
  }

  update(data: Uint8Array): this {
    this.#hasher.update(data);
    return this;
  }

  /** The root hash and the post-order outboard. */
  finalize(): MemOutboard {
    const size = this.#hasher.length;
    const root = this.#hasher.finalize();
    return new MemOutboard(root, new BaoTree(size, this.k), "post", this.#pairs.bytes());
  }
}

/** The outboard of `data` (whole in memory), in `order`. */
export function outboardOf(
  data: Uint8Array,
  k = IROH_K,
  order: OutboardOrder = "pre",
): MemOutboard {
  return new OutboardBuilder(k).update(data).finalize().inOrder(order);
}

/**
 * The pre-order outboard (what iroh-blobs stores and sends), read from any outboard and every
 * pair checked against the root before it is yielded: a client verifying plain range responses
 * with it gets nothing the store corrupted. Throws `HashMismatchError` at the first bad pair.
 */
export async function* verifiedPreOrder(outboard: Outboard): AsyncGenerator<Uint8Array> {
  const tree = outboard.tree;
  const key = (node: TreeNode) => `${node.start}/${node.level}`;
  // The CV each pending node must hash to, set by its parent (or the root hash).
  const expected = new Map<string, Uint8Array>();
  for (const node of tree.storedNodes()) {
    const isRoot = node.start === 0 && node.level === tree.root!.level;
    const want = isRoot ? outboard.root : expected.get(key(node))!;
    expected.delete(key(node));
    const pair = await outboard.loadPair(node);
    const left = pair.subarray(0, 32), right = pair.subarray(32, 64);
    if (pair.length !== 64 || !bytesEqual(parentCv(left, right, isRoot), want)) {
      throw new HashMismatchError("parent", node.start);
    }
    const rightNode = tree.nodeOver(tree.mid(node), tree.end(node));
    const leftNode = { start: node.start, level: node.level - 1 };
    if (rightNode !== undefined && tree.isStored(rightNode)) expected.set(key(rightNode), right);
    if (leftNode.level >= 0 && tree.isStored(leftNode)) expected.set(key(leftNode), left);
    yield pair;
  }
}
