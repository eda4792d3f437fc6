/**
 * Incremental BLAKE3 for streams, which can also report every parent node as it is formed.
 *
 * Input is cut into aligned subtrees of `2^groupLog` chunks whose CVs are merged on a stack the
 * moment a pair is complete (BLAKE3 paper §5.1.2). The merges therefore happen in post-order,
 * which is what lets Bao outboards be written while the data streams past. Memory is one 1 MiB
 * kernel slab plus one CV per tree level.
 *
 * @module
 */

import { KERNEL_MAX_BYTES, KERNEL_MAX_LOG } from "./backend.ts";
import { CHUNK_LEN, OUT_LEN } from "./constants.ts";
import { asHash, type Hash } from "./hash.ts";
import { kernel } from "./kernel.ts";
import { parentCv, subtreeCv } from "./tree.ts";

/** Called with the two child CVs of each parent, in post-order. */
export type ParentSink = (left: Uint8Array, right: Uint8Array) => void;

export interface HasherOptions {
  /** log2 of the chunks per leaf subtree whose parents are reported; 0..10, default 10. */
  groupLog?: number;
  /** Receives the parents above the leaf subtrees, in post-order. */
  onParent?: ParentSink;
}

export class Hasher {
  readonly #log: number;
  readonly #groupBytes: number;
  readonly #onParent: ParentSink | undefined;
  readonly #slab = new Uint8Array(KERNEL_MAX_BYTES);
  readonly #cvs: Uint8Array;
  #fill = 0;
  /** Chunks hashed so far (all before the slab). */
  #chunks = 0;
  /** Leaf subtrees pushed so far. */
  #pushed = 0;
  readonly #stack: Uint8Array[] = [];
  #finalized = false;

  constructor(options: HasherOptions = {}) {
    const log = options.groupLog ?? KERNEL_MAX_LOG;
    if (!Number.isInteger(log) || log < 0 || log > KERNEL_MAX_LOG) {
      throw new RangeError(`groupLog must be an integer in 0..${KERNEL_MAX_LOG}, got ${log}`);
    }
    this.#log = log;
    this.#groupBytes = CHUNK_LEN << log;
    this.#onParent = options.onParent;
    this.#cvs = new Uint8Array((KERNEL_MAX_BYTES / this.#groupBytes) * OUT_LEN);
  }

  /** Total bytes taken so far. */
  get length(): number {
    return this.#chunks * CHUNK_LEN + this.#fill;
  }

  update(data: Uint8Array): this {
    if (this.#finalized) throw new Error("Hasher.update after finalize");
    let off = 0;
    // Whole slabs straight from the caller's buffer when nothing is pending: no extra copy.
    // A slab is only hashed once more input is known to follow, so it never holds the root.
    while (this.#fill === 0 && data.length - off > KERNEL_MAX_BYTES) {
      this.#hashSlab(data.subarray(off, off + KERNEL_MAX_BYTES));
      off += KERNEL_MAX_BYTES;
    }
    while (off < data.length) {
      if (this.#fill === KERNEL_MAX_BYTES) {
        this.#hashSlab(this.#slab);
        this.#fill = 0;
      }
      const n = Math.min(data.length - off, KERNEL_MAX_BYTES - this.#fill);
      this.#slab.set(data.subarray(off, off + n), this.#fill);
      this.#fill += n;
      off += n;
    }
    return this;
  }

  /** The hash of everything taken; reports the remaining right-edge parents first. */
  finalize(): Hash {
    if (this.#finalized) throw new Error("Hasher.finalize called twice");
    this.#finalized = true;
    const rest = this.#slab.subarray(0, this.#fill);
    if (this.#pushed === 0 && rest.length <= this.#groupBytes) {
      return asHash(subtreeCv(rest, 0, true));
    }
    const n = kernel().subtreeCvs(rest, this.#chunks, this.#log, this.#cvs);
    for (let i = 0; i < n - 1; i++) this.#push(this.#cvs.slice(32 * i, 32 * i + 32));
    let cv: Uint8Array = this.#cvs.slice(32 * (n - 1), 32 * n);
    while (this.#stack.length > 0) {
      const left = this.#stack.pop()!;
      this.#onParent?.(left, cv);
      cv = parentCv(left, cv, this.#stack.length === 0);
    }
    return asHash(cv);
  }

  #hashSlab(slab: Uint8Array): void {
    const n = kernel().subtreeCvs(slab, this.#chunks, this.#log, this.#cvs);
    for (let i = 0; i < n; i++) this.#push(this.#cvs.slice(32 * i, 32 * i + 32));
    this.#chunks += KERNEL_MAX_BYTES / CHUNK_LEN;
  }

  /** Pushes a complete leaf subtree and merges every pair it completes (never the root). */
  #push(cv: Uint8Array): void {
    let total = ++this.#pushed;
    while ((total & 1) === 0) {
      const left = this.#stack.pop()!;
      this.#onParent?.(left, cv);
      cv = parentCv(left, cv, false);
      total /= 2;
    }
    this.#stack.push(cv);
  }
}
