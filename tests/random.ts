/** Deterministic randomness for tests: failures must reproduce from the seed in the message. */

/** mulberry32: a small, fast PRNG with a 32-bit state; plenty for test-case generation. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `len` pseudo-random bytes. */
export function randomBytes(len: number, rand: () => number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(len);
  for (let i = 0; i < len; i += 4) {
    const v = (rand() * 4294967296) >>> 0;
    out[i] = v;
    if (i + 1 < len) out[i + 1] = v >>> 8;
    if (i + 2 < len) out[i + 2] = v >>> 16;
    if (i + 3 < len) out[i + 3] = v >>> 24;
  }
  return out;
}

/** An integer in [lo, hi]. */
export function randomInt(rand: () => number, lo: number, hi: number): number {
  return lo + Math.floor(rand() * (hi - lo + 1));
}
