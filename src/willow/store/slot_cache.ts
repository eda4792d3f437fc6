/**
 * What this process knows of the directory slots (the proper prefixes of written paths) of the
 * subspaces it writes to, valid exactly while the subspace's version key is the one its own last
 * commit left. Every commit that changes a subspace bumps that key, so a matching versionstamp
 * proves that nobody else (another process sharing the KV, or another path of this one) wrote
 * since: the cached slots are then current and need no reading. Entries share their directories
 * (`posts/17/...`), so a batch reads little more than each entry's own slot.
 *
 * @module
 */

import type { SlotAt } from "./slot_plan.ts";

interface Known {
  readonly versionstamp: string | null;
  readonly slots: Map<string, SlotAt>;
}

export class SlotCache {
  readonly #known = new Map<string, Known>();
  readonly #limit: number;
  #size = 0;

  /** `limit`: slots kept over all subspaces before everything is forgotten. */
  constructor(limit = 50_000) {
    this.#limit = limit;
  }

  /** What is known of subspace `q` as of some version (compare the versionstamp before use). */
  get(q: string): Known | undefined {
    return this.#known.get(q);
  }

  /** Records the slots of subspace `q` as of `versionstamp`, replacing what was known. */
  set(q: string, versionstamp: string | null, slots: Map<string, SlotAt>): void {
    this.forget(q);
    if (this.#size + slots.size > this.#limit) {
      this.#known.clear();
      this.#size = 0;
    }
    this.#known.set(q, { versionstamp, slots });
    this.#size += slots.size;
  }

  forget(q: string): void {
    this.#size -= this.#known.get(q)?.slots.size ?? 0;
    this.#known.delete(q);
  }
}
