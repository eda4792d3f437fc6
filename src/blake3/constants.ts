/**
 * BLAKE3 constants (BLAKE3 paper §2.1–2.4; reference_impl.rs).
 *
 * Only hash mode is implemented: the gateway addresses content by plain BLAKE3, and keyed or
 * derive-key modes would be dead weight on every hot path.
 *
 * @module
 */

/** Bytes in one compression block. */
export const BLOCK_LEN = 64;
/** Bytes in one chunk: the leaves of the BLAKE3 tree, and Bao's unit of verification. */
export const CHUNK_LEN = 1024;
/** Bytes in a chaining value and in the default hash output. */
export const OUT_LEN = 32;

/** The initial chaining value: SHA-256's IV (paper §2.2). */
export const IV: Readonly<Uint32Array> = Uint32Array.of(
  0x6a09e667,
  0xbb67ae85,
  0x3c6ef372,
  0xa54ff53a,
  0x510e527f,
  0x9b05688c,
  0x1f83d9ab,
  0x5be0cd19,
);

/** Domain flags (paper Table 3). */
export const CHUNK_START = 1;
export const CHUNK_END = 2;
export const PARENT = 4;
export const ROOT = 8;

/** Message word permutation applied between rounds (paper §2.2). */
export const MSG_PERMUTATION: readonly number[] = [
  2,
  6,
  3,
  10,
  7,
  0,
  4,
  13,
  1,
  11,
  12,
  5,
  9,
  14,
  15,
  8,
];

/**
 * For each of the 7 rounds, which original message word feeds each of the 16 G inputs. Computing
 * the schedule once lets every implementation index the block directly instead of permuting it.
 */
export const MSG_SCHEDULE: readonly (readonly number[])[] = (() => {
  const rounds: number[][] = [];
  let order = Array.from({ length: 16 }, (_, i) => i);
  for (let r = 0; r < 7; r++) {
    rounds.push(order);
    order = MSG_PERMUTATION.map((p) => order[p]);
  }
  return rounds;
})();
