/**
 * The blob store on Deno KV: streaming import with the Bao outboard computed as bytes arrive,
 * deduplication, pins, verified reads and garbage collection (layout in `layout.ts`).
 *
 * An import writes pages under a fresh data id while it hashes, and makes the blob visible with
 * one atomic commit at the end; until then it is only an upload record with a heartbeat. So a
 * client that disconnects, a body over the limit, or a process killed mid-upload leaves garbage
 * that `gc` reclaims, never a half blob.
 *
 * @module
 */

import { asHash, type Hash, parseHash, toHex } from "../blake3/hash.ts";
import { Hasher } from "../blake3/hasher.ts";
import { IROH_K } from "../bao/tree.ts";
import { SNIFF_LEN, sniffContentType } from "../http/content_type.ts";
import { ATTEMPTS, pause } from "./contention.ts";
import { BlobContentionError, UploadReclaimedError, UploadTooLargeError } from "./errors.ts";
import { VerifiedPairs } from "../bao/verified_pairs.ts";
import { KvBlobSource, OutboardCache } from "./kv_source.ts";
import { getValues } from "./get_values.ts";
import {
  type BlobMeta,
  DATA_PAGE,
  isBlobMeta,
  keys,
  type LeaseRecord,
  OB_PAGE,
  pageCounts,
  type TrashRecord,
  type UploadRecord,
} from "./layout.ts";
import { PageAssembler, PageWriter } from "./page_writer.ts";
import {
  storedBytes,
  type VerifiedGroup,
  type VerifiedPair,
  type WriteOptions,
  type WriteResult,
  writeVerified,
} from "./partial.ts";

/** The holder of the pin an ordinary upload takes. */
export const USER_PIN = "user";

/** The holder under which blob `hash` keeps other blobs (a hash sequence its children). */
export function blobHolder(hash: Hash): string {
  return `blob:${toHex(hash)}`;
}

/** A temporary holder that is released by garbage collection if its owner stops renewing it. */
export interface Lease {
  readonly holder: string;
  /** Keeps the lease alive; call more often than the store's `uploadStaleMs`. */
  renew(): Promise<void>;
  /** Releases every pin the lease holds, and the lease. */
  release(): Promise<void>;
}

export interface ImportOptions {
  /** Largest accepted size in bytes; beyond it the import fails with `UploadTooLargeError`. */
  maxSize?: number;
  /** The pin to take on the blob (default `USER_PIN`); `null` imports without pinning. */
  pin?: string | null;
  /**
   * A payload of a namespace that is not public (`BlobMeta.restricted`): a blob new here stays
   * hidden from public reads. Importing one without this makes it public: whoever imports it so
   * knows its bytes and publishes them.
   */
  restricted?: boolean;
}

export interface ImportResult {
  hash: Hash;
  size: number;
  /** False when the blob was already stored (the new copy was discarded). */
  created: boolean;
}

export interface StoreTimings {
  /** How often a running import refreshes its upload record. */
  heartbeatMs: number;
  /** An upload whose record is older than this is presumed dead and collected. */
  uploadStaleMs: number;
  /** An unpinned blob is collected once it has been unpinned this long. */
  unpinnedGraceMs: number;
  /**
   * A cached blob read or written here this recently is in use and not evicted: a fetch between
   * two slices, a collection lookup, a client about to ask for its next range. Streams hold
   * their blob for as long as they last besides (`holding`), so a paused reader is covered too.
   */
  inUseMs: number;
}

export interface StoreOptions extends StoreTimings {
  /** Bytes of unpinned peer data to keep (`GATEWAY_CACHE_BYTES`); default unlimited. */
  cacheBytes: number;
  /**
   * More connections to the same database, used only to read pages: a local SQLite database
   * serves each connection on its own thread, so reads no longer queue behind one another.
   */
  readers: Deno.Kv[];
}

export const DEFAULT_TIMINGS: StoreTimings = {
  heartbeatMs: 5_000,
  uploadStaleMs: 10 * 60_000,
  unpinnedGraceMs: 60_000,
  inUseMs: 30_000,
};

export interface GcReport {
  /** Blobs removed, evicted ones included. */
  blobs: number;
  /** Cached peer blobs evicted to stay within the cache budget. */
  evicted: number;
  uploads: number;
  pages: number;
  /** Blob records that are not metadata (a damaged store), passed over. */
  malformed: number;
}

/** How long complete blobs' metadata is reused for serving, and for how many blobs. */
const META_CACHE_MS = 1000;
const META_CACHE_ENTRIES = 10_000;

/** How long a hash sequence's mark is trusted without reading it again. */
const HASH_SEQ_SEEN_MS = 60_000;

/** Blobs whose last activity is remembered before the inactive ones are forgotten. */
const MAX_ACTIVE = 10_000;

/** How often read times are written to KV for eviction. */
const TOUCH_FLUSH_MS = 5_000;

export class BlobStore {
  readonly kv: Deno.Kv;
  readonly timings: StoreTimings;
  /** Bytes of unpinned peer data kept before the least recently used is evicted. */
  readonly cacheBytes: number;
  readonly #obCache = new OutboardCache();
  /** Pairs verified by earlier reads: later reads skip re-verifying the path from the root. */
  readonly #verified = new VerifiedPairs();
  readonly #readers: Deno.Kv[];
  #nextReader = 0;
  /** Metadata of complete blobs recently served, with when it was read (see `readMeta`). */
  readonly #metaCache = new Map<string, { meta: BlobMeta; at: number }>();
  /** When each blob was last read here, waiting to be written to KV (for LRU eviction). */
  readonly #touched = new Map<string, number>();
  /** The last write queued per blob (see `writeVerified`). */
  readonly #writing = new Map<string, Promise<void>>();
  /** When each blob was last read or written here (hex hash → ms), for `inUseMs`. */
  readonly #active = new Map<string, number>();
  /** Hash sequences found marked (hex hash → when), see `markHashSeq`. */
  readonly #hashSeqsSeen = new Map<string, number>();
  /** Readers streaming each blob now (hex hash → count; see `holding`). */
  readonly #holds = new Map<string, number>();
  #pruneActiveAt = MAX_ACTIVE;
  #lastTouchFlush = 0;
  /** Renews the access records of what is in use here while anything is (see `#shareUse`). */
  #shareTimer: ReturnType<typeof setInterval> | undefined;
  /**
   * Cached peer data as this process knows it: the total the last eviction scan found, plus
   * what was written as cache since. `undefined` before the first scan.
   */
  #cachedBytes: number | undefined;
  /** Bytes ever written here as cache: what was written during a scan is added to its total. */
  #cachedWritten = 0;
  /** The total beyond which a cached write starts another scan (see `#evictIfOver`). */
  #nextScanAt = 0;
  #evicting: Promise<number> | undefined;
  /** Set by `close`: no more scans start behind writes. */
  #closed = false;

  constructor(kv: Deno.Kv, options: Partial<StoreOptions> = {}) {
    this.kv = kv;
    const { cacheBytes, readers, ...timings } = options;
    this.timings = {
      ...DEFAULT_TIMINGS,
      // Several heartbeats within the stale limit, however short it is configured.
      heartbeatMs: Math.min(DEFAULT_TIMINGS.heartbeatMs, (timings.uploadStaleMs ?? Infinity) / 4),
      ...timings,
    };
    this.cacheBytes = cacheBytes ?? Infinity;
    this.#readers = readers ?? [];
  }

  /**
   * Imports a stream. Memory stays bounded whatever the size: one page of data, one of
   * outboard, the hasher's 1 MiB slab, and at most two commits in flight.
   */
  async import(
    body: AsyncIterable<Uint8Array>,
    options: ImportOptions = {},
  ): Promise<ImportResult> {
    const maxSize = options.maxSize ?? Infinity;
    const pin = options.pin === undefined ? USER_PIN : options.pin;
    const dataId = crypto.randomUUID();
    const startedAt = Date.now();
    const record = (extra: Partial<UploadRecord> = {}): UploadRecord => ({
      startedAt,
      updatedAt: Date.now(),
      dataPages: data.count,
      obPages: outboard.count,
      ...extra,
    });
    const writer = new PageWriter(this.kv);
    const allocate = (size: number) => writer.buffer(size);
    const data = new PageAssembler(
      DATA_PAGE,
      (i, page) => writer.put(keys.dataPage(dataId, i), page),
      allocate,
    );
    const outboard = new PageAssembler(
      OB_PAGE,
      (i, page) => writer.put(keys.obPage(dataId, i), page),
      allocate,
    );
    // The record's version: collection deletes the record of an upload it presumes dead, and
    // neither a heartbeat nor the final commit may then bring that upload back over its
    // deleted pages.
    const upload = { key: keys.upload(dataId), versionstamp: "" };
    upload.versionstamp = (await this.kv.set(upload.key, record())).versionstamp;
    const pairs: Uint8Array[] = [];
    const hasher = new Hasher({
      groupLog: IROH_K,
      onParent: (left, right) => {
        const pair = new Uint8Array(64);
        pair.set(left);
        pair.set(right, 32);
        pairs.push(pair);
      },
    });
    const drainPairs = async () => {
      for (const pair of pairs.splice(0)) await outboard.write(pair);
    };
    const head = new Uint8Array(SNIFF_LEN);
    let size = 0;
    let lastBeat = startedAt;
    try {
      for await (const piece of body) {
        size += piece.length;
        if (size > maxSize) throw new UploadTooLargeError(maxSize);
        const before = size - piece.length;
        if (before < SNIFF_LEN) head.set(piece.subarray(0, SNIFF_LEN - before), before);
        hasher.update(piece);
        await data.write(piece);
        await drainPairs();
        if (Date.now() - lastBeat > this.timings.heartbeatMs) {
          lastBeat = Date.now();
          // Counts of pages already committed, so collection can find them after a crash.
          await writer.flush();
          const beat = await this.kv.atomic().check(upload).set(upload.key, record()).commit();
          if (!beat.ok) throw new UploadReclaimedError(this.timings.uploadStaleMs);
          upload.versionstamp = beat.versionstamp;
        }
      }
      const hash = hasher.finalize();
      await drainPairs();
      await data.close();
      await outboard.close();
      await writer.flush();
      const sniffedType = sniffContentType(head.subarray(0, Math.min(size, SNIFF_LEN)), size);
      return await this.#commitImport(
        { dataId, upload },
        { hash, size, sniffedType },
        pin,
        options.restricted,
      );
    } catch (e) {
      // Whatever is in flight may still land: the tail scan in #deletePages catches it.
      await writer.flush().catch(() => {});
      await this.#discard(dataId, record({ discard: true })).catch(() => {/* gc finishes */});
      throw e;
    }
  }

  /**
   * Makes the imported blob visible: meta, pin and the end of the upload record in one commit,
   * which fails if collection reclaimed the upload meanwhile. If the same blob is already
   * stored, the new pages are garbage: pin the existing blob, unless it was collected meanwhile.
   */
  async #commitImport(
    { dataId, upload }: { dataId: string; upload: Deno.AtomicCheck },
    { hash, size, sniffedType }: { hash: Hash; size: number; sniffedType: string | undefined },
    pin: string | null,
    restricted = false,
  ): Promise<ImportResult> {
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      if (attempt > 0) await pause(attempt);
      const existing = await this.kv.get<BlobMeta>(keys.blob(hash));
      if (existing.value !== null && existing.value.partial === undefined) {
        // Imported in public: public from now on, and new to the public (so `created`, or the
        // answer would tell an uploader that someone keeps these bytes in private).
        const published = existing.value.restricted === true && !restricted;
        if (published) await this.publish(hash);
        // Collected since it was read: this upload's pages are the copy to keep.
        if (pin !== null && !(await this.pin(hash, pin))) continue;
        const now = Date.now();
        await this.#discard(dataId, { startedAt: now, updatedAt: now, ...pageCounts(size) });
        return { hash, size, created: published };
      }
      // A partial copy (from peers) is replaced by the complete upload; its pins carry over.
      const old = existing.value;
      const pinned = pin !== null && old !== null &&
        (await this.kv.get(keys.pin(hash, pin))).value !== null;
      const refs = (old?.refs ?? 0) + (pin === null || pinned ? 0 : 1);
      const meta: BlobMeta = {
        size,
        dataId,
        refs,
        createdAt: Date.now(),
        ...(refs === 0 ? { unpinnedAt: Date.now() } : {}),
        ...(sniffedType === undefined ? {} : { sniffedType }),
        ...(old?.cached ? { cached: true } : {}),
        // Data that came from peers (`old`) was public already.
        ...(restricted && old === null ? { restricted: true } : {}),
      };
      const op = this.kv.atomic().check(existing, upload).set(keys.blob(hash), meta)
        .delete(upload.key);
      if (pin !== null && !pinned) {
        op.set(keys.pin(hash, pin), { since: Date.now() }).set(keys.holds(pin, hash), true);
      }
      if (old !== null) op.set(keys.trash(old.dataId), { since: Date.now(), ...pageCounts(size) });
      if ((await op.commit()).ok) return { hash, size, created: true };
      if ((await this.kv.get(upload.key)).versionstamp !== upload.versionstamp) {
        throw new UploadReclaimedError(this.timings.uploadStaleMs);
      }
    }
    throw new BlobContentionError(`could not commit blob ${toHex(hash)}: too much contention`);
  }

  /** Marks an upload's pages as garbage, deletes them, then forgets the upload. */
  async #discard(dataId: string, record: UploadRecord): Promise<void> {
    await this.kv.set(keys.upload(dataId), { ...record, discard: true });
    await this.#deletePages(dataId, record.dataPages, record.obPages);
    await this.kv.delete(keys.upload(dataId));
  }

  /** The blob's metadata, without reading any of its data (HEAD, existence checks). */
  async stat(hash: Hash): Promise<BlobMeta | undefined> {
    return (await this.kv.get<BlobMeta>(keys.blob(hash))).value ?? undefined;
  }

  /** The metadata of many blobs, in reads of 10, a few at a time (`getValues`). */
  async statMany(hashes: readonly Hash[]): Promise<(BlobMeta | undefined)[]> {
    const metas = await getValues<BlobMeta>(this.kv, hashes.map((h) => keys.blob(h)));
    return metas.map((m) => m ?? undefined);
  }

  /**
   * Makes a restricted blob (`BlobMeta.restricted`) public: its bytes are known outside the
   * namespaces that kept them (uploaded in public, or held by a peer that serves them).
   */
  async publish(hash: Hash): Promise<void> {
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      if (attempt > 0) await pause(attempt);
      const entry = await this.kv.get<BlobMeta>(keys.blob(hash));
      if (!entry.value?.restricted) return;
      const { restricted: _, ...open } = entry.value;
      if ((await this.kv.atomic().check(entry).set(keys.blob(hash), open).commit()).ok) {
        this.#metaCache.delete(toHex(hash));
        return;
      }
    }
    throw new BlobContentionError(`could not publish blob ${toHex(hash)}: too much contention`);
  }

  /**
   * Records that `hash` is a hash sequence (discovery then reports its children). Collections
   * mark theirs on every read, so a mark seen in the last minute is not read again.
   */
  async markHashSeq(hash: Hash): Promise<void> {
    const hex = toHex(hash);
    const seen = this.#hashSeqsSeen.get(hex);
    if (seen !== undefined && Date.now() - seen < HASH_SEQ_SEEN_MS) return;
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      if (attempt > 0) await pause(attempt);
      const entry = await this.kv.get<BlobMeta>(keys.blob(hash));
      if (entry.value === null) return;
      if (entry.value.hashSeq) {
        if (this.#hashSeqsSeen.size >= META_CACHE_ENTRIES) this.#hashSeqsSeen.clear();
        this.#hashSeqsSeen.set(hex, Date.now());
        return;
      }
      const op = this.kv.atomic().check(entry).set(keys.blob(hash), {
        ...entry.value,
        hashSeq: true,
      });
      if ((await op.commit()).ok) return;
    }
  }

  /**
   * A connection for reads that are no part of a commit's snapshot (Willow slots, payload sizes):
   * the extra read connections in turn when there are some, so that such reads do not queue on
   * the connection that commits; else the store's own.
   */
  reader(): Deno.Kv {
    if (this.#readers.length === 0) return this.kv;
    this.#nextReader = (this.#nextReader + 1) % this.#readers.length;
    return this.#readers[this.#nextReader];
  }

  /** The stored blob as a source for verified reads and encodings, or `undefined`. */
  async open(hash: Hash): Promise<KvBlobSource | undefined> {
    const meta = await this.stat(hash);
    return meta ? this.source(hash, meta) : undefined;
  }

  /**
   * A verified-read source over a stored blob whose metadata was just read. Reads of a cached
   * blob renew its "in use" mark as they go, whoever reads (a client, a peer's `/get`, a
   * collection lookup); streams also hold it for as long as they last (`holding`).
   */
  source(hash: Hash, meta: BlobMeta): KvBlobSource {
    const onRead = meta.cached ? () => this.touch(hash) : undefined;
    return new KvBlobSource(
      this.kv,
      hash,
      meta,
      this.#obCache,
      this.#readers,
      this.#verified,
      onRead,
    );
  }

  /**
   * Metadata for serving a blob. A complete blob's size and data id never change while it
   * exists, so it is kept for a moment and a busy blob costs one KV read per second instead of
   * one per request; a blob collected meanwhile fails its reads' verification, never serves
   * wrong bytes. Partial blobs change as data arrives and are always read fresh.
   */
  async readMeta(hash: Hash): Promise<BlobMeta | undefined> {
    const key = toHex(hash);
    const hit = this.#metaCache.get(key);
    if (hit !== undefined && Date.now() - hit.at < META_CACHE_MS) return hit.meta;
    const meta = await this.stat(hash);
    this.#metaCache.delete(key);
    if (meta !== undefined && meta.partial === undefined) {
      if (this.#metaCache.size >= META_CACHE_ENTRIES) {
        this.#metaCache.delete(this.#metaCache.keys().next().value!);
      }
      this.#metaCache.set(key, { meta, at: Date.now() });
    }
    return meta;
  }

  /** Takes the pin `holder` on a stored blob; false if the blob is not stored. Idempotent. */
  async pin(hash: Hash, holder: string): Promise<boolean> {
    return await this.#updatePins(hash, holder, true);
  }

  /** Whether `holder` pins `hash`: what releasing the pin needs, asked before conditions on it. */
  async isPinned(hash: Hash, holder: string): Promise<boolean> {
    return (await this.kv.get(keys.pin(hash, holder))).value !== null;
  }

  /**
   * Releases the pin `holder`; false if the blob or that pin was not there. With `unless`, only
   * if those KV entries are still at the versions given (false otherwise): for a caller that
   * decided to release on what it read, and must not if that changed meanwhile.
   */
  async unpin(
    hash: Hash,
    holder: string,
    unless: readonly Deno.AtomicCheck[] = [],
  ): Promise<boolean> {
    return await this.#updatePins(hash, holder, false, unless);
  }

  async #updatePins(
    hash: Hash,
    holder: string,
    add: boolean,
    unless: readonly Deno.AtomicCheck[] = [],
  ): Promise<boolean> {
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      if (attempt > 0) await pause(attempt);
      const [meta, pin] = await this.kv.getMany<[BlobMeta, unknown]>([
        keys.blob(hash),
        keys.pin(hash, holder),
      ]);
      if (meta.value === null) return false;
      if ((pin.value !== null) === add) return add;
      const refs = meta.value.refs + (add ? 1 : -1);
      const next: BlobMeta = {
        ...meta.value,
        refs,
        unpinnedAt: refs === 0 ? Date.now() : undefined,
      };
      const op = this.kv.atomic().check(meta, pin, ...unless).set(keys.blob(hash), next);
      if (add) {
        op.set(keys.pin(hash, holder), { since: Date.now() }).set(keys.holds(holder, hash), true);
      } else op.delete(keys.pin(hash, holder)).delete(keys.holds(holder, hash));
      if ((await op.commit()).ok) return true;
      if (unless.length > 0) {
        const now = await this.kv.getMany(unless.map((c) => c.key));
        if (now.some((e, i) => e.versionstamp !== unless[i].versionstamp)) return false;
      }
    }
    throw new BlobContentionError(`could not update pins of ${toHex(hash)}: too much contention`);
  }

  /**
   * Up to `limit` blobs that `holder` pins, in hash order, from `cursor` (the `next` of the page
   * before; `undefined` at the end). Deno KV rejects a cursor it did not issue with `TypeError`.
   */
  async pinnedBy(
    holder: string,
    options: { cursor?: string; limit: number },
  ): Promise<{ hashes: Hash[]; next: string | undefined }> {
    const iter = this.kv.list({ prefix: keys.heldBy(holder) }, {
      cursor: options.cursor,
      limit: options.limit,
      batchSize: options.limit,
    });
    const hashes: Hash[] = [];
    for await (const entry of iter) hashes.push(asHash(entry.key[2] as Uint8Array));
    const next = hashes.length === options.limit && iter.cursor !== "" ? iter.cursor : undefined;
    return { hashes, next };
  }

  /** Releases every pin `holder` has; returns how many. */
  async releaseHolder(holder: string): Promise<number> {
    let n = 0;
    for await (const e of this.kv.list({ prefix: keys.heldBy(holder) }, { batchSize: 500 })) {
      const hash = asHash(e.key[2] as Uint8Array);
      if (await this.unpin(hash, holder)) n++;
      // A pin whose blob is gone leaves only its reverse entry.
      else await this.kv.delete(e.key);
    }
    return n;
  }

  /** A new lease, alive until released or until it is not renewed for `uploadStaleMs`. */
  async lease(): Promise<Lease> {
    const id = crypto.randomUUID();
    const holder = `lease:${id}`;
    const startedAt = Date.now();
    await this.kv.set(keys.lease(id), { startedAt, updatedAt: startedAt } satisfies LeaseRecord);
    return {
      holder,
      renew: async () => {
        await this.kv.set(keys.lease(id), { startedAt, updatedAt: Date.now() });
      },
      release: async () => {
        await this.releaseHolder(holder);
        await this.kv.delete(keys.lease(id));
      },
    };
  }

  /**
   * Every stored blob with its metadata, in hash order. A record that is not metadata (a
   * damaged store) is passed over, and counted in `malformed`.
   */
  async *list(malformed = { count: 0 }): AsyncGenerator<{ hash: Hash; meta: BlobMeta }> {
    for await (const e of this.kv.list({ prefix: keys.blobs }, { batchSize: 500 })) {
      if (isBlobMeta(e.value)) yield { hash: asHash(e.key[1] as Uint8Array), meta: e.value };
      else malformed.count++;
    }
  }

  /**
   * Reclaims unpinned blobs (after their grace period), uploads that were discarded or whose
   * heartbeat stopped, and pages left in the trash by an interrupted collection.
   */
  async gc(now = Date.now()): Promise<GcReport> {
    const report: GcReport = { blobs: 0, evicted: 0, uploads: 0, pages: 0, malformed: 0 };
    const malformed = { count: 0 };
    for await (const e of this.kv.list<LeaseRecord>({ prefix: keys.leases })) {
      if (e.value.updatedAt > now - this.timings.uploadStaleMs) continue;
      await this.releaseHolder(`lease:${e.key[1] as string}`);
      await this.kv.delete(e.key);
    }
    // Releases that a crash (or a failed KV call) interrupted, before the walk that may find
    // what they release.
    for await (const e of this.kv.list({ prefix: keys.releases })) {
      await this.#releaseCollected(asHash(e.key[1] as Uint8Array));
    }
    // Collecting a blob releases what it held, which can make more blobs collectable: repeat
    // until a round collects nothing.
    let collected = -1;
    while (collected !== 0) {
      collected = 0;
      // Blobs released by the previous round count from when they were released.
      const cutoff = Math.max(now, Date.now()) - this.timings.unpinnedGraceMs;
      malformed.count = 0;
      for await (const { hash, meta } of this.list(malformed)) {
        // Peer data kept as cache leaves by eviction, below, not by collection.
        if (meta.refs > 0 || meta.cached || (meta.unpinnedAt ?? 0) > cutoff) continue;
        if (await this.#collect(hash, now)) collected++;
      }
      report.blobs += collected;
    }
    report.malformed = malformed.count;
    report.evicted = await this.#evictOnce(now);
    report.blobs += report.evicted;
    for await (const e of this.kv.list<UploadRecord>({ prefix: keys.uploads })) {
      if (!e.value.discard && e.value.updatedAt > now - this.timings.uploadStaleMs) continue;
      // Claim it before deleting a page: the claim changes the record's version, so an upload
      // that resumes meanwhile fails its next heartbeat or its commit (`UploadReclaimedError`)
      // instead of committing over pages that are going.
      const claim = await this.kv.atomic().check(e).set(e.key, { ...e.value, discard: true })
        .commit();
      if (!claim.ok) continue;
      report.pages += await this.#deletePages(
        e.key[1] as string,
        e.value.dataPages,
        e.value.obPages,
      );
      await this.kv.atomic().check({ key: e.key, versionstamp: claim.versionstamp }).delete(e.key)
        .commit();
      report.uploads++;
    }
    for await (const e of this.kv.list<TrashRecord>({ prefix: keys.trashes })) {
      report.pages += await this.#deletePages(
        e.key[1] as string,
        e.value.dataPages,
        e.value.obPages,
      );
      await this.kv.delete(e.key);
    }
    return report;
  }

  /**
   * Removes an unpinned blob: meta gone and pages in the trash in one commit that a pin taken
   * meanwhile makes fail; then whatever it held is released.
   */
  async #collect(hash: Hash, now: number, evicting = false): Promise<boolean> {
    const [entry, access] = await this.kv.getMany<[BlobMeta, number]>([
      keys.blob(hash),
      keys.access(hash),
    ]);
    if (entry.value === null || entry.value.refs > 0) return false;
    // A reader may have come while this was decided, here or in another instance: look again
    // just before the commit, which fails if another instance renews the access record.
    const usedElsewhere = access.value !== null && this.#recent(access.value, now);
    if (evicting && (this.#inUse(toHex(hash), now) || usedElsewhere)) return false;
    const trash: TrashRecord = { since: now, ...pageCounts(entry.value.size) };
    const ok = await this.kv.atomic().check(entry, access).delete(keys.blob(hash))
      .delete(keys.access(hash)).set(keys.trash(entry.value.dataId), trash)
      .set(keys.release(hash), now).commit();
    if (!ok.ok) return false;
    this.#metaCache.delete(toHex(hash));
    await this.#releaseCollected(hash);
    return true;
  }

  /**
   * Releases what the collected blob `hash` held, then its `release` record. If the blob was
   * stored again meanwhile, its pins (the same keys) are the new copy's: they stay.
   */
  async #releaseCollected(hash: Hash): Promise<void> {
    if ((await this.kv.get(keys.blob(hash))).value === null) {
      await this.releaseHolder(blobHolder(hash));
    }
    await this.kv.delete(keys.release(hash));
  }

  /**
   * Evicts unpinned cached blobs, least recently read first, beyond `cacheBytes`; never one in
   * use here (read or written within `inUseMs`): a blob bigger than the whole budget is kept
   * while it is being fetched or read, and goes at the first scan after.
   */
  async #evict(now: number): Promise<number> {
    if (this.cacheBytes === Infinity) return 0;
    this.#forgetInactive(now);
    const writtenBefore = this.#cachedWritten;
    await this.#flushTouches(true);
    const cached: { hash: Hash; bytes: number; lastRead: number }[] = [];
    let total = 0;
    for await (const { hash, meta } of this.list()) {
      if (meta.refs > 0 || !meta.cached) continue;
      const lastRead = (await this.kv.get<number>(keys.access(hash))).value ?? meta.createdAt;
      const bytes = storedBytes(meta);
      cached.push({ hash, bytes, lastRead });
      total += bytes;
    }
    cached.sort((a, b) => a.lastRead - b.lastRead);
    let evicted = 0;
    for (const c of cached) {
      if (total <= this.cacheBytes) break;
      // In use: being fetched or read here, or elsewhere (as its access record says).
      if (this.#inUse(toHex(c.hash), now) || this.#recent(c.lastRead, now)) continue;
      if (await this.#collect(c.hash, now, true)) {
        total -= c.bytes;
        evicted++;
      }
    }
    // Writes go on during a scan: count what they added (some twice at worst: a scan sooner).
    this.#cachedBytes = total + (this.#cachedWritten - writtenBefore);
    // Still over (everything else in use): scan again only after a sixteenth more is written.
    this.#nextScanAt = Math.max(this.cacheBytes, total + this.cacheBytes / 16);
    return evicted;
  }

  /**
   * Notes that a blob was read, for least-recently-used eviction. Reads are frequent, so the
   * times are kept in memory and written to KV at most every few seconds.
   */
  touch(hash: Hash): void {
    const hex = toHex(hash);
    this.#touched.set(hex, Date.now());
    this.#markActive(hex);
    void this.#flushTouches(false);
  }

  async #flushTouches(now: boolean): Promise<void> {
    if (this.#touched.size === 0) return;
    if (!now && Date.now() - this.#lastTouchFlush < TOUCH_FLUSH_MS) return;
    this.#lastTouchFlush = Date.now();
    const touched = [...this.#touched];
    this.#touched.clear();
    for (let i = 0; i < touched.length; i += 500) {
      const batch = touched.slice(i, i + 500);
      // Only for blobs still here: the record of one collected meanwhile would stay for good.
      // (One collected between this read and the commit can still leave one; GC's commit that
      // collects a blob deletes its record, so that takes a collection racing this flush.)
      try {
        const metas = await getValues(this.kv, batch.map(([hex]) => keys.blob(parseHash(hex))));
        const op = this.kv.atomic();
        batch.forEach(([hex, time], j) => {
          if (metas[j] !== null) op.set(keys.access(parseHash(hex)), time);
        });
        await op.commit();
      } catch {
        // Best effort: eviction order, and use seen from elsewhere, a few seconds later.
      }
    }
  }

  /**
   * Instances sharing the KV see each other's use only through the access records: while a
   * stream holds a blob here, or cached data was just written here, the records are renewed
   * often enough (a third of `inUseMs`) that another instance's eviction passes the blob over.
   */
  #shareUse(): void {
    if (this.#shareTimer !== undefined || this.#closed) return;
    this.#shareTimer = setInterval(() => {
      if (this.#holds.size === 0 && this.#touched.size === 0) {
        clearInterval(this.#shareTimer);
        this.#shareTimer = undefined;
        return;
      }
      const now = Date.now();
      for (const hex of this.#holds.keys()) this.#touched.set(hex, now);
      void this.#flushTouches(true);
    }, Math.max(10, Math.min(TOUCH_FLUSH_MS, this.timings.inUseMs / 3)));
    Deno.unrefTimer(this.#shareTimer);
  }

  /** Whether a use at `at` (ms, as an access record holds it) is within `inUseMs` of `now`. */
  #recent(at: number, now: number): boolean {
    return Math.max(now, Date.now()) - at < this.timings.inUseMs;
  }

  /**
   * Stores verified groups and pairs of a partial blob (see `writeVerified`). Writes to one
   * blob from this process take turns: they all update its meta record, and turns are cheaper
   * than conflicting commits retried. (Other processes sharing the KV are handled by the
   * commits' version checks.)
   */
  async writeVerified(
    hash: Hash,
    size: number,
    groups: readonly VerifiedGroup[],
    pairs: readonly VerifiedPair[],
    options: WriteOptions = {},
  ): Promise<WriteResult> {
    const key = toHex(hash);
    this.#markActive(key);
    const previous = this.#writing.get(key) ?? Promise.resolve();
    const mine = previous.catch(() => {}).then(() =>
      writeVerified(this.kv, hash, size, groups, pairs, options)
    );
    const done = mine.then(() => {}, () => {});
    this.#writing.set(key, done);
    done.then(() => {
      if (this.#writing.get(key) === done) this.#writing.delete(key);
    });
    const result = await mine;
    this.#markActive(key);
    if (options.cached) {
      this.#touched.set(key, Date.now());
      void this.#flushTouches(false);
      this.#shareUse();
    }
    if (options.cached && this.cacheBytes !== Infinity) {
      let bytes = 0;
      for (const g of groups) bytes += g.data.length;
      this.#cachedWritten += bytes;
      if (this.#cachedBytes !== undefined) this.#cachedBytes += bytes;
      this.#evictIfOver();
    }
    return result;
  }

  /**
   * Keeps cached peer data within the budget as it is written, not only at the next GC: starts a
   * scan (of all blobs, so once per `cacheBytes / 16` written while over budget, not per write)
   * when this process's count says the budget is exceeded, or has no count yet. It runs behind
   * the write: the write has succeeded whatever the scan meets.
   */
  #evictIfOver(): void {
    if (this.#closed) return;
    if (this.#cachedBytes !== undefined && this.#cachedBytes <= this.#nextScanAt) return;
    this.#evictOnce(Date.now()).catch((e) => console.error("evicting cached blobs failed:", e));
  }

  /**
   * `pieces`, with blob `hash` kept from eviction from the first read until the iteration ends,
   * fails or is cancelled, however long the reader pauses in between (a slow client's
   * backpressure). The `inUseMs` mark alone lapses during such a pause; a count does not.
   * Releasing renews the mark, so a client's next request finds the blob still there.
   */
  async *holding<T>(hash: Hash, pieces: AsyncIterable<T>): AsyncGenerator<T> {
    const hex = toHex(hash);
    this.#holds.set(hex, (this.#holds.get(hex) ?? 0) + 1);
    this.#shareUse();
    try {
      yield* pieces;
    } finally {
      const left = this.#holds.get(hex)! - 1;
      if (left === 0) this.#holds.delete(hex);
      else this.#holds.set(hex, left);
      this.#markActive(hex);
    }
  }

  #markActive(hex: string): void {
    this.#active.set(hex, Date.now());
    // Bounded even with no scan to prune it (no budget, no GC): what is no longer in use goes,
    // and the next pruning waits until the map has doubled (amortised O(1) however busy).
    if (this.#active.size > this.#pruneActiveAt) {
      this.#forgetInactive(Date.now());
      this.#pruneActiveAt = Math.max(MAX_ACTIVE, 2 * this.#active.size);
    }
  }

  #inUse(hex: string, now: number): boolean {
    if (this.#holds.has(hex)) return true;
    return Math.max(now, Date.now()) - (this.#active.get(hex) ?? -Infinity) < this.timings.inUseMs;
  }

  #forgetInactive(now: number): void {
    for (const [hex, at] of this.#active) {
      if (now - at >= this.timings.inUseMs) this.#active.delete(hex);
    }
  }

  /** Resolves once no eviction scan is running. */
  async evictionSettled(): Promise<void> {
    while (this.#evicting !== undefined) await this.#evicting.catch(() => {});
  }

  /** Before the KV is closed: no new scans behind writes, and the running one finished. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#shareTimer);
    this.#shareTimer = undefined;
    await this.evictionSettled();
  }

  /** One eviction scan at a time: a caller arriving during one waits for it. */
  #evictOnce(now: number): Promise<number> {
    this.#evicting ??= this.#evict(now).finally(() => this.#evicting = undefined);
    return this.#evicting;
  }

  /**
   * Deletes the data and outboard pages of `dataId`: the first `dataPages`/`obPages` by key,
   * then any written after those counts were recorded, found by listing from there (listing
   * reads values, so it is kept to that short tail). Returns how many keys it deleted.
   */
  async #deletePages(dataId: string, dataPages: number, obPages: number): Promise<number> {
    let deleted = 0;
    const deleteKeys = async (all: Deno.KvKey[]) => {
      for (let i = 0; i < all.length; i += 1000) {
        const op = this.kv.atomic();
        for (const key of all.slice(i, i + 1000)) op.delete(key);
        await op.commit();
      }
      deleted += all.length;
    };
    const parts: [Deno.KvKey, number, (i: number) => Deno.KvKey][] = [
      [keys.dataPages(dataId), dataPages, (i) => keys.dataPage(dataId, i)],
      [keys.obPages(dataId), obPages, (i) => keys.obPage(dataId, i)],
    ];
    for (const [prefix, count, key] of parts) {
      await deleteKeys(Array.from({ length: count }, (_, i) => key(i)));
      const tail: Deno.KvKey[] = [];
      for await (const e of this.kv.list({ prefix, start: key(count) }, { batchSize: 16 })) {
        tail.push(e.key);
      }
      await deleteKeys(tail);
    }
    return deleted;
  }
}
