/**
 * BLAKE3 over any subtree: the chaining value of the (left-full) subtree that starts at any chunk
 * index, parent CVs, and the root hash (BLAKE3 paper §2.5–2.6). Bao and bao-tree are built from
 * exactly these three operations (bao-tree `hash_subtree`, `parent_cv`).
 *
 * @module
 */

import { KERNEL_MAX_BYTES } from "./backend.ts";
import { CHUNK_LEN } from "./constants.ts";
import { asHash, type Hash } from "./hash.ts";
import { kernel } from "./kernel.ts";
import {
  chunkOutput,
  type Output,
  parentChainingValue,
  parentOutput,
  rootBytes,
} from "./portable.ts";

/** Chunks in `len` bytes; an empty input is still one (empty) chunk. */
export function chunkCount(len: number): number {
  return Math.max(1, Math.ceil(len / CHUNK_LEN));
}

/** log2 of the smallest power of two ≥ n (n ≥ 1). */
export function ceilLog2(n: number): number {
  let log = 0;
  while (2 ** log < n) log++;
  return log;
}

/** Chunks in the left child of a node over `chunks > 1` chunks: the largest power of two below. */
export function leftChunks(chunks: number): number {
  return 2 ** (ceilLog2(chunks) - 1);
}

/** The pending root compression of `data` (a chunk for ≤ 1024 bytes, else the top parent). */
function rootOutput(data: Uint8Array): Output {
  const chunks = chunkCount(data.length);
  if (chunks === 1) return chunkOutput(data, 0, data.length, 0);
  const mid = leftChunks(chunks);
  const split = mid * CHUNK_LEN;
  return parentOutput(
    subtreeCv(data.subarray(0, split), 0, false),
    subtreeCv(data.subarray(split), mid, false),
  );
}

/**
 * The chaining value of the subtree over `data` whose first chunk is `startChunk` (which must
 * be a multiple of the subtree's power-of-two size); with `isRoot` (and `startChunk = 0`), the
 * BLAKE3 hash of `data`. This is bao-tree's `hash_subtree`.
 */
export function subtreeCv(data: Uint8Array, startChunk: number, isRoot: boolean): Uint8Array {
  if (isRoot) return rootBytes(rootOutput(data));
  const chunks = chunkCount(data.length);
  if (data.length <= KERNEL_MAX_BYTES) {
    const out = new Uint8Array(32);
    kernel().subtreeCvs(data, startChunk, ceilLog2(chunks), out);
    return out;
  }
  const mid = leftChunks(chunks);
  const split = mid * CHUNK_LEN;
  return parentCv(
    subtreeCv(data.subarray(0, split), startChunk, false),
    subtreeCv(data.subarray(split), startChunk + mid, false),
    false,
  );
}

/** The chaining value of a parent node; with `isRoot`, the hash of the whole tree. */
export function parentCv(left: Uint8Array, right: Uint8Array, isRoot: boolean): Uint8Array {
  return isRoot ? rootBytes(parentOutput(left, right)) : parentChainingValue(left, right);
}

/** The BLAKE3 hash of `data`. */
export function hash(data: Uint8Array): Hash {
  return asHash(subtreeCv(data, 0, true));
}

/** `len` bytes of BLAKE3 extended output (XOF) of `data` (paper §2.6). */
export function hashXof(data: Uint8Array, len: number): Uint8Array {
  return rootBytes(rootOutput(data), len);
}
