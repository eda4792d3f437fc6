/**
 * The one operation that costs: turning input bytes into the chaining values of aligned subtrees.
 *
 * Everything else in BLAKE3 and Bao (parents, roots, outboards, verification) is a few
 * compressions per 16 KiB on top of this kernel, so a backend only has to provide this and the
 * rest of the library stays one portable implementation.
 *
 * @module
 */

/** Largest input one kernel call accepts: 1 MiB = 2^10 chunks. */
export const KERNEL_MAX_BYTES = 1 << 20;
/** Largest subtree (log2 of its chunk count) one kernel call reduces to a single CV. */
export const KERNEL_MAX_LOG = 10;

export interface Blake3Backend {
  readonly name: string;
  /**
   * Writes to `out` the non-root chaining value of each consecutive subtree of `2^log` chunks
   * in `data`, whose first chunk has index `startChunk`; the last subtree may be shorter and
   * end in a partial chunk (BLAKE3 paper §2.5: left-full tree). Returns how many CVs were
   * written: `max(1, ceil(data.length / (1024 << log)))`.
   *
   * Requires `data.length <= KERNEL_MAX_BYTES`, `log <= KERNEL_MAX_LOG` and
   * `out.length >= 32 · count`.
   */
  subtreeCvs(data: Uint8Array, startChunk: number, log: number, out: Uint8Array): number;
}

/** Number of CVs `subtreeCvs` writes for `len` bytes at subtree size `2^log` chunks. */
export function subtreeCount(len: number, log: number): number {
  const groupBytes = 1024 * 2 ** log;
  return Math.max(1, Math.ceil(len / groupBytes));
}
