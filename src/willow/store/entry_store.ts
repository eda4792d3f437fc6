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
import { pause } from "../../store/contention.ts";
import type { PayloadStore } from "./payloads.ts";
import { getValues } from "../../store/get_values.ts";
import { SlotCache } from "./slot_cache.ts";
import {
  COMMIT_LIMITS,
  decodeSlot,
  encodeSlot,
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
  isObsoleteByNewer,
  type Listing,
  NO_COST,
  type Plan,
  planBatch,
  prefixKeys,
  type SlotAt,
  writeCost,
} from "./slot_plan.ts";

export type { IngestOutcome };

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
  /**
   * Where a batch's slots and versions are read (default: the store's own connection). Another
   * connection to the same local file keeps those reads off the SQLite connection that commits,
   * where they queued between commits: ingestion went from 7,000–8,900 to 9,600–10,700 entries/s.
   */
  readonly reader?: Deno.Kv;
}

/** Entries planned and committed together at most. */
const MAX_BATCH = 256;
/** Batches in flight at once (on disjoint subspaces). */
const MAX_DRAINS = 4;
/** Slots below one entry read for a batch; beyond, the entry is handled as a large pruning. */
const LIST_LIMIT = 300;
/** Attempts of an optimistic commit. */
const MAX_ATTEMPTS = 30;
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
  /** Its namespace and subspace, in hex. */
  readonly q: string;
  readonly candidate: Candidate;
  readonly resolve: (o: IngestOutcome) => void;
  readonly reject: (e: unknown) => void;
}

/** The entries of one subspace in a batch, in arrival order. */
interface Group {
  readonly ns: NamespaceId;
  readonly ss: SubspaceId;
  readonly q: string;
  readonly items: Pending[];
}

/** A group with what was read for it and its plan. */
interface Planned {
  readonly group: Group;
  readonly version: Deno.KvEntryMaybe<bigint>;
  readonly view: Map<string, SlotAt>;
  readonly plan: Plan;
}

function groupBySubspace(batch: readonly Pending[]): Group[] {
  const groups = new Map<string, Group>();
  for (const p of batch) {
    let g = groups.get(p.q);
    if (g === undefined) {
      g = { ns: p.a.entry.namespaceId, ss: p.a.entry.subspaceId, q: p.q, items: [] };
      groups.set(p.q, g);
    }
    g.items.push(p);
  }
  return [...groups.values()];
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
  readonly #reader: Deno.Kv;
  readonly #cache = new SlotCache();
  /** Entries waiting to be committed, by subspace (namespace and subspace, hex), in order. */
  readonly #queues = new Map<string, Pending[]>();
  /** Subspaces (namespace and subspace, hex) that a running drain is committing to. */
  readonly #busy = new Set<string>();
  #drains = 0;

  constructor(kv: Deno.Kv, payloads: PayloadStore, options: EntryStoreOptions = {}) {
    this.#kv = kv;
    this.#payloads = payloads;
    this.#staleMs = options.staleMs ?? 10 * 60_000;
    this.#reader = options.reader ?? kv;
  }

  /**
   * Ingests an authorised entry: stores it, pruning what it makes obsolete, or reports it
   * obsolete. Rejects with `UnstorablePathError` for a path too long for a KV key.
   */
  ingest(a: AuthorisedEntry): Promise<IngestOutcome> {
    let key: Uint8Array;
    try {
      key = storableKey(a.entry.path);
    } catch (e) {
      return Promise.reject(e);
    }
    return new Promise((resolve, reject) => {
      const q = toHex(a.entry.namespaceId) + toHex(a.entry.subspaceId);
      let queue = this.#queues.get(q);
      if (queue === undefined) this.#queues.set(q, queue = []);
      queue.push({ a, q, candidate: { key, stored: storedOf(a) }, resolve, reject });
      this.#startDrains();
    });
  }

  /** Starts drains while there are free slots for them and subspaces with entries waiting. */
  #startDrains(): void {
    while (this.#drains < MAX_DRAINS && [...this.#queues.keys()].some((q) => !this.#busy.has(q))) {
      this.#drains++;
      this.#drain().finally(() => {
        this.#drains--;
        this.#startDrains();
      });
    }
  }

  /**
   * Commits batches until no subspace that is not being committed to has entries waiting.
   * Several drains run at once, on disjoint subspaces (so one's reads overlap another's commit);
   * a subspace's entries are committed in arrival order.
   */
  async #drain(): Promise<void> {
    for (;;) {
      const batch: Pending[] = [];
      const mine: string[] = [];
      for (const [q, queue] of this.#queues) {
        if (batch.length >= MAX_BATCH) break;
        if (this.#busy.has(q)) continue;
        batch.push(...queue.slice(0, MAX_BATCH - batch.length));
        mine.push(q);
        this.#busy.add(q);
      }
      if (batch.length === 0) return;
      let settled: Set<Pending>;
      try {
        settled = await this.#commitBatch(batch);
      } catch (e) {
        for (const p of batch) p.reject(e);
        settled = new Set(batch);
      }
      for (const q of mine) {
        const left = this.#queues.get(q)!.filter((p) => !settled.has(p));
        if (left.length === 0) this.#queues.delete(q);
        else this.#queues.set(q, left);
        this.#busy.delete(q);
      }
    }
  }

  /**
   * Commits what fits of `batch`, its subspaces (up to the commit's checks) in one commit that
   * checks and bumps each one's version (a commit costs a sync of the KV file: the fewer, the faster); returns the entries it
   * settled, at least one. Under contention it falls back to the first subspace alone.
   */
  async #commitBatch(batch: Pending[]): Promise<Set<Pending>> {
    const withPayload = await this.#withPayload(batch);
    const pinned = new Set<Pending>();
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      if (attempt > 0) await pause(attempt);
      const groups = groupBySubspace(attempt < 3 ? batch : batch.filter((p) => p.q === batch[0].q));
      const reads = await Promise.all(
        groups.map((g) =>
          this.#readSlots(g.ns, g.ss, g.items.flatMap((p) => prefixKeys(p.candidate.key)))
        ),
      );
      const records = 1 + new Set(batch.map((p) => toHex(p.a.capabilityId))).size +
        withPayload.size;
      let budget = budgetLeft(records + groups.length);
      const planned: Planned[] = [];
      for (const [i, g] of groups.entries()) {
        // One version check per subspace: the rest wait for the next commit.
        if (planned.length === COMMIT_LIMITS.checks) break;
        const candidates = g.items.map((p) => p.candidate);
        const listings = await this.#listBelow(g.ns, g.ss, candidates, reads[i].view);
        const plan = planBatch(candidates, reads[i].view, listings, budget);
        if (plan.tooLarge) {
          if (i > 0) break;
          const p = g.items[0];
          await this.#ingestLarge(p, withPayload.has(p)).then(p.resolve, p.reject);
          return new Set([p]);
        }
        budget = subtractCost(budget, plan.used);
        planned.push({ group: g, ...reads[i], plan });
        if (plan.outcomes.length < g.items.length) break;
      }
      const op = this.#kv.atomic();
      for (const { group: g, version, plan } of planned) {
        const settled = g.items.slice(0, plan.outcomes.length);
        // Stored entries hold their payload's pin, and so does an equal one (the same holder).
        const pinning = settled.filter((p, i) =>
          withPayload.has(p) && !pinned.has(p) && !isObsoleteByNewer(plan.outcomes[i])
        );
        await this.#pinFirst(g.ns, g.ss, pinning);
        for (const p of pinning) pinned.add(p);
        op.check(version);
        if (plan.writes.size > 0) op.set(keys.version(g.ns, g.ss), (version.value ?? 0n) + 1n);
        for (const { key, slot } of plan.writes.values()) setSlot(op, g.ns, g.ss, key, slot);
        const tokens = new Map<string, AuthorisedEntry>();
        settled.forEach((p, i) => {
          if (pinned.has(p) && !isObsoleteByNewer(plan.outcomes[i])) {
            op.delete(keys.pincheck(g.ns, pinRefOf(p).id));
          }
          if (plan.outcomes[i].status === "stored") tokens.set(toHex(p.a.capabilityId), p.a);
        });
        for (const a of tokens.values()) {
          op.set(keys.token(g.ns, a.capabilityId), a.capabilityBytes);
        }
        recordPinChecks(op, g.ns, g.ss, plan.doomed.map((d) => doomedRef(g.ns, g.ss, d)));
      }
      const committed = await op.commit();
      if (!committed.ok) continue;
      const settled = new Set<Pending>();
      for (const { group: g, version, view, plan } of planned) {
        const done = g.items.slice(0, plan.outcomes.length);
        this.#remember(
          g,
          view,
          plan,
          version.versionstamp,
          plan.writes.size > 0 ? committed.versionstamp : version.versionstamp,
        );
        // Pins taken in an earlier attempt for entries that turned out obsolete.
        const stale = done.filter((p, i) => pinned.has(p) && isObsoleteByNewer(plan.outcomes[i]));
        const doomed = plan.doomed.map((d) => doomedRef(g.ns, g.ss, d));
        await this.#releasePins(g.ns, [...doomed, ...stale.map(pinRefOf)]);
        done.forEach((p, i) => {
          p.resolve(plan.outcomes[i]);
          settled.add(p);
        });
      }
      return settled;
    }
    throw new StoreContentionError("the subspace kept changing under concurrent writes");
  }

  /** The entries of the batch whose payload is stored, with the length the entry names. */
  async #withPayload(batch: readonly Pending[]): Promise<Set<Pending>> {
    const sizes = await this.#payloads.sizes(
      batch.map((p) => ({ hash: p.a.entry.payloadDigest, entry: pinRefOf(p).id })),
    );
    return new Set(batch.filter((p, i) => {
      const size = sizes[i];
      return size !== undefined && BigInt(size) === p.a.entry.payloadLength;
    }));
  }

  /**
   * Reads the subspace's version and the slots at `pathKeys` (duplicates read once, by hex path
   * key), in as few round trips as `getMany` allows, and none for directory slots the cache
   * holds for that version.
   *
   * The version is read first, on its own: the slots, read in several calls, are then at that
   * version or later (the reader connection sees every commit made before a read starts). Later means another writer committed in between, and then the version
   * check of the commit planned on them fails. Read in the same calls, a slot could predate a
   * commit that the version read after it already shows, and the check would pass on stale
   * slots.
   */
  async #readSlots(
    ns: NamespaceId,
    ss: SubspaceId,
    pathKeys: readonly Uint8Array[],
  ): Promise<{ version: Deno.KvEntryMaybe<bigint>; view: Map<string, SlotAt> }> {
    const q = toHex(ns) + toHex(ss);
    const all = new Map(pathKeys.map((k) => [toHex(k), k]));
    const cached = this.#cache.get(q);
    const uncached = [...all].filter(([hex]) => !cached?.slots.has(hex)).map(([, k]) => k);
    const version = await this.#reader.get<bigint>(keys.version(ns, ss));
    const read = await getValues<Uint8Array>(
      this.#reader,
      uncached.map((k) => keys.slot(ns, ss, k)),
    );
    const view = new Map<string, SlotAt>();
    uncached.forEach((key, i) => view.set(toHex(key), { key, slot: slotOf(read[i]) }));
    const rest = [...all].filter(([hex]) => !view.has(hex)).map(([, k]) => k);
    if (cached?.versionstamp === version.versionstamp) {
      for (const key of rest) view.set(toHex(key), cached.slots.get(toHex(key))!);
    } else {
      this.#cache.forget(q);
      const again = await getValues<Uint8Array>(
        this.#reader,
        rest.map((k) => keys.slot(ns, ss, k)),
      );
      rest.forEach((key, i) => view.set(toHex(key), { key, slot: slotOf(again[i]) }));
    }
    return { version, view };
  }

  /**
   * After a commit that took a subspace from the version read (`before`) to `after`: what was
   * cached as of `before`, with the commit's writes applied, plus the group's directory slots.
   */
  #remember(
    g: Group,
    view: ReadonlyMap<string, SlotAt>,
    plan: Plan,
    before: string | null,
    after: string | null,
  ): void {
    const known = this.#cache.get(g.q);
    const slots = new Map(known?.versionstamp === before ? known.slots : []);
    for (const [hex, written] of plan.writes) if (slots.has(hex)) slots.set(hex, written);
    for (const p of g.items.slice(0, plan.outcomes.length)) {
      for (const key of prefixKeys(p.candidate.key).slice(0, -1)) {
        const hex = toHex(key);
        slots.set(hex, plan.writes.get(hex) ?? view.get(hex)!);
      }
    }
    this.#cache.set(g.q, after, slots);
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
      for await (const e of this.#kv.list<Uint8Array>(selector, { limit: LIST_LIMIT })) {
        read++;
        const key = e.key[4] as Uint8Array;
        if (key.length > c.key.length) slots.push({ key, slot: decodeSlot(e.value) });
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

  /**
   * Releases pins (and payload grants) of entries that are not stored, then forgets their
   * `pincheck` records.
   */
  async #releasePins(ns: Uint8Array, refs: readonly PinRef[]): Promise<void> {
    for (const r of refs) {
      await this.#payloads.release(
        { hash: asHash(r.digest), entry: r.id },
        payloadHolder(ns, r.id),
      );
    }
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
      if (attempt > 0) await pause(attempt);
      const { version, view } = await this.#readSlots(ns, ss, prefixKeys(key));
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
      op.set(keys.slot(ns, ss, key), encodeSlot({ entry: stored, below: true }))
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
      if (attempt > 0) await pause(attempt);
      const version = await this.#kv.get<bigint>(keys.version(ns, ss));
      const doomed: PinRef[] = [];
      const op = this.#kv.atomic().check(version)
        .set(keys.version(ns, ss), (version.value ?? 0n) + 1n);
      // Each pruned entry: its slot and its `pincheck` record.
      const budget = budgetLeft(2);
      let used = NO_COST;
      for await (
        const e of this.#kv.list<Uint8Array>(belowSelector(ns, ss, key), { batchSize: 500 })
      ) {
        const k = e.key[4] as Uint8Array;
        const slot = decodeSlot(e.value);
        const entry = slot.entry;
        if (k.length <= key.length || entry === undefined || compareStored(by, entry) <= 0) {
          continue;
        }
        used = addCost(used, addCost(writeCost(k), writeCost(k)));
        if (!fits(used, budget)) break;
        doomed.push(doomedRef(ns, ss, { key: k, stored: entry }));
        setSlot(op, ns, ss, k, slot.below ? { below: true } : null);
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
    const key = storableKey(path);
    const [slot, prunings] = await Promise.all([
      this.#kv.get<Uint8Array>(keys.slot(ns, subspace, key)),
      this.#prunings(ns),
    ]);
    const stored = slotOf(slot.value)?.entry;
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
    const { view } = await this.#readSlots(ns, subspace, prefixKeys(storableKey(path)));
    let latest: bigint | undefined;
    for (const { slot } of view.values()) {
      const t = slot?.entry?.t;
      if (t !== undefined && (latest === undefined || t > latest)) latest = t;
    }
    return latest;
  }

  /** A page of the entries `q` selects. */
  async query(ns: NamespaceId, q: EntryQuery): Promise<EntryPage> {
    const prefix = q.prefix === undefined ? new Uint8Array(0) : storableKey(q.prefix);
    const prunings = await this.#prunings(ns);
    const selector = q.subspace === undefined
      ? { prefix: keys.slots(ns) }
      : belowSelector(ns, q.subspace, prefix);
    const iter = this.#kv.list<Uint8Array>(selector, { cursor: q.cursor, batchSize: 500 });
    const entries: StoredAuthorisedEntry[] = [];
    // Once the page is full: where it ended. A cursor is handed out only if another entry
    // follows (or the scan stopped before knowing), never one that leads to an empty page.
    let full: string | undefined;
    let scanned = 0;
    for await (const e of iter) {
      const ss = e.key[3] as Uint8Array;
      const key = e.key[4] as Uint8Array;
      const stored = decodeSlot(e.value).entry;
      if (
        stored !== undefined && isKeyPrefix(prefix, key) &&
        (q.times === undefined || rangeIncludes(q.times, stored.t, compareTimes)) &&
        !hidden(prunings, ss, key, stored)
      ) {
        if (full !== undefined) return { entries, cursor: full };
        entries.push(view(ns, ss, key, stored));
        if (entries.length >= q.limit) full = iter.cursor;
      }
      if (++scanned >= SCAN_LIMIT) return { entries, cursor: full ?? iter.cursor };
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
      const slot = await this.#kv.get<Uint8Array>(keys.slot(ns, e.value.ss, e.value.key));
      const stored = slotOf(slot.value)?.entry;
      const isStored = stored !== undefined &&
        toHex(entryId(entryAt(ns, e.value.ss, e.value.key, stored))) === toHex(id);
      if (!isStored) {
        // A retry of the same entry may be under way: it rewrites this record before it pins,
        // and its commit deletes it. Either way the record's version changes, the pin is left
        // to the retry, and so is the record. (The payload grant is left too: an entry id that
        // is not stored serves nothing with it, and a retry needs it.)
        await this.#payloads.unpinUnless(asHash(e.value.d), payloadHolder(ns, id), [e]);
        if ((await this.#kv.atomic().check(e).delete(e.key).commit()).ok) unpinned++;
      } else {
        // Only the record read: a prune of the stored entry may have rewritten it since, and
        // that one is for the prune (or a later settle) to finish.
        await this.#kv.atomic().check(e).delete(e.key).commit();
      }
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

/**
 * The KV path key of `path`; `UnstorablePathError` when it is too long for a Deno KV key: no
 * entry can be stored there, and asking is a client error rather than a failed KV read.
 */
export function storableKey(path: Path): Uint8Array {
  const key = pathKey(path);
  if (key.length > MAX_PATH_KEY) {
    throw new UnstorablePathError(
      `paths here have keys of at most ${MAX_PATH_KEY} bytes; this one needs ${key.length}`,
    );
  }
  return key;
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

function subtractCost(a: Budget, b: Budget): Budget {
  return {
    mutations: a.mutations - b.mutations,
    keyBytes: a.keyBytes - b.keyBytes,
    bytes: a.bytes - b.bytes,
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
  else op.set(keys.slot(ns, ss, key), encodeSlot(slot));
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

/** The slot a KV value holds, or `null` for none. */
function slotOf(value: unknown): Slot | null {
  return value === null ? null : decodeSlot(value as Uint8Array);
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
