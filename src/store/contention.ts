/**
 * Optimistic commits (read records, then commit checking their versions) that lose to another
 * writer are tried again. Tried again at once, many writers of one record (40 uploads pinning one
 * shared file) kept colliding in step until each ran out of attempts, and answered 500. A random
 * pause that grows with each failure spreads them apart; a commit that still cannot land is the
 * caller's to report (`BlobContentionError`, 503 with `Retry-After`).
 *
 * @module
 */

/** Attempts an optimistic commit gets before it gives up. */
export const ATTEMPTS = 20;

/** Waits before retry `n` (1, 2, …): a random pause of up to 2^n ms, at most 100 ms. */
export function pause(n: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(100, 2 ** n)));
}
