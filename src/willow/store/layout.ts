/**
 * The Willow stores' layout in Deno KV. Every key starts with `"willow"`, apart from the blob
 * store's own keys (payloads are blobs of that store, see `src/store/layout.ts`).
 *
 * - `["willow", "slot", ns, ss, pathKey]` → `Slot` (as `encodeSlot` bytes, which Deno KV stores
 *   raw, without V8 serialisation): the entry at that path of the subspace (at
 *   most one: of two entries at one path the newer prunes the older), and a flag saying entries
 *   may exist *below* the path. Keys sort by subspace, then by path (`pathKey` preserves Willow's
 *   path order), so an area (one subspace, a path prefix) is one key range and a 3dRange is one
 *   range per subspace with a time filter. Slots that only carry the flag are skipped by readers.
 * - `["willow", "version", ns, ss]` → `bigint`: bumped by every commit that changes the
 *   subspace's slots, and checked by it. Writes within one subspace are thereby serialised
 *   (optimistically, across processes sharing the KV), which is what makes prefix pruning atomic
 *   with one check per commit: Deno KV can check single keys but not "no key appeared in this
 *   range", and pruning depends on every ancestor and every descendant of a path.
 * - `["willow", "pruning", ns, ss, pathKey]` → `Pruning`: an entry whose pruning did not fit into
 *   one commit (more than a few hundred entries below it) and is still being completed. Readers
 *   hide the entries it prunes until it is done, so the store looks pruned at once.
 * - `["willow", "pincheck", ns, entryId]` → `PinCheck`: a payload pin that may have to be
 *   released: written before a pin is taken for an entry that is not stored yet (and deleted by
 *   the commit that stores it), and by the commit that prunes a stored entry (and deleted once its
 *   pin is released). A crash thus leaves work for `settle`, never a blob pinned forever or an
 *   entry whose payload can be collected.
 * - `["willow", "token", ns, capabilityId]` → the canonic `encode_mc_capability` of a capability
 *   that authorised stored entries, stored once however many entries it authorised.
 * - `["willow", "grant", hash, entryId]` → the blob's data id: the entry came with the bytes of
 *   the payload `hash` while it was restricted (`BlobMeta.restricted`); only such entries may
 *   pin and serve it, and only that copy of it (a grant lapses with the data it names).
 * - `["willow", "namespace", ns]` → `NamespaceRecord`.
 * - `["willow", "secret", kind, publicKey]` → `SealedSecret` (AES-GCM, never served).
 * - `["willow", "capability", ns, receiver, mode, capabilityId]` → canonic capability bytes:
 *   the capabilities the gateway minted or delegated, found by namespace and receiver.
 *
 * What sync will need beyond this: range fingerprints (summaries kept per subspace and path
 * prefix, updated in the same commits; the per-subspace version already serialises those), a
 * time-ordered index for areas of interest with count or size limits (today a range scan sorts
 * in memory), and a change feed (the version keys can be watched).
 *
 * @module
 */

import type { AccessMode } from "../meadowcap.ts";

export const PREFIX = "willow";

/** The payload metadata and authorisation of one stored entry. */
export interface StoredEntry {
  /** Timestamp (u64 µs). */
  readonly t: bigint;
  /** Payload length. */
  readonly l: bigint;
  /** Payload digest (32 bytes). */
  readonly d: Uint8Array;
  /** The receiver's signature over `encode_entry` (64 bytes). */
  readonly s: Uint8Array;
  /** Id of the authorising capability under `token`. */
  readonly c: Uint8Array;
}

/** One path of one subspace. */
export interface Slot {
  readonly entry?: StoredEntry;
  /** Entries may exist below this path (never cleared: a hint that saves a range scan). */
  readonly below?: true;
}

const BELOW = 1;
const ENTRY = 2;
/** Flags byte, timestamp, payload length, digest, signature, capability id. */
const SLOT_WITH_ENTRY = 1 + 8 + 8 + 32 + 64 + 32;

/** A slot as the bytes stored for it: a flags byte, then the entry's fields if it has one. */
export function encodeSlot(slot: Slot): Uint8Array {
  const e = slot.entry;
  const out = new Uint8Array(e === undefined ? 1 : SLOT_WITH_ENTRY);
  out[0] = (slot.below ? BELOW : 0) | (e === undefined ? 0 : ENTRY);
  if (e !== undefined) {
    const view = new DataView(out.buffer);
    view.setBigUint64(1, e.t);
    view.setBigUint64(9, e.l);
    out.set(e.d, 17);
    out.set(e.s, 49);
    out.set(e.c, 113);
  }
  return out;
}

/** The slot `encodeSlot` wrote; the store's own bytes, so not checked beyond their length. */
export function decodeSlot(bytes: Uint8Array): Slot {
  const below = (bytes[0] & BELOW) !== 0 ? { below: true as const } : {};
  if ((bytes[0] & ENTRY) === 0 || bytes.length !== SLOT_WITH_ENTRY) return below;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return {
    ...below,
    entry: {
      t: view.getBigUint64(1),
      l: view.getBigUint64(9),
      d: bytes.slice(17, 49),
      s: bytes.slice(49, 113),
      c: bytes.slice(113, 145),
    },
  };
}

/** An entry whose pruning spans several commits: the entry, by its newer-than fields. */
export interface Pruning {
  readonly t: bigint;
  readonly l: bigint;
  readonly d: Uint8Array;
  /** When it started (ms), so that `settle` leaves pruning that is still running alone. */
  readonly at: number;
}

/**
 * The pin of the entry with id `entryId` (BLAKE3 of `encode_entry`) at path key `key` of
 * subspace `ss` on payload `d`: to be released unless that entry is stored.
 */
export interface PinCheck {
  readonly ss: Uint8Array;
  readonly key: Uint8Array;
  readonly d: Uint8Array;
  readonly at: number;
}

export interface NamespaceRecord {
  readonly kind: "owned" | "communal";
  readonly public: boolean;
  /** The gateway's user key that holds the namespace's full capabilities. */
  readonly user: Uint8Array;
  readonly createdAt: number;
}

/** A secret key sealed with AES-256-GCM under the key derived from `GATEWAY_SECRET_KEY`. */
export interface SealedSecret {
  readonly iv: Uint8Array;
  readonly sealed: Uint8Array;
}

export type SecretKind = "namespace" | "user";

export const keys = {
  slots: (ns: Uint8Array) => [PREFIX, "slot", ns] as const,
  subspaceSlots: (ns: Uint8Array, ss: Uint8Array) => [PREFIX, "slot", ns, ss] as const,
  slot: (ns: Uint8Array, ss: Uint8Array, pathKey: Uint8Array) =>
    [PREFIX, "slot", ns, ss, pathKey] as const,
  version: (ns: Uint8Array, ss: Uint8Array) => [PREFIX, "version", ns, ss] as const,
  prunings: (ns: Uint8Array) => [PREFIX, "pruning", ns] as const,
  allPrunings: [PREFIX, "pruning"] as const,
  pruning: (ns: Uint8Array, ss: Uint8Array, pathKey: Uint8Array) =>
    [PREFIX, "pruning", ns, ss, pathKey] as const,
  pinchecks: [PREFIX, "pincheck"] as const,
  pincheck: (ns: Uint8Array, entryId: Uint8Array) => [PREFIX, "pincheck", ns, entryId] as const,
  token: (ns: Uint8Array, id: Uint8Array) => [PREFIX, "token", ns, id] as const,
  payloadGrant: (hash: Uint8Array, entryId: Uint8Array) =>
    [PREFIX, "grant", hash, entryId] as const,
  namespace: (ns: Uint8Array) => [PREFIX, "namespace", ns] as const,
  secret: (kind: SecretKind, publicKey: Uint8Array) => [PREFIX, "secret", kind, publicKey] as const,
  capabilities: (ns: Uint8Array, receiver: Uint8Array, mode: AccessMode) =>
    [PREFIX, "capability", ns, receiver, mode] as const,
  capability: (ns: Uint8Array, receiver: Uint8Array, mode: AccessMode, id: Uint8Array) =>
    [PREFIX, "capability", ns, receiver, mode, id] as const,
};

/**
 * What a key holding a path key takes besides the path key, at most: the longest such key
 * (`pruning`) has the prefix and kind strings, two 32-byte ids (whose zero bytes Deno KV escapes
 * to two bytes) and the framing of five parts.
 */
export const KEY_OVERHEAD = 168;

/**
 * The longest `pathKey` a slot may have, so that every key holding it stays within Deno KV's
 * 2,048 bytes. Willow'25 paths have path keys of up to 3,072 bytes (`path_key.ts`); entries with
 * longer keys than this are refused (`UnstorablePathError`).
 */
export const MAX_PATH_KEY = 2048 - KEY_OVERHEAD;

/**
 * Deno KV's limits for one atomic commit: 1,000 mutations, 80 KiB of keys, 800 KiB of keys and
 * values, and 10 checks (a self-hosted `denokv` allows 10, where a local file and Deno Deploy
 * allow 100). The stores plan commits within these, with room to spare for bookkeeping.
 */
export const COMMIT_LIMITS = {
  mutations: 1000,
  keyBytes: 80 * 1024,
  bytes: 800 * 1024,
  checks: 10,
} as const;
