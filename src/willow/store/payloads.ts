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
import { getValues } from "../../store/get_values.ts";
import { type BlobMeta, keys } from "../../store/layout.ts";
import { keys as willowKeys } from "./layout.ts";

/** A payload as one entry names it: its digest, and the entry's id (`entryId`). */
export interface PayloadRef {
  readonly hash: Hash;
  readonly entry: Uint8Array;
}

/** What the entry store needs of the payload store. */
export interface PayloadStore {
  /**
   * The size of each stored blob among `refs`, `undefined` where there is none for that entry:
   * a restricted blob (`BlobMeta.restricted`, a payload of a namespace that is not public) exists
   * only for the entries that came with its bytes (`grantPayload`). Any other entry naming its
   * digest, in another namespace or in another area of the same one, must neither pin it nor
   * serve it: knowing a digest is not a read capability.
   */
  sizes(refs: readonly PayloadRef[]): Promise<(number | undefined)[]>;
  pin(hash: Hash, holder: string): Promise<boolean>;
  /**
   * Releases the pin that the entry `ref.entry` held under `holder`, and its grant: that entry
   * is not stored (any more), and an entry once pruned or found obsolete never comes back (what
   * made it so stays newer), so the grant would only be litter.
   */
  release(ref: PayloadRef, holder: string): Promise<void>;
  /**
   * Releases the pin under `holder` unless the entries `unless` changed (`BlobStore.unpin`):
   * for `EntryStore.settle`, which decides on records that a retry of the same entry rewrites.
   */
  unpinUnless(hash: Hash, holder: string, unless: readonly Deno.AtomicCheck[]): Promise<void>;
}

/**
 * Records that the entry with id `entry` came with the bytes of the restricted blob `hash`,
 * stored as `meta`: it may use them. The grant names the blob's data id, so it lapses if the
 * blob is collected (another copy, imported later, has another).
 */
export async function grantPayload(
  kv: Deno.Kv,
  hash: Hash,
  entry: Uint8Array,
  meta: BlobMeta,
): Promise<void> {
  await kv.set(willowKeys.payloadGrant(hash, entry), meta.dataId);
}

/** Withdraws `grantPayload` from an entry that is not stored after all. */
export async function revokePayload(kv: Deno.Kv, hash: Hash, entry: Uint8Array): Promise<void> {
  await kv.delete(willowKeys.payloadGrant(hash, entry));
}

export function blobPayloads(blobs: BlobStore): PayloadStore {
  return {
    async sizes(refs) {
      const reader = blobs.reader();
      const metas = await getValues<BlobMeta>(reader, refs.map((r) => keys.blob(r.hash)));
      const restricted = refs.flatMap((_, i) => metas[i]?.restricted ? [i] : []);
      const grants = await getValues<string>(
        reader,
        restricted.map((i) => willowKeys.payloadGrant(refs[i].hash, refs[i].entry)),
      );
      const granted = new Set(restricted.filter((i, k) => grants[k] === metas[i]!.dataId));
      return refs.map((_, i) =>
        metas[i]?.restricted && !granted.has(i) ? undefined : metas[i]?.size
      );
    },
    pin: (hash, holder) => blobs.pin(hash, holder),
    async release(ref, holder) {
      // The grant first: if the process stops in between, the entry's `pincheck` record is
      // still there and `EntryStore.settle` releases the pin later.
      await revokePayload(blobs.kv, ref.hash, ref.entry);
      await blobs.unpin(ref.hash, holder);
    },
    async unpinUnless(hash, holder, unless) {
      await blobs.unpin(hash, holder, unless);
    },
  };
}
