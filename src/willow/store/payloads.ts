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
import { keys as willowKeys } from "./layout.ts";

/** A payload as one namespace asks for it. */
export interface PayloadRef {
  readonly ns: Uint8Array;
  readonly hash: Hash;
}

/** What the entry store needs of the payload store. */
export interface PayloadStore {
  /**
   * The size of each stored blob among `refs`, `undefined` where there is none for that
   * namespace: a restricted blob (`BlobMeta.restricted`, a payload of a namespace that is not
   * public) exists only for the namespaces that imported it (`grantPayload`). Another namespace's
   * entry naming its digest must neither pin it nor serve it.
   */
  sizes(refs: readonly PayloadRef[]): Promise<(number | undefined)[]>;
  pin(hash: Hash, holder: string): Promise<boolean>;
  unpin(hash: Hash, holder: string): Promise<boolean>;
}

/** Deno KV's `getMany` reads at most 10 keys. */
const GET_MANY = 10;

async function getAll<T>(kv: Deno.Kv, kvKeys: Deno.KvKey[]): Promise<(T | null)[]> {
  const chunks: Deno.KvKey[][] = [];
  for (let i = 0; i < kvKeys.length; i += GET_MANY) chunks.push(kvKeys.slice(i, i + GET_MANY));
  const read = await Promise.all(chunks.map((c) => kv.getMany<T[]>(c)));
  return read.flat().map((e) => e.value);
}

/** Records that namespace `ns` imported the restricted blob `hash`: it may use it. */
export async function grantPayload(kv: Deno.Kv, ns: Uint8Array, hash: Hash): Promise<void> {
  await kv.set(willowKeys.payloadGrant(ns, hash), true);
}

export function blobPayloads(blobs: BlobStore): PayloadStore {
  return {
    async sizes(refs) {
      const metas = await getAll<BlobMeta>(blobs.kv, refs.map((r) => keys.blob(r.hash)));
      const restricted = refs.filter((_, i) => metas[i]?.restricted);
      const granted = new Set<PayloadRef>();
      const grants = await getAll<true>(
        blobs.kv,
        restricted.map((r) => willowKeys.payloadGrant(r.ns, r.hash)),
      );
      restricted.forEach((r, i) => grants[i] && granted.add(r));
      return refs.map((r, i) =>
        metas[i]?.restricted && !granted.has(r) ? undefined : metas[i]?.size
      );
    },
    pin: (hash, holder) => blobs.pin(hash, holder),
    unpin: (hash, holder) => blobs.unpin(hash, holder),
  };
}
