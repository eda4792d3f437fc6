/**
 * The portable BLAKE3 compression function (BLAKE3 paper §2.2).
 *
 * Written over sixteen local variables rather than a state array so that V8 keeps the state in
 * registers; this is the fallback where WebAssembly SIMD is missing and the path used for the
 * handful of parent and root compressions that surround each SIMD batch.
 *
 * @module
 */

import { IV, MSG_SCHEDULE } from "./constants.ts";

const SCHEDULE = Uint8Array.from(MSG_SCHEDULE.flat());
const TWO_32 = 0x1_0000_0000;

/**
 * Compresses one 64-byte block given as 16 little-endian words at `m[mOff..]`.
 *
 * `counter` is a chunk index (or the output block index when squeezing the root) up to 2^53.
 * Writes 8 words (a chaining value) or, with `outWords = 16`, the full 64-byte extended output
 * of §2.6 to `out[outOff..]`. `out` may alias `cv` or `m`: all inputs are read first.
 */
export function compress(
  cv: Uint32Array,
  cvOff: number,
  m: Uint32Array,
  mOff: number,
  counter: number,
  blockLen: number,
  flags: number,
  out: Uint32Array,
  outOff: number,
  outWords: 8 | 16 = 8,
): void {
  const c0 = cv[cvOff], c1 = cv[cvOff + 1], c2 = cv[cvOff + 2], c3 = cv[cvOff + 3];
  const c4 = cv[cvOff + 4], c5 = cv[cvOff + 5], c6 = cv[cvOff + 6], c7 = cv[cvOff + 7];
  let s0 = c0, s1 = c1, s2 = c2, s3 = c3, s4 = c4, s5 = c5, s6 = c6, s7 = c7;
  let s8 = IV[0], s9 = IV[1], s10 = IV[2], s11 = IV[3];
  let s12 = counter >>> 0, s13 = (counter / TWO_32) >>> 0, s14 = blockLen, s15 = flags;
  for (let r = 0; r < 7; r++) {
    const o = r * 16;
    // Columns.
    s0 = (s0 + s4 + m[mOff + SCHEDULE[o]]) | 0;
    s12 ^= s0;
    s12 = (s12 >>> 16) | (s12 << 16);
    s8 = (s8 + s12) | 0;
    s4 ^= s8;
    s4 = (s4 >>> 12) | (s4 << 20);
    s0 = (s0 + s4 + m[mOff + SCHEDULE[o + 1]]) | 0;
    s12 ^= s0;
    s12 = (s12 >>> 8) | (s12 << 24);
    s8 = (s8 + s12) | 0;
    s4 ^= s8;
    s4 = (s4 >>> 7) | (s4 << 25);

    s1 = (s1 + s5 + m[mOff + SCHEDULE[o + 2]]) | 0;
    s13 ^= s1;
    s13 = (s13 >>> 16) | (s13 << 16);
    s9 = (s9 + s13) | 0;
    s5 ^= s9;
    s5 = (s5 >>> 12) | (s5 << 20);
    s1 = (s1 + s5 + m[mOff + SCHEDULE[o + 3]]) | 0;
    s13 ^= s1;
    s13 = (s13 >>> 8) | (s13 << 24);
    s9 = (s9 + s13) | 0;
    s5 ^= s9;
    s5 = (s5 >>> 7) | (s5 << 25);

    s2 = (s2 + s6 + m[mOff + SCHEDULE[o + 4]]) | 0;
    s14 ^= s2;
    s14 = (s14 >>> 16) | (s14 << 16);
    s10 = (s10 + s14) | 0;
    s6 ^= s10;
    s6 = (s6 >>> 12) | (s6 << 20);
    s2 = (s2 + s6 + m[mOff + SCHEDULE[o + 5]]) | 0;
    s14 ^= s2;
    s14 = (s14 >>> 8) | (s14 << 24);
    s10 = (s10 + s14) | 0;
    s6 ^= s10;
    s6 = (s6 >>> 7) | (s6 << 25);

    s3 = (s3 + s7 + m[mOff + SCHEDULE[o + 6]]) | 0;
    s15 ^= s3;
    s15 = (s15 >>> 16) | (s15 << 16);
    s11 = (s11 + s15) | 0;
    s7 ^= s11;
    s7 = (s7 >>> 12) | (s7 << 20);
    s3 = (s3 + s7 + m[mOff + SCHEDULE[o + 7]]) | 0;
    s15 ^= s3;
    s15 = (s15 >>> 8) | (s15 << 24);
    s11 = (s11 + s15) | 0;
    s7 ^= s11;
    s7 = (s7 >>> 7) | (s7 << 25);

    // Diagonals.
    s0 = (s0 + s5 + m[mOff + SCHEDULE[o + 8]]) | 0;
    s15 ^= s0;
    s15 = (s15 >>> 16) | (s15 << 16);
    s10 = (s10 + s15) | 0;
    s5 ^= s10;
    s5 = (s5 >>> 12) | (s5 << 20);
    s0 = (s0 + s5 + m[mOff + SCHEDULE[o + 9]]) | 0;
    s15 ^= s0;
    s15 = (s15 >>> 8) | (s15 << 24);
    s10 = (s10 + s15) | 0;
    s5 ^= s10;
    s5 = (s5 >>> 7) | (s5 << 25);

    s1 = (s1 + s6 + m[mOff + SCHEDULE[o + 10]]) | 0;
    s12 ^= s1;
    s12 = (s12 >>> 16) | (s12 << 16);
    s11 = (s11 + s12) | 0;
    s6 ^= s11;
    s6 = (s6 >>> 12) | (s6 << 20);
    s1 = (s1 + s6 + m[mOff + SCHEDULE[o + 11]]) | 0;
    s12 ^= s1;
    s12 = (s12 >>> 8) | (s12 << 24);
    s11 = (s11 + s12) | 0;
    s6 ^= s11;
    s6 = (s6 >>> 7) | (s6 << 25);

    s2 = (s2 + s7 + m[mOff + SCHEDULE[o + 12]]) | 0;
    s13 ^= s2;
    s13 = (s13 >>> 16) | (s13 << 16);
    s8 = (s8 + s13) | 0;
    s7 ^= s8;
    s7 = (s7 >>> 12) | (s7 << 20);
    s2 = (s2 + s7 + m[mOff + SCHEDULE[o + 13]]) | 0;
    s13 ^= s2;
    s13 = (s13 >>> 8) | (s13 << 24);
    s8 = (s8 + s13) | 0;
    s7 ^= s8;
    s7 = (s7 >>> 7) | (s7 << 25);

    s3 = (s3 + s4 + m[mOff + SCHEDULE[o + 14]]) | 0;
    s14 ^= s3;
    s14 = (s14 >>> 16) | (s14 << 16);
    s9 = (s9 + s14) | 0;
    s4 ^= s9;
    s4 = (s4 >>> 12) | (s4 << 20);
    s3 = (s3 + s4 + m[mOff + SCHEDULE[o + 15]]) | 0;
    s14 ^= s3;
    s14 = (s14 >>> 8) | (s14 << 24);
    s9 = (s9 + s14) | 0;
    s4 ^= s9;
    s4 = (s4 >>> 7) | (s4 << 25);
  }
  out[outOff] = s0 ^ s8;
  out[outOff + 1] = s1 ^ s9;
  out[outOff + 2] = s2 ^ s10;
  out[outOff + 3] = s3 ^ s11;
  out[outOff + 4] = s4 ^ s12;
  out[outOff + 5] = s5 ^ s13;
  out[outOff + 6] = s6 ^ s14;
  out[outOff + 7] = s7 ^ s15;
  if (outWords === 16) {
    out[outOff + 8] = s8 ^ c0;
    out[outOff + 9] = s9 ^ c1;
    out[outOff + 10] = s10 ^ c2;
    out[outOff + 11] = s11 ^ c3;
    out[outOff + 12] = s12 ^ c4;
    out[outOff + 13] = s13 ^ c5;
    out[outOff + 14] = s14 ^ c6;
    out[outOff + 15] = s15 ^ c7;
  }
}
