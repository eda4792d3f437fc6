/**
 * Prefix pruning as a pure computation: what ingesting a batch of entries into one subspace does
 * to its slots (`layout.ts`), given the slots read from the store. The entry store reads, plans,
 * and commits the plan with a check that the subspace did not change meanwhile.
 *
 * Entries are taken in order, each against the slots as the previous ones left them
 * (willowprotocol.org `data_model.tsx`, "Stores"; predicates as in `entry.ts`):
 *
 * 1. if the slot of a prefix of its path (the path itself included) holds an entry newer than
 *    it, it is obsolete ("newer"); if its own slot holds an equal entry, obsolete ("equal");
 * 2. otherwise every entry it is newer than at its path or below is deleted, it is stored, and
 *    the slots of its proper prefixes are flagged as having entries below.
 *
 * A batch stops early when the next entry's changes would not fit into one commit.
 *
 * @module
 */

import { bytesEqual, toHex } from "../../blake3/hash.ts";
import { compareFixedBytes } from "../range.ts";
import { KEY_OVERHEAD, type Slot, type StoredEntry } from "./layout.ts";

/** An entry to ingest: its path key and what its slot would store. */
export interface Candidate {
  readonly key: Uint8Array;
  readonly stored: StoredEntry;
}

export type IngestOutcome =
  | { readonly status: "stored"; readonly pruned: number }
  /** `equal`: this very entry is stored; `newer`: a newer entry at a prefix of its path is. */
  | { readonly status: "obsolete"; readonly reason: "equal" | "newer" };

/**
 * Whether an entry lost to a newer one: it is not stored, and never will be (newer-than is a
 * total order, so what beat it beats an equal entry too).
 */
export function isObsoleteByNewer(o: IngestOutcome): boolean {
  return o.status === "obsolete" && o.reason === "newer";
}

/** A slot as read or planned: its path key and content (`null`: no slot). */
export interface SlotAt {
  readonly key: Uint8Array;
  readonly slot: Slot | null;
}

/** The stored slots strictly below one path, in key order, as read. */
export interface Listing {
  readonly slots: readonly { readonly key: Uint8Array; readonly slot: Slot }[];
  /** False when the read stopped at its limit: more slots may follow. */
  readonly complete: boolean;
}

/** A stored entry that the plan deletes (or replaces). */
export interface Doomed {
  readonly key: Uint8Array;
  readonly stored: StoredEntry;
}

export interface Plan {
  /** Outcomes of the first `outcomes.length` candidates; the others wait for another commit. */
  readonly outcomes: IngestOutcome[];
  /** Slots to write (`null`: delete), by hex path key. */
  readonly writes: Map<string, SlotAt>;
  readonly doomed: Doomed[];
  /**
   * The first candidate alone prunes more than one commit holds, or more than was read: it
   * needs pruning over several commits. `outcomes` is empty then.
   */
  readonly tooLarge: boolean;
  /** What the plan's writes cost. */
  readonly used: Budget;
}

/** What a commit may still take (`COMMIT_LIMITS` less the bookkeeping around the plan). */
export interface Budget {
  readonly mutations: number;
  readonly keyBytes: number;
  readonly bytes: number;
}

/**
 * What writing (or deleting) the slot at path key `key`, or a record about it, costs: one
 * mutation, its key, and generously its value.
 */
export function writeCost(key: Uint8Array): Budget {
  const keyBytes = key.length + KEY_OVERHEAD;
  return { mutations: 1, keyBytes, bytes: 2 * keyBytes + 256 };
}

/** The sum of costs. */
export function addCost(a: Budget, b: Budget): Budget {
  return {
    mutations: a.mutations + b.mutations,
    keyBytes: a.keyBytes + b.keyBytes,
    bytes: a.bytes + b.bytes,
  };
}

export const NO_COST: Budget = { mutations: 0, keyBytes: 0, bytes: 0 };

/** Whether `cost` is within `budget`. */
export function fits(cost: Budget, budget: Budget): boolean {
  return cost.mutations <= budget.mutations && cost.keyBytes <= budget.keyBytes &&
    cost.bytes <= budget.bytes;
}

/** Positive when `a` is newer than `b` (timestamp, then digest, then payload length). */
export function compareStored(
  a: Pick<StoredEntry, "t" | "d" | "l">,
  b: Pick<StoredEntry, "t" | "d" | "l">,
): number {
  if (a.t !== b.t) return a.t > b.t ? 1 : -1;
  const d = compareFixedBytes(a.d, b.d);
  if (d !== 0) return d;
  return a.l === b.l ? 0 : a.l > b.l ? 1 : -1;
}

/** The path keys of every prefix of the path with key `key`, the empty path first. */
export function prefixKeys(key: Uint8Array): Uint8Array[] {
  const out = [key.subarray(0, 0)];
  // 0x01 ends a component and occurs nowhere else in a path key (`path_key.ts`).
  for (let i = 0; i < key.length; i++) if (key[i] === 0x01) out.push(key.subarray(0, i + 1));
  return out;
}

export function isKeyPrefix(prefix: Uint8Array, key: Uint8Array): boolean {
  return prefix.length <= key.length && bytesEqual(prefix, key.subarray(0, prefix.length));
}

/**
 * Plans `candidates` against `view` (by hex path key: every prefix slot of every candidate) and
 * `listings` (by hex path key: the slots below each candidate whose own slot says entries exist
 * below it).
 */
export function planBatch(
  candidates: readonly Candidate[],
  view: ReadonlyMap<string, SlotAt>,
  listings: ReadonlyMap<string, Listing>,
  budget: Budget,
): Plan {
  const current = new Map(view);
  const writes: Plan["writes"] = new Map();
  const outcomes: IngestOutcome[] = [];
  const doomed: Doomed[] = [];
  let used = NO_COST;
  for (const c of candidates) {
    const prefixes = prefixKeys(c.key);
    const obsolete = obsoleteBy(c, prefixes, current);
    if (obsolete !== undefined) {
      outcomes.push({ status: "obsolete", reason: obsolete });
      continue;
    }
    const own = toHex(c.key);
    const below = belowSlots(own, current, listings);
    if (below === undefined) return cut(outcomes, writes, doomed, used);
    const changes = new Map<string, SlotAt>();
    const pruned: Doomed[] = [];
    const ownSlot = current.get(own)?.slot ?? null;
    if (ownSlot?.entry !== undefined) pruned.push({ key: c.key, stored: ownSlot.entry });
    for (const { key, slot } of below) {
      if (slot.entry === undefined || compareStored(c.stored, slot.entry) <= 0) continue;
      pruned.push({ key, stored: slot.entry });
      changes.set(toHex(key), { key, slot: slot.below ? { below: true } : null });
    }
    changes.set(own, {
      key: c.key,
      slot: { entry: c.stored, ...(ownSlot?.below ? { below: true } : {}) },
    });
    for (const key of prefixes.slice(0, -1)) {
      const slot = current.get(toHex(key))?.slot ?? null;
      if (!slot?.below) changes.set(toHex(key), { key, slot: { ...slot, below: true } });
    }
    let cost = used;
    for (const { key } of changes.values()) {
      if (!writes.has(toHex(key))) cost = addCost(cost, writeCost(key));
    }
    // A pruned entry's slot is among the changes (or replaced); its `pincheck` record is not.
    for (const d of pruned) cost = addCost(cost, writeCost(d.key));
    if (!fits(cost, budget)) return cut(outcomes, writes, doomed, used);
    used = cost;
    for (const [hex, change] of changes) {
      writes.set(hex, change);
      current.set(hex, change);
    }
    doomed.push(...pruned);
    outcomes.push({ status: "stored", pruned: pruned.length });
  }
  return { outcomes, writes, doomed, tooLarge: false, used };
}

/** The plan so far, or "too large" if nothing fit. */
function cut(
  outcomes: IngestOutcome[],
  writes: Plan["writes"],
  doomed: Doomed[],
  used: Budget,
): Plan {
  return { outcomes, writes, doomed, tooLarge: outcomes.length === 0, used };
}

/** Why `c` is obsolete, if it is. */
function obsoleteBy(
  c: Candidate,
  prefixes: readonly Uint8Array[],
  current: ReadonlyMap<string, SlotAt>,
): "equal" | "newer" | undefined {
  for (let i = 0; i < prefixes.length; i++) {
    const entry = current.get(toHex(prefixes[i]))?.slot?.entry;
    if (entry === undefined) continue;
    const order = compareStored(entry, c.stored);
    if (order > 0) return "newer";
    if (order === 0 && i === prefixes.length - 1) return "equal";
  }
  return undefined;
}

/**
 * The slots strictly below the path with hex key `own` as they are now: those read (if its
 * slot says there are any), overridden and completed by what this plan already changed.
 * `undefined` if the read was cut short.
 */
function belowSlots(
  own: string,
  current: ReadonlyMap<string, SlotAt>,
  listings: ReadonlyMap<string, Listing>,
): { key: Uint8Array; slot: Slot }[] | undefined {
  const found = new Map<string, { key: Uint8Array; slot: Slot }>();
  const listing = listings.get(own);
  if (listing !== undefined) {
    if (!listing.complete) return undefined;
    for (const s of listing.slots) found.set(toHex(s.key), s);
  }
  for (const [hex, { key, slot }] of current) {
    if (hex.length <= own.length || !hex.startsWith(own)) continue;
    if (slot === null) found.delete(hex);
    else found.set(hex, { key, slot });
  }
  return [...found.values()];
}
