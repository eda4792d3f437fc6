/**
 * The streaming verifier: takes an encoding in slices of any size (one byte at a time works) and
 * hands out only data that has been checked against the root hash (bao spec "Decoder
 * security"; bao-tree `DecodeResponseIter`).
 *
 * Verification follows the encoder's walk with a stack of expected chaining values: each pair is
 * checked against the CV its parent promised, then promises CVs for the subtrees that follow;
 * each leaf is hashed at its chunk offset. The size header is a claim until the last chunk
 * verifies under the tree shape it implies (`sizeVerified`).
 *
 * @module
 */

import type { Hash } from "../blake3/hash.ts";
import { concatBytes } from "../bytes.ts";
import { bytesEqual } from "../blake3/hash.ts";
import { parentCv, subtreeCv } from "../blake3/tree.ts";
import type { ChunkRanges } from "../ranges/chunk_ranges.ts";
import { BaoError, HashMismatchError, TruncatedError, UnsupportedSizeError } from "./errors.ts";
import { BaoTree, IROH_K, type TreeNode } from "./tree.ts";
import { type LeafItem, type ParentItem, walkWire } from "./walk.ts";

/** Verified bytes of the blob starting at `offset`. */
export interface VerifiedData {
  readonly offset: number;
  readonly data: Uint8Array;
}

const EMPTY = new Uint8Array(0);

export interface BaoDecoderOptions {
  /**
   * Told of every pair once it has verified, with its node: a store that keeps what it receives
   * (a partial blob) needs the pairs of the outboard as much as the data.
   */
  onPair?: (node: TreeNode, pair: Uint8Array) => void;
}

export class BaoDecoder {
  readonly #root: Hash;
  readonly #ranges: ChunkRanges;
  readonly #k: number;
  readonly #header = new Uint8Array(8);
  #tree: BaoTree | undefined;
  #items: Iterator<ParentItem | LeafItem> | undefined;
  #item: ParentItem | LeafItem | undefined;
  #need = 0;
  #buf = EMPTY;
  #fill = 0;
  #expected: Uint8Array[] = [];
  /** Bytes of the encoding consumed so far, header included. */
  #consumed = 0;
  #done = false;
  #failed: BaoError | undefined;
  #sizeVerified = false;
  #remainder: Uint8Array[] = [];
  readonly #onPair: BaoDecoderOptions["onPair"];

  /**
   * Verifies the encoding of `ranges` of the blob `root` at chunk group log `k` (the encoder's
   * k: the layout depends on it). Empty ranges mean an empty encoding, without even a header,
   * as iroh-blobs sends nothing for them.
   */
  constructor(
    root: Hash,
    ranges: ChunkRanges,
    k: number = IROH_K,
    options: BaoDecoderOptions = {},
  ) {
    this.#root = root;
    this.#ranges = ranges;
    this.#k = k;
    this.#onPair = options.onPair;
    new BaoTree(0, k); // validates k before any byte arrives
    if (ranges.isEmpty) this.#done = true;
    else this.#need = 8;
  }

  /** The size the header claims, once it has arrived. */
  get size(): number | undefined {
    return this.#tree?.size;
  }

  /** The tree the header implies, once it has arrived. */
  get tree(): BaoTree | undefined {
    return this.#tree;
  }

  /** Whether the last chunk has verified, which proves `size`. */
  get sizeVerified(): boolean {
    return this.#sizeVerified;
  }

  /** Whether every item of the encoding has arrived and verified. */
  get done(): boolean {
    return this.#done;
  }

  /** Bytes of the encoding consumed, header included. */
  get consumed(): number {
    return this.#consumed;
  }

  /**
   * Feeds the next bytes; returns the data they completed, verified. Throws a `BaoError` for the
   * first item that fails, and on every later call; if the same call had already verified some
   * data, that data is returned and the error comes with the next call or `finish`, so nothing
   * good is lost and nothing bad is handed out. Bytes past the end of the encoding are kept for
   * `takeRemainder` (the next blob of an iroh-blobs response).
   */
  push(bytes: Uint8Array): VerifiedData[] {
    if (this.#failed) throw this.#failed;
    const out: VerifiedData[] = [];
    let off = 0;
    // A zero-length leaf (the empty blob) completes without input.
    while (!this.#done && (off < bytes.length || this.#need === 0)) {
      const n = Math.min(this.#need - this.#fill, bytes.length - off);
      let item: Uint8Array;
      if (this.#fill === 0 && n === this.#need) {
        item = bytes.subarray(off, off + n);
      } else {
        if (this.#fill === 0) this.#buf = this.#item ? new Uint8Array(this.#need) : this.#header;
        this.#buf.set(bytes.subarray(off, off + n), this.#fill);
        this.#fill += n;
        if (this.#fill < this.#need) {
          off += n;
          break;
        }
        item = this.#buf;
      }
      off += n;
      this.#fill = 0;
      try {
        this.#accept(item, out);
      } catch (e) {
        if (!(e instanceof BaoError)) throw e;
        this.#failed = e;
        // Data verified earlier in this call is still good: hand it out, fail on the next call.
        if (out.length > 0) return out;
        throw e;
      }
      this.#consumed += item.length;
    }
    if (off < bytes.length) this.#remainder.push(bytes.slice(off));
    return out;
  }

  /** Throws `TruncatedError` unless the whole encoding has arrived (and verified). */
  finish(): void {
    if (this.#failed) throw this.#failed;
    if (!this.#done) {
      throw new TruncatedError(this.#consumed + this.#fill, this.#consumed + this.#need);
    }
  }

  /** The bytes received past the end of this encoding, handed over once. */
  takeRemainder(): Uint8Array {
    const parts = this.#remainder;
    this.#remainder = [];
    return parts.length <= 1 ? parts[0] ?? EMPTY : concatBytes(parts);
  }

  #accept(bytes: Uint8Array, out: VerifiedData[]): void {
    const item = this.#item;
    if (item === undefined) {
      const size = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
      if (size > BigInt(Number.MAX_SAFE_INTEGER)) throw new UnsupportedSizeError(size);
      const tree = new BaoTree(Number(size), this.#k);
      this.#tree = tree;
      this.#items = walkWire(tree, this.#ranges.truncate(tree.size));
      this.#expected = [this.#root];
    } else if (item.type === "parent") {
      const left = bytes.subarray(0, 32), right = bytes.subarray(32, 64);
      if (!bytesEqual(parentCv(left, right, item.isRoot), this.#expected.pop()!)) {
        throw new HashMismatchError("parent", item.node.start, this.#consumed);
      }
      if (item.right) this.#expected.push(right.slice());
      if (item.left) this.#expected.push(left.slice());
      this.#onPair?.(item.node, bytes.slice());
    } else {
      if (!bytesEqual(subtreeCv(bytes, item.start, item.isRoot), this.#expected.pop()!)) {
        throw new HashMismatchError("leaf", item.start, this.#consumed);
      }
      const tree = this.#tree!;
      if (item.end === tree.chunks) this.#sizeVerified = true;
      out.push({ offset: tree.byteRange(item.start, item.end)[0], data: bytes });
    }
    this.#next();
  }

  #next(): void {
    const r = this.#items!.next();
    if (r.done) {
      this.#item = undefined;
      this.#done = true;
      return;
    }
    const item = r.value;
    this.#item = item;
    if (item.type === "parent") this.#need = 64;
    else {
      const [a, b] = this.#tree!.byteRange(item.start, item.end);
      this.#need = b - a;
    }
  }
}

/**
 * A transform from encoded bytes to verified data; the stream errors with the decoder's
 * `BaoError` at the first bad item, or with `TruncatedError` if the input ends early.
 */
export function verifyStream(
  root: Hash,
  ranges: ChunkRanges,
  k: number = IROH_K,
): TransformStream<Uint8Array, VerifiedData> {
  const decoder = new BaoDecoder(root, ranges, k);
  return new TransformStream({
    transform(chunk, controller) {
      for (const v of decoder.push(chunk)) controller.enqueue(v);
    },
    flush() {
      decoder.finish();
    },
  });
}
