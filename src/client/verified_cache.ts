/**
 * What the client has already proven about content, kept so that the next request for the same
 * hash skips the proof. Everything here is a fact of the hash alone (content is immutable), so
 * it holds whichever gateway served it, and only verified values are ever stored: a failed or
 * aborted proof leaves nothing behind.
 *
 * @module
 */

import type { MemOutboard } from "../bao/outboard.ts";
import type { Collection } from "../collection/collection.ts";
import { Lru } from "./lru.ts";

export interface VerifiedCacheLimits {
  /** Proven sizes kept (a few bytes each). */
  sizes?: number;
  /** Bytes of verified outboards kept (64 bytes per 16 KiB of blob: 4 MiB per GiB). */
  outboardBytes?: number;
  /** Verified collections kept. */
  collections?: number;
}

export class VerifiedCache {
  /** Blob size by hex hash, proven by the last chunk. */
  readonly sizes: Lru<string, number>;
  /** Pre-order outboards by hex hash, every pair verified against the root and the proven size. */
  readonly outboards: Lru<string, MemOutboard>;
  /** Collections by hex hash, from a verified hash seq and meta blob. */
  readonly collections: Lru<string, Collection>;

  constructor(limits: VerifiedCacheLimits = {}) {
    this.sizes = new Lru(limits.sizes ?? 4096);
    // An empty outboard still takes a slot's worth, so the byte cap also bounds the count.
    this.outboards = new Lru(limits.outboardBytes ?? 64 << 20, (o) => o.pairs.length + 64);
    this.collections = new Lru(limits.collections ?? 32);
  }
}

/** The cache shared by calls that bring none of their own. */
export const defaultCache: VerifiedCache = new VerifiedCache();
