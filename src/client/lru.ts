/**
 * A least-recently-used map bounded by total weight, for facts about immutable content that are
 * worth keeping but not without limit.
 *
 * @module
 */

export class Lru<K, V> {
  readonly #entries = new Map<K, V>();
  #weight = 0;

  /** `weigh` gives each value's share of `capacity` (1 each unless told otherwise). */
  constructor(readonly capacity: number, readonly weigh: (value: V) => number = () => 1) {}

  /** The value for `key`, which becomes the most recently used. */
  get(key: K): V | undefined {
    const value = this.#entries.get(key);
    if (value === undefined) return undefined;
    this.#entries.delete(key);
    this.#entries.set(key, value);
    return value;
  }

  /**
   * Keeps `value` as the most recently used, evicting the least recently used until the total
   * weight fits; a value heavier than the whole capacity is not kept.
   */
  set(key: K, value: V): void {
    this.delete(key);
    const weight = this.weigh(value);
    if (weight > this.capacity) return;
    this.#entries.set(key, value);
    this.#weight += weight;
    for (const [oldest, old] of this.#entries) {
      if (this.#weight <= this.capacity) break;
      this.#entries.delete(oldest);
      this.#weight -= this.weigh(old);
    }
  }

  delete(key: K): void {
    const value = this.#entries.get(key);
    if (value === undefined) return;
    this.#entries.delete(key);
    this.#weight -= this.weigh(value);
  }

  get size(): number {
    return this.#entries.size;
  }
}
