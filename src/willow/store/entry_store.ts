/**
 * The entry store: authorised entries of every hosted namespace in Deno KV (layout in
 * `layout.ts`), with prefix pruning done atomically (`slot_plan.ts`) and payload pins kept in
 * step with the entries.
 *
 * Atomicity: ingesting into a subspace reads its version key and the slots involved, plans, and
 * commits with a check of the version key, which the commit bumps. No writer (in this process or
 * another sharing the KV) can change the subspace in between unnoticed; a conflict re-reads and
 * retries. Concurrent `ingest` calls for one subspace are group-committed: planned in arrival
 * order and committed together, so an entry costs about one slot read and one slot write, and the
 * ancestors that entries share are read once.
 *
 * Pins: an entry whose payload is in the blob store pins it under `payloadHolder` (entry id =
 * BLAKE3 of `encode_entry`, unique per entry). The pin is taken before the commit that stores the
 * entry, so a stored entry's payload is never collectable; the `pincheck` record written before
 * it (and deleted by that commit) lets `settle` release the pin if the process dies in between.
 * The commit that prunes entries writes their `pincheck` records; their pins are released right
 * after it.
 *
 * An entry that prunes more than fits into one commit is inserted together with a `pruning`
 * record and prunes over several commits; readers hide what it prunes meanwhile, and `settle`
 * finishes the work of a process that died.
 *
 * @module
 */

import { asHash, type Hash, toHex } from "../../blake3/hash.ts";
import { hash } from "../../blake3/tree.ts";
import { encode } from "../codec.ts";
import { type Entry, makeEntry } from "../entry.ts";
import { writeEntry } from "../entry_encoding.ts";
import type { NamespaceId, Signature, SubspaceId } from "../keys.ts";
import type { Path } from "../path.ts";
import { pathFromKey, pathKey } from "../path_key.ts";
import { compareTimes, rangeIncludes, type TimeRange } from "../range.ts";
import type { AuthorisedEntry } from "../write_verifier.ts";
import { StoreContentionError, UnstorablePathError } from "./errors.ts";
import {
  COMMIT_LIMITS,
  keys,
  MAX_PATH_KEY,
  type PinCheck,
  type Pruning,
  type Slot,
  type StoredEntry,
} from "./layout.ts";
import {
  addCost,
  type Budget,
  type Candidate,
  compareStored,
  type Doomed,
  fits,
  type IngestOutcome,
  isKeyPrefix,
  type Listing,
  NO_COST,
  planBatch,
  prefixKeys,
  type SlotAt,
  writeCost,
} from "./slot_plan.ts";

export type { IngestOutcome };

/** What the entry store needs of the blob store (`BlobStore` has it). */
export interface PayloadStore {
  stat(hash: Hash): Promise<{ readonly size: number } | undefined>;
  pin(hash: Hash, holder: string): Promise<boolean>;
  unpin(hash: Hash, holder: string): Promise<boolean>;
}

/** A stored entry with its authorisation. */
export interface StoredAuthorisedEntry {
  readonly entry: Entry;
  readonly signature: Signature;
  /** Id of the authorising capability (`EntryStore.capability`). */
  readonly capabilityId: Uint8Array;
}

export interface EntryQuery {
  /** One subspace, or all of them (then a path prefix is a filter over the whole namespace). */
  readonly subspace?: SubspaceId;
  /** Entries whose path has this prefix (default: all). */
  readonly prefix?: Path;
  /** Entries whose timestamp is in this range (default: all). */
  readonly times?: TimeRange;
  /** At most this many entries. */
  readonly limit: number;
  /** Continue after the page that returned it (with the same query). */
  readonly cursor?: string;
}

export interface EntryPage {
  /** In subspace, then path order. */
  readonly entries: StoredAuthorisedEntry[];
  /** Present when more may follow. */
  readonly cursor?: string;
}

export interface SettleReport {
  /** Pins released because their entries were not stored. */
  readonly unpinned: number;
  /** Prunings finished for a process that stopped. */
  readonly prunings: number;
}

export interface EntryStoreOptions {
  /** Unfinished work (pins, pruning) older than this is presumed abandoned (default 10 min). */
  readonly staleMs?: number;
}

/** Entries planned and committed together at most. */
const MAX_BATCH = 64;
/** Slots below one entry read for a batch; beyond, the entry is handled as a large pruning. */
const LIST_LIMIT = 300;
/** Attempts of an optimistic commit. */
const MAX_ATTEMPTS = 30;
/** Deno KV's `getMany` reads at most 10 keys. */
const GET_MANY = 10;
/** Slots scanned for one query page at most, whatever the filters keep. */
const SCAN_LIMIT = 5_000;

/** The holder under which a stored entry pins its payload: `willow:<namespace>:<entry id>`. */
export function payloadHolder(namespace: Uint8Array, id: Uint8Array): string {
  return `willow:${toHex(namespace)}:${toHex(id)}`;
}

/** An entry's id: BLAKE3 of `encode_entry`. */
export function entryId(entry: Entry): Hash {
  return hash(encode((w) => writeEntry(w, entry)));
}

function storedOf(a: AuthorisedEntry): StoredEntry {
  const e = a.entry;
  return {
    t: e.timestamp,
    l: e.payloadLength,
    d: e.payloadDigest,
    s: a.signature,
    c: a.capabilityId,
  };
}

function entryAt(ns: Uint8Array, ss: Uint8Array, key: Uint8Array, s: StoredEntry): Entry {
  return makeEntry({
    namespaceId: ns as NamespaceId,
    subspaceId: ss as SubspaceId,
    path: pathFromKey(key),
    timestamp: s.t,
    payloadLength: s.l,
    payloadDigest: asHash(s.d),
  });
}

interface Pending {
  readonly a: AuthorisedEntry;
  readonly candidate: Candidate;
  readonly resolve: (o: IngestOutcome) => void;
  readonly reject: (e: unknown) => void;
}

/** A pin this store may have to release: whose entry it is, and on which payload. */
interface PinRef {
  readonly id: Uint8Array;
  readonly key: Uint8Array;
  readonly digest: Uint8Array;
}

/** A pruning still hiding entries: where and by which entry. */
interface ActivePruning {
  readonly ss: Uint8Array;
  readonly key: Uint8Array;
  readonly by: Pruning;
}

export class EntryStore {
  readonly #kv: Deno.Kv;
  readonly #payloads: PayloadStore;
  readonly #staleMs: number;
  /** Entries waiting for their subspace's running batch, by namespace and subspace. */
  readonly #queues = new Map<string, Pending[]>();

  constructor(kv: Deno.Kv, payloads: PayloadStore, options: EntryStoreOptions = {}) {
    this.#kv = kv;
    this.#payloads = payloads;
    this.#staleMs = options.staleMs ?? 10 * 60_000;
  }

  /**
   * Ingests an authorised entry: stores it, pruning what it makes obsolete, or reports it
   * obsolete. Rejects with `UnstorablePathError` for a path too long for a KV key.
   */
  ingest(a: AuthorisedEntry): Promise<IngestOutcome> {
    const key = pathKey(a.entry.path);
    if (key.length > MAX_PATH_KEY) {
      return Promise.reject(
        new UnstorablePathError(
          `paths here have keys of at most ${MAX_PATH_KEY} bytes; this one needs ${key.length}`,
        ),
      );
    }
    const q = toHex(a.entry.namespaceId) + toHex(a.entry.subspaceId);
    return new Promise((resolve, reject) => {
      const item = { a, candidate: { key, stored: storedOf(a) }, resolve, reject };
      const queue = this.#queues.get(q);
      if (queue !== undefined) return void queue.push(item);
      this.#queues.set(q, [item]);
      this.#drain(q);
    });
  }

  /** Commits the batches of one subspace until its queue is empty. */
  async #drain(q: string): Promise<void> {
    const queue = this.#queues.get(q)!;
    while (queue.length > 0) {
      const batch = queue.slice(0, MAX_BATCH);
      let settled: number;
      try {
        settled = await this.#commitBatch(batch);
      } catch (e) {
        for (const p of batch) p.reject(e);
        settled = batch.length;
      }
      queue.splice(0, settled);
    }
    this.#queues.delete(q);
  }

  /** Commits a prefix of `batch` (at least one entry); returns how many entries it settled. */
  async #commitBatch(batch: Pending[]): Promise<number> {
    const { namespaceId: ns, subspaceId: ss } = batch[0].a.entry;
    const withPayload = await this.#withPayload(batch);
    const candidates = batch.map((p) => p.candidate);
    const pinned = new Set<Pending>();
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const version = await this.#kv.get<bigint>(keys.version(ns, ss));
      const view = await this.#readSlots(ns, ss, candidates.flatMap((c) => prefixKeys(c.key)));
      const listings = await this.#listBelow(ns, ss, candidates, view);
      // The version, and per entry at most a token and a `pincheck` deletion, besides the plan.
      const plan = planBatch(candidates, view, listings, budgetLeft(2 * batch.length + 1));
      if (plan.tooLarge) {
        await this.#ingestLarge(batch[0], withPayload.has(batch[0])).then(
          batch[0].resolve,
          batch[0].reject,
        );
        return 1;
      }
      const settled = batch.slice(0, plan.outcomes.length);
      // Stored entries hold their payload's pin, and so does an equal one (the same holder).
      const pinning = settled.filter((p, i) =>
        withPayload.has(p) && !pinned.has(p) && !isObsoleteByNewer(plan.outcomes[i])
      );
      await this.#pinFirst(ns, ss, pinning);
      for (const p of pinning) pinned.add(p);
      const op = this.#kv.atomic().check(version);
      if (plan.writes.size > 0) op.set(keys.version(ns, ss), (version.value ?? 0n) + 1n);
      for (const { key, slot } of plan.writes.values()) setSlot(op, ns, ss, key, slot);
      const tokens = new Map<string, AuthorisedEntry>();
      settled.forEach((p, i) => {
        if (pinned.has(p) && !isObsoleteByNewer(plan.outcomes[i])) {
          op.delete(keys.pincheck(ns, pinRefOf(p).id));
        }
        if (plan.outcomes[i].status === "stored") tokens.set(toHex(p.a.capabilityId), p.a);
      });
      for (const a of tokens.values()) op.set(keys.token(ns, a.capabilityId), a.capabilityBytes);
      const doomed = plan.doomed.map((d) => doomedRef(ns, ss, d));
      recordPinChecks(op, ns, ss, doomed);
      if (!(await op.commit()).ok) continue;
      // Pins taken in an earlier attempt for entries that turned out obsolete.
      const stale = settled.filter((p, i) => pinned.has(p) && isObsoleteByNewer(plan.outcomes[i]));
      await this.#releasePins(ns, [...doomed, ...stale.map(pinRefOf)]);
      settled.forEach((p, i) => p.resolve(plan.outcomes[i]));
      return settled.length;
    }
    throw new StoreContentionError("the subspace kept changing under concurrent writes");
  }

  /** The entries of the batch whose payload is stored, with the length the entry names. */
  async #withPayload(batch: readonly Pending[]): Promise<Set<Pending>> {
    const found = new Set<Pending>();
    await Promise.all(batch.map(async (p) => {
      const meta = await this.#payloads.stat(p.a.entry.payloadDigest);
      if (meta !== undefined && BigInt(meta.size) === p.a.entry.payloadLength) found.add(p);
    }));
    return found;
  }

  /** Reads the slots at `pathKeys` (duplicates read once), by hex path key. */
  async #readSlots(
    ns: NamespaceId,
    ss: SubspaceId,
    pathKeys: readonly Uint8Array[],
  ): Promise<Map<string, SlotAt>> {
    const all = [...new Map(pathKeys.map((k) => [toHex(k), k])).values()];
    const chunks: Uint8Array[][] = [];
    for (let i = 0; i < all.length; i += GET_MANY) chunks.push(all.slice(i, i + GET_MANY));
    const read = await Promise.all(
      chunks.map((c) => this.#kv.getMany<Slot[]>(c.map((k) => keys.slot(ns, ss, k)))),
    );
    const view = new Map<string, SlotAt>();
    chunks.forEach((c, i) =>
      c.forEach((key, j) => view.set(toHex(key), { key, slot: read[i][j].value }))
    );
    return view;
  }

  /** The slots below each candidate whose slot says there are some (read up to a limit). */
  async #listBelow(
    ns: NamespaceId,
    ss: SubspaceId,
    candidates: readonly Candidate[],
    view: ReadonlyMap<string, SlotAt>,
  ): Promise<Map<string, Listing>> {
    const listings = new Map<string, Listing>();
    for (const c of candidates) {
      const hex = toHex(c.key);
      if (listings.has(hex) || !view.get(hex)?.slot?.below) continue;
      const slots: { key: Uint8Array; slot: Slot }[] = [];
      let read = 0;
      const selector = belowSelector(ns, ss, c.key);
      for await (const e of this.#kv.list<Slot>(selector, { limit: LIST_LIMIT })) {
        read++;
        const key = e.key[4] as Uint8Array;
        if (key.length > c.key.length) slots.push({ key, slot: e.value });
      }
      listings.set(hex, { slots, complete: read < LIST_LIMIT });
    }
    return listings;
  }

  /**
   * Pins the payloads of `pinning` before the commit that stores their entries, each under a
   * `pincheck` record that the commit deletes.
   */
  async #pinFirst(ns: NamespaceId, ss: SubspaceId, pinning: readonly Pending[]): Promise<void> {
    if (pinning.length === 0) return;
    const refs = pinning.map(pinRefOf);
    for (const chunk of chunked(refs, (r) => writeCost(r.key), budgetLeft(0))) {
      const op = this.#kv.atomic();
      recordPinChecks(op, ns, ss, chunk);
      await op.commit();
    }
    for (const r of refs) await this.#payloads.pin(asHash(r.digest), payloadHolder(ns, r.id));
  }

  /** Releases pins of entries that are not stored, then forgets their `pincheck` records. */
  async #releasePins(ns: Uint8Array, refs: readonly PinRef[]): Promise<void> {
    for (const r of refs) await this.#payloads.unpin(asHash(r.digest), payloadHolder(ns, r.id));
    for (const chunk of chunked(refs, (r) => writeCost(r.key), budgetLeft(0))) {
      const op = this.#kv.atomic();
      for (const r of chunk) op.delete(keys.pincheck(ns, r.id));
      await op.commit();
    }
  }

  /**
   * Ingests an entry whose changes do not fit into one commit: a deep path whose prefixes' slots
   * must all be flagged, or many entries to prune. The flags are written first, in commits of
   * their own (a flag only says entries *may* exist below). Then one commit stores the entry with
   * a `pruning` record, from when on readers hide what it prunes; later commits delete that, and
   * the last one removes the record.
   */
  async #ingestLarge(p: Pending, withPayload: boolean): Promise<IngestOutcome> {
    const { namespaceId: ns, subspaceId: ss } = p.a.entry;
    const { key, stored } = p.candidate;
    if (withPayload) await this.#pinFirst(ns, ss, [p]);
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const version = await this.#kv.get<bigint>(keys.version(ns, ss));
      const view = await this.#readSlots(ns, ss, prefixKeys(key));
      const plan = planBatch([p.candidate], view, new Map(), NO_COST);
      const outcome = plan.outcomes[0];
      if (outcome !== undefined) {
        // Obsolete after all (that needs no budget): nothing to write.
        if (withPayload && isObsoleteByNewer(outcome)) await this.#releasePins(ns, [pinRefOf(p)]);
        else if (withPayload) await this.#kv.delete(keys.pincheck(ns, pinRefOf(p).id));
        return outcome;
      }
      const unflagged = prefixKeys(key).slice(0, -1).filter((k) =>
        !view.get(toHex(k))?.slot?.below
      );
      if (unflagged.length > 0) {
        await this.#flag(ns, ss, unflagged, view, version);
        continue;
      }
      const op = this.#kv.atomic().check(version)
        .set(keys.version(ns, ss), (version.value ?? 0n) + 1n);
      const own = view.get(toHex(key))?.slot ?? null;
      op.set(keys.slot(ns, ss, key), { entry: stored, below: true })
        .set(keys.pruning(ns, ss, key), { t: stored.t, l: stored.l, d: stored.d, at: Date.now() })
        .set(keys.token(ns, p.a.capabilityId), p.a.capabilityBytes);
      if (withPayload) op.delete(keys.pincheck(ns, pinRefOf(p).id));
      const replaced = own?.entry === undefined
        ? []
        : [doomedRef(ns, ss, { key, stored: own.entry })];
      recordPinChecks(op, ns, ss, replaced);
      if (!(await op.commit()).ok) continue;
      await this.#releasePins(ns, replaced);
      const pruned = await this.#finishPruning(ns, ss, key, stored);
      return { status: "stored", pruned: pruned + replaced.length };
    }
    throw new StoreContentionError("the subspace kept changing under concurrent writes");
  }

  /**
   * Flags the slots at `unflagged` as having entries below, in as many commits as needed, each
   * checking and bumping the version read with `view`; stops at the first conflict.
   */
  async #flag(
    ns: NamespaceId,
    ss: SubspaceId,
    unflagged: readonly Uint8Array[],
    view: ReadonlyMap<string, SlotAt>,
    version: Deno.KvEntryMaybe<bigint>,
  ): Promise<void> {
    let check: Deno.AtomicCheck = version;
    let value = version.value ?? 0n;
    for (const chunk of chunked(unflagged, writeCost, budgetLeft(1))) {
      const op = this.#kv.atomic().check(check).set(keys.version(ns, ss), ++value);
      for (const k of chunk) setSlot(op, ns, ss, k, { ...view.get(toHex(k))?.slot, below: true });
      const result = await op.commit();
      if (!result.ok) return;
      check = { key: keys.version(ns, ss), versionstamp: result.versionstamp };
    }
  }

  /**
   * Deletes, a commit at a time, every entry below `key` that `by` is newer than, then the
   * `pruning` record; returns how many entries it deleted.
   */
  async #finishPruning(
    ns: NamespaceId,
    ss: SubspaceId,
    key: Uint8Array,
    by: Pick<StoredEntry, "t" | "d" | "l">,
  ): Promise<number> {
    let deleted = 0;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const version = await this.#kv.get<bigint>(keys.version(ns, ss));
      const doomed: PinRef[] = [];
      const op = this.#kv.atomic().check(version)
        .set(keys.version(ns, ss), (version.value ?? 0n) + 1n);
      // Each pruned entry: its slot and its `pincheck` record.
      const budget = budgetLeft(2);
      let used = NO_COST;
      for await (const e of this.#kv.list<Slot>(belowSelector(ns, ss, key), { batchSize: 500 })) {
        const k = e.key[4] as Uint8Array;
        const entry = e.value.entry;
        if (k.length <= key.length || entry === undefined || compareStored(by, entry) <= 0) {
          continue;
        }
        used = addCost(used, addCost(writeCost(k), writeCost(k)));
        if (!fits(used, budget)) break;
        doomed.push(doomedRef(ns, ss, { key: k, stored: entry }));
        setSlot(op, ns, ss, k, e.value.below ? { below: true } : null);
      }
      if (doomed.length === 0) op.delete(keys.pruning(ns, ss, key));
      recordPinChecks(op, ns, ss, doomed);
      if (!(await op.commit()).ok) continue;
      await this.#releasePins(ns, doomed);
      if (doomed.length === 0) return deleted;
      deleted += doomed.length;
      attempt = -1;
    }
    throw new StoreContentionError("the subspace kept changing under concurrent writes");
  }

  /** The stored entry at `path` of `subspace`, if any. */
  async get(
    ns: NamespaceId,
    subspace: SubspaceId,
    path: Path,
  ): Promise<StoredAuthorisedEntry | undefined> {
    const key = pathKey(path);
    if (key.length > MAX_PATH_KEY) return undefined;
    const [slot, prunings] = await Promise.all([
      this.#kv.get<Slot>(keys.slot(ns, subspace, key)),
      this.#prunings(ns),
    ]);
    const stored = slot.value?.entry;
    if (stored === undefined || hidden(prunings, subspace, key, stored)) return undefined;
    return view(ns, subspace, key, stored);
  }

  /**
   * The greatest timestamp of the stored entries at `path` and its prefixes: a write there needs
   * a later one not to be obsolete on arrival.
   */
  async latestTimestamp(
    ns: NamespaceId,
    subspace: SubspaceId,
    path: Path,
  ): Promise<bigint | undefined> {
    const view = await this.#readSlots(ns, subspace, prefixKeys(pathKey(path)));
    let latest: bigint | undefined;
    for (const { slot } of view.values()) {
      const t = slot?.entry?.t;
      if (t !== undefined && (latest === undefined || t > latest)) latest = t;
    }
    return latest;
  }

  /** A page of the entries `q` selects. */
  async query(ns: NamespaceId, q: EntryQuery): Promise<EntryPage> {
    const prefix = q.prefix === undefined ? new Uint8Array(0) : pathKey(q.prefix);
    const prunings = await this.#prunings(ns);
    const selector = q.subspace === undefined
      ? { prefix: keys.slots(ns) }
      : belowSelector(ns, q.subspace, prefix);
    const iter = this.#kv.list<Slot>(selector, { cursor: q.cursor, batchSize: 500 });
    const entries: StoredAuthorisedEntry[] = [];
    let scanned = 0;
    for await (const e of iter) {
      const ss = e.key[3] as Uint8Array;
      const key = e.key[4] as Uint8Array;
      const stored = e.value.entry;
      if (
        stored !== undefined && isKeyPrefix(prefix, key) &&
        (q.times === undefined || rangeIncludes(q.times, stored.t, compareTimes)) &&
        !hidden(prunings, ss, key, stored)
      ) {
        entries.push(view(ns, ss, key, stored));
      }
      if (entries.length >= q.limit || ++scanned >= SCAN_LIMIT) {
        return { entries, cursor: iter.cursor };
      }
    }
    return { entries };
  }

  /** The encoded capability with id `id` that authorised stored entries of `ns`. */
  async capability(ns: NamespaceId, id: Uint8Array): Promise<Uint8Array | undefined> {
    return (await this.#kv.get<Uint8Array>(keys.token(ns, id))).value ?? undefined;
  }

  async #prunings(ns: NamespaceId): Promise<ActivePruning[]> {
    const out: ActivePruning[] = [];
    for await (const e of this.#kv.list<Pruning>({ prefix: keys.prunings(ns) })) {
      out.push({ ss: e.key[3] as Uint8Array, key: e.key[4] as Uint8Array, by: e.value });
    }
    return out;
  }

  /**
   * Finishes what a process that stopped left behind: releases pins whose entries were not
   * stored after all (their `pincheck` records are older than `staleMs`) and completes prunings
   * that stopped. Safe to run at any time, in several processes at once.
   */
  async settle(now = Date.now()): Promise<SettleReport> {
    let unpinned = 0;
    let prunings = 0;
    for await (const e of this.#kv.list<PinCheck>({ prefix: keys.pinchecks })) {
      if (e.value.at > now - this.#staleMs) continue;
      const [, , ns, id] = e.key as [string, string, Uint8Array, Uint8Array];
      const slot = await this.#kv.get<Slot>(keys.slot(ns, e.value.ss, e.value.key));
      const stored = slot.value?.entry;
      const isStored = stored !== undefined &&
        toHex(entryId(entryAt(ns, e.value.ss, e.value.key, stored))) === toHex(id);
      if (!isStored) {
        await this.#releasePins(ns, [{ id, key: e.value.key, digest: e.value.d }]);
        unpinned++;
      } else await this.#kv.delete(e.key);
    }
    for await (const e of this.#kv.list<Pruning>({ prefix: keys.allPrunings })) {
      if (e.value.at > now - this.#staleMs) continue;
      const [, , ns, ss, key] = e.key as [string, string, NamespaceId, SubspaceId, Uint8Array];
      await this.#finishPruning(ns, ss, key, e.value);
      prunings++;
    }
    return { unpinned, prunings };
  }
}

/** `COMMIT_LIMITS` less `records` bookkeeping records (versions, tokens, `pincheck`s). */
function budgetLeft(records: number): Budget {
  const record = writeCost(new Uint8Array(0));
  return {
    mutations: COMMIT_LIMITS.mutations - 10 - records,
    keyBytes: COMMIT_LIMITS.keyBytes - 2048 - records * record.keyBytes,
    bytes: COMMIT_LIMITS.bytes - 16384 - records * record.bytes,
  };
}

/** `items` in consecutive runs whose summed costs fit `budget` (each at least one item). */
function chunked<T>(items: readonly T[], cost: (t: T) => Budget, budget: Budget): T[][] {
  const out: T[][] = [];
  let run: T[] = [];
  let used = NO_COST;
  for (const item of items) {
    const next = addCost(used, cost(item));
    if (run.length > 0 && !fits(next, budget)) {
      out.push(run);
      run = [];
      used = cost(item);
    } else used = next;
    run.push(item);
  }
  if (run.length > 0) out.push(run);
  return out;
}

function setSlot(
  op: Deno.AtomicOperation,
  ns: Uint8Array,
  ss: Uint8Array,
  key: Uint8Array,
  slot: Slot | null,
): void {
  if (slot === null) op.delete(keys.slot(ns, ss, key));
  else op.set(keys.slot(ns, ss, key), slot);
}

function recordPinChecks(
  op: Deno.AtomicOperation,
  ns: Uint8Array,
  ss: Uint8Array,
  refs: readonly PinRef[],
): void {
  const at = Date.now();
  for (const r of refs) {
    op.set(keys.pincheck(ns, r.id), { ss, key: r.key, d: r.digest, at } satisfies PinCheck);
  }
}

function isObsoleteByNewer(o: IngestOutcome): boolean {
  return o.status === "obsolete" && o.reason === "newer";
}

function pinRefOf(p: Pending): PinRef {
  return { id: hash(p.a.encoded), key: p.candidate.key, digest: p.a.entry.payloadDigest };
}

function doomedRef(ns: Uint8Array, ss: Uint8Array, d: Doomed): PinRef {
  return { id: entryId(entryAt(ns, ss, d.key, d.stored)), key: d.key, digest: d.stored.d };
}

/** The slots at `key` and below it. */
function belowSelector(ns: Uint8Array, ss: Uint8Array, key: Uint8Array): Deno.KvListSelector {
  if (key.length === 0) return { prefix: keys.subspaceSlots(ns, ss) };
  const end = key.slice();
  end[end.length - 1]++;
  return { start: keys.slot(ns, ss, key), end: keys.slot(ns, ss, end) };
}

/** Whether an unfinished pruning deletes the entry at `key` of subspace `ss`. */
function hidden(
  prunings: readonly ActivePruning[],
  ss: Uint8Array,
  key: Uint8Array,
  stored: StoredEntry,
): boolean {
  return prunings.some((p) =>
    toHex(p.ss) === toHex(ss) && isKeyPrefix(p.key, key) && compareStored(p.by, stored) > 0
  );
}

function view(
  ns: Uint8Array,
  ss: Uint8Array,
  key: Uint8Array,
  stored: StoredEntry,
): StoredAuthorisedEntry {
  return {
    entry: entryAt(ns, ss, key, stored),
    signature: stored.s as Signature,
    capabilityId: stored.c,
  };
}
