/**
 * Portable BLAKE3 chunk and parent hashing in TypeScript, and the portable kernel backend.
 *
 * Chunks follow BLAKE3 paper §2.4 (every block of chunk i uses counter i; CHUNK_START on the
 * first block, CHUNK_END on the last) and parents §2.5 (counter 0, block = left ‖ right, PARENT).
 *
 * @module
 */

import type { Blake3Backend } from "./backend.ts";
import { subtreeCount } from "./backend.ts";
import { compress } from "./compress.ts";
import { BLOCK_LEN, CHUNK_END, CHUNK_LEN, CHUNK_START, IV, PARENT, ROOT } from "./constants.ts";

const scratchBlock = new Uint8Array(BLOCK_LEN);
const scratchWords = new Uint32Array(scratchBlock.buffer);

/**
 * The inputs of a node's final compression (reference_impl.rs `Output`): kept unevaluated so that
 * the same node can give a non-root chaining value or, with ROOT, any amount of root output.
 */
export interface Output {
  readonly cv: Uint32Array;
  readonly block: Uint32Array;
  readonly blockLen: number;
  readonly counter: number;
  readonly flags: number;
}

/** Copies the block at `data[off..off+len)` (len ≤ 64) into a zero-padded word buffer. */
function loadBlock(data: Uint8Array, off: number, len: number, into: Uint32Array): void {
  const bytes = new Uint8Array(into.buffer, into.byteOffset, BLOCK_LEN);
  bytes.set(data.subarray(off, off + len));
  bytes.fill(0, len);
}

/**
 * Compresses all but the last block of the chunk `data[off..off+len)` (len ≤ 1024) with chunk
 * counter `counter`, and returns the last block's pending compression (paper §2.4).
 */
export function chunkOutput(data: Uint8Array, off: number, len: number, counter: number): Output {
  const cv = IV.slice();
  let flags = CHUNK_START;
  let pos = off;
  const end = off + len;
  while (end - pos > BLOCK_LEN) {
    loadBlock(data, pos, BLOCK_LEN, scratchWords);
    compress(cv, 0, scratchWords, 0, counter, BLOCK_LEN, flags, cv, 0);
    flags = 0;
    pos += BLOCK_LEN;
  }
  const block = new Uint32Array(16);
  loadBlock(data, pos, end - pos, block);
  return { cv, block, blockLen: end - pos, counter, flags: flags | CHUNK_END };
}

/** The pending compression of a parent node over two 32-byte child CVs (paper §2.5). */
export function parentOutput(left: Uint8Array, right: Uint8Array): Output {
  const bytes = new Uint8Array(BLOCK_LEN);
  bytes.set(left, 0);
  bytes.set(right, 32);
  return {
    cv: IV,
    block: new Uint32Array(bytes.buffer),
    blockLen: BLOCK_LEN,
    counter: 0,
    flags: PARENT,
  };
}

const parentBlock = new Uint8Array(BLOCK_LEN);
const parentWords = new Uint32Array(parentBlock.buffer);

/**
 * The non-root chaining value of a parent over two CVs, without building an `Output`: the
 * verifier and the stream hasher do one per 16 KiB group, so it is kept allocation-free but
 * for its result.
 */
export function parentChainingValue(left: Uint8Array, right: Uint8Array): Uint8Array {
  parentBlock.set(left, 0);
  parentBlock.set(right, 32);
  const out = new Uint32Array(8);
  compress(IV, 0, parentWords, 0, 0, BLOCK_LEN, PARENT, out, 0);
  return new Uint8Array(out.buffer);
}

/**
 * `len` bytes of root output (paper §2.6): the final compression redone with ROOT and output
 * block counters 0, 1, 2, …; the first 32 bytes are the hash.
 */
export function rootBytes(o: Output, len = 32): Uint8Array {
  const blocks = Math.ceil(len / BLOCK_LEN);
  const words = new Uint32Array(blocks * 16);
  for (let t = 0; t < blocks; t++) {
    compress(o.cv, 0, o.block, 0, t, o.blockLen, o.flags | ROOT, words, t * 16, 16);
  }
  return new Uint8Array(words.buffer, 0, len);
}

/**
 * Writes the non-root CV of chunk `data[off..off+len)` to `out[outOff..outOff+8)`. The hot loop
 * of the portable backend: no allocation, and full blocks are read in place when aligned.
 */
function chunkCvInto(
  data: Uint8Array,
  words: Uint32Array | null,
  off: number,
  len: number,
  counter: number,
  out: Uint32Array,
  outOff: number,
): void {
  out.set(IV, outOff);
  let flags = CHUNK_START;
  let pos = off;
  const end = off + len;
  while (true) {
    const blockLen = Math.min(BLOCK_LEN, end - pos);
    const last = end - pos <= BLOCK_LEN;
    const f = last ? flags | CHUNK_END : flags;
    if (words !== null && blockLen === BLOCK_LEN) {
      compress(out, outOff, words, pos >> 2, counter, BLOCK_LEN, f, out, outOff);
    } else {
      loadBlock(data, pos, blockLen, scratchWords);
      compress(out, outOff, scratchWords, 0, counter, blockLen, f, out, outOff);
    }
    if (last) return;
    flags = 0;
    pos += BLOCK_LEN;
  }
}

/**
 * Reduces `n` consecutive CVs (8 words each, starting at `cvs[0]`) pairwise, level by level, into
 * one: bottom-up pairing with the odd one carried up is exactly BLAKE3's left-full tree.
 */
function reduceInPlace(cvs: Uint32Array, base: number, n: number): void {
  while (n > 1) {
    const pairs = n >> 1;
    for (let i = 0; i < pairs; i++) {
      // The block of parent i is CVs 2i and 2i+1, contiguous: compress it in place.
      compress(IV, 0, cvs, base + 16 * i, 0, BLOCK_LEN, PARENT, cvs, base + 8 * i);
    }
    if (n & 1) cvs.copyWithin(base + 8 * pairs, base + 8 * (n - 1), base + 8 * n);
    n = pairs + (n & 1);
  }
}

/** The TypeScript backend: correct everywhere, used where WebAssembly SIMD is unavailable. */
export const portableBackend: Blake3Backend = {
  name: "portable",
  subtreeCvs(data, startChunk, log, out) {
    const count = subtreeCount(data.length, log);
    const groupChunks = 2 ** log;
    const chunks = Math.max(1, Math.ceil(data.length / CHUNK_LEN));
    const words = data.byteOffset % 4 === 0
      ? new Uint32Array(data.buffer, data.byteOffset, data.length >> 2)
      : null;
    const cvs = new Uint32Array(chunks * 8);
    for (let c = 0; c < chunks; c++) {
      const off = c * CHUNK_LEN;
      chunkCvInto(
        data,
        words,
        off,
        Math.min(CHUNK_LEN, data.length - off),
        startChunk + c,
        cvs,
        8 * c,
      );
    }
    const cvBytes = new Uint8Array(cvs.buffer);
    for (let g = 0; g < count; g++) {
      const first = g * groupChunks;
      reduceInPlace(cvs, 8 * first, Math.min(groupChunks, chunks - first));
      out.set(cvBytes.subarray(32 * first, 32 * first + 32), 32 * g);
    }
    return count;
  },
};
