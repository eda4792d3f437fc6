/**
 * Payloads are blobs of the gateway's blob store (`src/store/blob_store.ts`): this adapts it to
 * what the entry store needs. Sizes are read for a whole batch of entries with `getMany` on the
 * blob store's metadata keys (`src/store/layout.ts`), a tenth of the round trips of one `stat`
 * per entry, which matters at ingestion rates where KV round trips are the budget.
 *
 * @module
 */

import type { Hash } from "../../blake3/hash.ts";
import type { BlobStore } from "../../store/blob_store.ts";
import { type BlobMeta, keys } from "../../store/layout.ts";

/** What the entry store needs of the payload store. */
export interface PayloadStore {
  /** The size of each stored blob among `hashes`, `undefined` where there is none. */
  sizes(hashes: readonly Hash[]): Promise<(number | undefined)[]>;
  pin(hash: Hash, holder: string): Promise<boolean>;
  unpin(hash: Hash, holder: string): Promise<boolean>;
}

/** Deno KV's `getMany` reads at most 10 keys. */
const GET_MANY = 10;

export function blobPayloads(blobs: BlobStore): PayloadStore {
  return {
    async sizes(hashes) {
      const chunks: Hash[][] = [];
      for (let i = 0; i < hashes.length; i += GET_MANY) chunks.push(hashes.slice(i, i + GET_MANY));
      const read = await Promise.all(
        chunks.map((c) => blobs.kv.getMany<BlobMeta[]>(c.map((h) => keys.blob(h)))),
      );
      return read.flat().map((e) => e.value?.size);
    },
    pin: (hash, holder) => blobs.pin(hash, holder),
    unpin: (hash, holder) => blobs.unpin(hash, holder),
  };
}
