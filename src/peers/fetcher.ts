/**
 * The peer bridge: fetches what this gateway lacks from peer gateways, verified, shared between
 * concurrent readers, stored as partial blobs, and handed to readers the moment each 16 KiB
 * group verifies.
 *
 * - First contact with a blob asks every peer what it holds (in parallel, with a short
 *   deadline), then fetches its first group and its last chunk from the best peer: that proves
 *   the size before anything is stored, and gives the first bytes for content sniffing.
 * - Readers ask for windows of groups ahead of where they read. A group already on its way is
 *   awaited, never fetched twice; missing groups go to the best peer that claims them, split
 *   across peers when each has part.
 * - A peer that lies (a bad pair or group, a wrong size), stops mid-stream or stalls is cut at
 *   once, its health drops, and what it still owed goes to the next peer. Groups are stored
 *   only when the peer's whole response verified: nothing from a liar is kept, even the good
 *   groups it sent before lying.
 *
 * @module
 */

import { CHUNK_LEN } from "../blake3/constants.ts";
import { type Hash, toHex } from "../blake3/hash.ts";
import { BaoTree, IROH_K } from "../bao/tree.ts";
import type { Metrics } from "../metrics.ts";
import { ChunkRanges } from "../ranges/chunk_ranges.ts";
import type { BlobStore } from "../store/blob_store.ts";
import type { BlobMeta } from "../store/layout.ts";
import {
  MAX_BOUNDARIES,
  storedRanges,
  type VerifiedGroup,
  type VerifiedPair,
} from "../store/partial.ts";
import { verifiedSteps } from "../bao/encode.ts";
import { NotOnPeersError, PeersFailedError, PeerTimeoutError } from "./errors.ts";
import type { Peer, PeerSet } from "./peer.ts";
import {
  peerAvailability,
  PeerRequestError,
  type PeerTimeouts,
  streamFromPeer,
} from "./peer_client.ts";

export interface FetcherOptions {
  /** How long to wait for peers' discovery answers. */
  discoveryMs: number;
  timeouts: PeerTimeouts;
  /**
   * Groups a reader asks for at once (4 MiB at 256). A window arrives at the peer's pace
   * whatever the reader's, and waits in memory for it: this bounds what a slow reader holds.
   */
  windowGroups: number;
  /** How long a peer's discovery answer is reused. */
  availabilityTtlMs: number;
}

export const DEFAULT_FETCHER_OPTIONS: FetcherOptions = {
  discoveryMs: 2000,
  timeouts: { firstByteMs: 5000, stallMs: 10_000 },
  windowGroups: 256,
  availabilityTtlMs: 30_000,
};

/**
 * Verified peer data waiting to be written to the store, at most: beyond it, further data is
 * served but not kept (the store writes more slowly than a fast peer sends).
 */
const MAX_BACKLOG_BYTES = 64 << 20;

/** A group on its way: its data once verified, and when it is stored. */
interface Pending {
  readonly data: Promise<Uint8Array>;
  resolve(data: Uint8Array): void;
  reject(error: Error): void;
  readonly stored: Promise<void>;
  markStored(): void;
}

function pending(): Pending {
  let resolve!: (d: Uint8Array) => void, reject!: (e: Error) => void, markStored!: () => void;
  const data = new Promise<Uint8Array>((res, rej) => (resolve = res, reject = rej));
  const stored = new Promise<void>((res) => markStored = res);
  // A reader may have gone away; an unobserved failure must not crash the process.
  data.catch(() => {});
  return { data, resolve, reject, stored, markStored };
}

/** A peer and what it says it holds of a blob. */
interface Holder {
  readonly peer: Peer;
  readonly ranges: ChunkRanges;
}

/** A peer's verified first answer about a blob (see `#firstAnswer`). */
interface FirstAnswer {
  readonly size: number;
  readonly groups: VerifiedGroup[];
  readonly pairs: VerifiedPair[];
}

/** What asking the peers found: who holds what, and the peers that could not be asked. */
interface Discovered {
  readonly holders: Holder[];
  readonly errors: unknown[];
}

/** Holders of a blob, as asked at `at`. */
interface Availability {
  readonly at: number;
  readonly answer: Promise<Discovered>;
}

/** The chunk ranges that request exactly group `start` (whole, last group open-ended). */
function groupRanges(tree: BaoTree, starts: readonly number[]): ChunkRanges {
  return starts.reduce((set, s) => {
    const end = s + tree.groupChunks;
    return set.union(ChunkRanges.range(s, end >= tree.chunks ? undefined : end));
  }, ChunkRanges.EMPTY);
}

/**
 * `missing`, widened to the whole gaps of `held` it falls into when a partial blob is near its
 * limit of pieces (`MAX_BOUNDARIES`): a group in the middle of a gap would be a new piece, and
 * is not stored then, while a gap filled from its edges only ever joins pieces. (Readers of
 * plain bytes are served whatever is stored; encodings are read from the store, so they need
 * it stored.)
 */
function wholeGaps(tree: BaoTree, held: ChunkRanges, missing: ChunkRanges): ChunkRanges {
  if (held.boundaries.length + missing.boundaries.length <= MAX_BOUNDARIES) return missing;
  const gaps = ChunkRanges.range(0, tree.chunks).difference(held).boundaries;
  let widened = missing;
  for (let i = 0; i < gaps.length; i += 2) {
    const end = gaps[i + 1] ?? tree.chunks;
    if (missing.intersects(gaps[i], end)) widened = widened.union(ChunkRanges.range(gaps[i], end));
  }
  return widened;
}

/** Whether `ranges` (a peer's claim) covers group `start` whole. */
function claims(tree: BaoTree, ranges: ChunkRanges, start: number): boolean {
  return ranges.covers(start, Math.min(start + tree.groupChunks, tree.chunks));
}

export class BlobFetcher {
  readonly #store: BlobStore;
  readonly #peers: PeerSet;
  readonly #metrics: Metrics;
  readonly #options: FetcherOptions;
  readonly #firstContact = new Map<string, Promise<BlobMeta>>();
  readonly #pending = new Map<string, Map<number, Pending>>();
  readonly #availability = new Map<string, Availability>();
  /** The size of `#availability` at which expired answers are swept out. */
  #sweepAt = 1024;
  /** Verified bytes received and waiting to be stored. */
  #backlog = 0;

  constructor(
    store: BlobStore,
    peers: PeerSet,
    metrics: Metrics,
    options: Partial<FetcherOptions> = {},
  ) {
    this.#store = store;
    this.#peers = peers;
    this.#metrics = metrics;
    this.#options = { ...DEFAULT_FETCHER_OPTIONS, ...options };
  }

  /**
   * The blob's stored metadata, after fetching its first group and size proof from peers if
   * it is not stored. Concurrent callers share one first contact.
   */
  async meta(hash: Hash): Promise<BlobMeta> {
    const stored = await this.#store.stat(hash);
    if (stored !== undefined) return stored;
    const key = toHex(hash);
    let contact = this.#firstContact.get(key);
    if (contact === undefined) {
      contact = this.#contact(hash).finally(() => this.#firstContact.delete(key));
      this.#firstContact.set(key, contact);
    }
    return await contact;
  }

  /**
   * What each peer says it holds of `hash`, asked in parallel and remembered for a while; with
   * the failures of the peers that could not be asked (failing now, or resting after failures),
   * which make a miss 502 or 504 rather than 404, and are not remembered: such a peer may hold
   * the blob, and is asked again next time.
   */
  #holders(hash: Hash): Promise<Discovered> {
    const key = toHex(hash);
    const cached = this.#availability.get(key);
    if (cached !== undefined && Date.now() - cached.at < this.#options.availabilityTtlMs) {
      return cached.answer;
    }
    const asked = this.#peers.available();
    const resting = this.#peers.peers.filter((p) => !asked.includes(p)).map((p) =>
      new Error(`${p.url}: resting after repeated failures`)
    );
    const answer = Promise.all(
      asked.map(async (peer): Promise<Discovered> => {
        try {
          const ranges = await peerAvailability(peer, hash, this.#options.discoveryMs);
          return { holders: ranges.isEmpty ? [] : [{ peer, ranges }], errors: [] };
        } catch (e) {
          this.#failed(peer, e);
          return { holders: [], errors: [e] };
        }
      }),
    ).then((answers) => ({
      holders: answers.flatMap((a) => a.holders),
      errors: [...answers.flatMap((a) => a.errors), ...resting],
    }));
    const entry = { at: Date.now(), answer };
    this.#remember(key, entry);
    answer.then(({ errors }) => {
      if (errors.length > 0 && this.#availability.get(key) === entry) {
        this.#availability.delete(key);
        this.#metrics.peerAnswers.set(this.#availability.size);
      }
    });
    return answer;
  }

  /**
   * Keeps an answer for `availabilityTtlMs`. Expired answers are swept out whenever the map
   * has doubled, so asking for ever new hashes cannot grow it without bound.
   */
  #remember(key: string, entry: Availability): void {
    if (this.#availability.size >= this.#sweepAt) {
      const cutoff = Date.now() - this.#options.availabilityTtlMs;
      for (const [k, v] of this.#availability) if (v.at < cutoff) this.#availability.delete(k);
      this.#sweepAt = Math.max(1024, 2 * this.#availability.size);
    }
    this.#availability.set(key, entry);
    this.#metrics.peerAnswers.set(this.#availability.size);
  }

  #failed(peer: Peer, e: unknown): void {
    const reason = e instanceof PeerRequestError ? e.reason : "protocol";
    peer.recordFailure(reason, e instanceof Error ? e.message : String(e));
    this.#metrics.peerFailures.add(1, { peer: peer.url, reason });
    if (reason === "bad-data") this.#metrics.verificationFailures.add(1, { source: "peer" });
  }

  /** The error to give readers when every peer that held something failed. */
  #exhausted(errors: unknown[], what: string): Error {
    if (errors.length === 0) return new NotOnPeersError(`no peer has ${what}`);
    const timeouts = errors.every((e) => e instanceof PeerRequestError && e.reason === "timeout");
    const detail = errors.map((e) => e instanceof Error ? e.message : String(e)).join("; ");
    return timeouts
      ? new PeerTimeoutError(`no peer answered in time for ${what}: ${detail}`)
      : new PeersFailedError(`every peer failed for ${what}: ${detail}`);
  }

  /**
   * The first verified answer of a peer holding `hash`: its first group (when it claims it) and
   * a proof of the size, from the best peer that gives one. Throws what a miss gives readers.
   */
  async #firstAnswer(hash: Hash): Promise<FirstAnswer> {
    const { holders, errors: unasked } = await this.#holders(hash);
    const errors = [...unasked];
    // Peers that hold the last chunk (an open-ended claim) can prove the size: try them first.
    const ordered = [...holders].sort((a, b) =>
      Number(b.ranges.isOpen) - Number(a.ranges.isOpen) || a.peer.rank - b.peer.rank
    );
    for (const { peer, ranges } of ordered) {
      const groups: VerifiedGroup[] = [];
      const pairs: VerifiedPair[] = [];
      try {
        // Never ask a peer for what it does not claim: the first group only if it has it.
        const first = ranges.covers(0, 16) ? ChunkRanges.range(0, 16) : ChunkRanges.EMPTY;
        const query = first.union(ChunkRanges.LAST);
        const answer = await streamFromPeer(peer, hash, query, {
          onData: (v) => groups.push({ start: v.offset / CHUNK_LEN, data: v.data.slice() }),
          onPair: (node, pair) => pairs.push({ node, pair }),
        }, this.#options.timeouts);
        if (!answer.sizeVerified) {
          throw new PeerRequestError(peer.url, "protocol", "size not proven");
        }
        this.#metrics.peerBytes.add(groups.reduce((n, g) => n + g.data.length, 0), {
          peer: peer.url,
        });
        return { size: answer.size, groups, pairs };
      } catch (e) {
        this.#failed(peer, e);
        errors.push(e);
      }
    }
    throw this.#exhausted(errors, `blob ${toHex(hash)}`);
  }

  /**
   * Resolves once a peer has proven that it holds `hash`, with verified bytes (a claim alone
   * proves nothing: peers may lie); nothing is stored. Otherwise throws what a miss gives
   * readers, after asking exactly as a first contact does.
   */
  async onPeers(hash: Hash): Promise<void> {
    await this.#firstAnswer(hash);
  }

  /** First contact: the first group and a proof of the size, then a partial blob is stored. */
  async #contact(hash: Hash): Promise<BlobMeta> {
    const { size, groups, pairs } = await this.#firstAnswer(hash);
    // The peer's part is done; what follows is this gateway's own (a failure is not the peer's).
    const tree = new BaoTree(size, IROH_K);
    // Keep whole groups only: the last chunk alone is part of a group.
    const whole = groups.filter((g) =>
      g.start % tree.groupChunks === 0 &&
      g.data.length ===
        tree.byteRange(g.start, g.start + tree.groupChunks)[1] - g.start * CHUNK_LEN
    );
    await this.#store.writeVerified(hash, size, whole, pairs, { cached: true, sizeProven: true });
    const meta = await this.#store.stat(hash);
    if (meta === undefined) {
      // Removed at once (by another instance's GC, say): the caller may simply ask again.
      throw new PeersFailedError(`blob ${toHex(hash)} was removed here as it arrived; retry`);
    }
    // The last chunk proved the size, but only whole groups are stored: fetch its group too,
    // behind this answer, so that this gateway can prove the size in turn (to a gateway that
    // lists it as a peer) and claims the end of the blob. A failure is the peers' to count.
    const lastGroup = ChunkRanges.range(tree.chunks - 1);
    if (!storedRanges(meta).isSuperset(tree.chunksRead(lastGroup))) {
      this.ensureStored(hash, meta, lastGroup).catch(() => {});
    }
    return meta;
  }

  /**
   * Verified groups of `hash` from group `from` (a chunk index, multiple of 16) to chunk `to`,
   * in order, as `{ start, data }`: read from the store where it holds them, awaited from
   * peers otherwise, with the next window requested once the reader is half-way through the
   * current one: the peer works while we send, and a slow reader holds at most a window and
   * a half in memory.
   */
  async *groups(
    hash: Hash,
    meta: BlobMeta,
    from: number,
    to: number,
  ): AsyncGenerator<VerifiedGroup> {
    const tree = new BaoTree(meta.size, IROH_K);
    const window = this.#options.windowGroups * tree.groupChunks;
    const windowFrom = (start: number) => {
      const plan = this.#plan(hash, tree, start, Math.min(start + window, to));
      // A reader that stops (a client gone) never awaits the window it asked for ahead: its
      // failure (the store closing, say) must not become an unhandled rejection.
      plan.catch(() => {});
      return plan;
    };
    let start = from;
    let plan = windowFrom(start);
    while (start < to) {
      const end = Math.min(start + window, to);
      const current = await plan;
      let next: ReturnType<typeof windowFrom> | undefined;
      for await (const group of this.#read(hash, tree, current, start, end)) {
        if (next === undefined && end < to && 2 * (group.start - start) >= end - start) {
          next = windowFrom(end);
        }
        yield group;
      }
      plan = next ?? windowFrom(end);
      start = end;
    }
  }

  /**
   * Makes sure every group that `ranges` (truncated to the blob) touches is stored here,
   * fetching what is missing; for encodings, which are read from the store. Throws the peers'
   * failure if some group cannot be had.
   */
  async ensureStored(hash: Hash, meta: BlobMeta, ranges: ChunkRanges): Promise<void> {
    const tree = new BaoTree(meta.size, IROH_K);
    const wanted = tree.chunksRead(ranges);
    for (let attempt = 0; attempt < 3; attempt++) {
      const now = await this.#store.stat(hash);
      const held = now ? storedRanges(now) : ChunkRanges.EMPTY;
      const missing = wholeGaps(tree, held, wanted.difference(held));
      if (missing.isEmpty) return;
      const b = missing.boundaries;
      const from = b[0] - (b[0] % tree.groupChunks);
      const to = b.length % 2 === 1 ? tree.chunks : b[b.length - 1];
      const window = this.#options.windowGroups * tree.groupChunks;
      for (let start = from; start < to; start += window) {
        const plan = await this.#plan(hash, tree, start, Math.min(start + window, to));
        for (const step of plan.values()) {
          if (step === "stored") continue;
          await step.data;
          await step.stored;
        }
      }
    }
    throw new PeersFailedError(`could not store the requested chunks of ${toHex(hash)}`);
  }

  /**
   * For each group of chunks `[start, end)`: stored here, or on its way from a peer (requested
   * now if nobody asked yet).
   */
  async #plan(
    hash: Hash,
    tree: BaoTree,
    start: number,
    end: number,
  ): Promise<Map<number, Pending | "stored">> {
    const meta = await this.#store.stat(hash);
    const have = meta ? storedRanges(meta) : ChunkRanges.EMPTY;
    // Groups on their way; none (and no map made) when nothing of the blob is.
    const onTheirWay = this.#pending.get(toHex(hash));
    const plan = new Map<number, Pending | "stored">();
    const missing: number[] = [];
    for (let g = start; g < end; g += tree.groupChunks) {
      const groupEnd = Math.min(g + tree.groupChunks, tree.chunks);
      const inFlight = onTheirWay?.get(g);
      if (have.covers(g, groupEnd)) plan.set(g, "stored");
      else if (inFlight !== undefined) plan.set(g, inFlight);
      else {
        const p = pending();
        this.#pendingFor(hash).set(g, p);
        plan.set(g, p);
        missing.push(g);
      }
    }
    if (missing.length > 0) void this.#fetch(hash, tree, missing, new Set());
    return plan;
  }

  #pendingFor(hash: Hash): Map<number, Pending> {
    const key = toHex(hash);
    let map = this.#pending.get(key);
    if (map === undefined) {
      map = new Map();
      this.#pending.set(key, map);
    }
    return map;
  }

  /** Reads a planned window in order: stored runs from the store, the rest as it arrives. */
  async *#read(
    hash: Hash,
    tree: BaoTree,
    plan: Map<number, Pending | "stored">,
    start: number,
    end: number,
  ): AsyncGenerator<VerifiedGroup> {
    let g = start;
    while (g < end) {
      const step = plan.get(g)!;
      if (step !== "stored") {
        const data = await step.data;
        // Handed over: the window no longer keeps it (a slow reader holds what it reads).
        plan.delete(g);
        // Served from a peer, not from a store source (which notes its reads): a read all the
        // same, for the least-recently-used order and the "in use" mark between two slices.
        this.#store.touch(hash);
        yield { start: g, data };
        g += tree.groupChunks;
        continue;
      }
      let runEnd = g;
      while (runEnd < end && plan.get(runEnd) === "stored") runEnd += tree.groupChunks;
      yield* this.#readStored(hash, tree, g, Math.min(runEnd, tree.chunks));
      g = runEnd;
    }
  }

  async *#readStored(hash: Hash, tree: BaoTree, start: number, end: number) {
    const source = await this.#store.open(hash);
    if (source === undefined) {
      // Removed here mid-read (another instance's GC, say): peers still have it, ask again.
      throw new PeersFailedError(`blob ${toHex(hash)} was removed here while being read`);
    }
    for await (
      const step of verifiedSteps(source, ChunkRanges.range(start, end).truncate(tree.size))
    ) {
      if (step.type === "group") yield { start: step.item.start, data: step.data };
    }
  }

  /**
   * Fetches `groups` (chunk indices of group starts) from the peers that claim them, best
   * first, splitting across peers; a failed peer's remaining groups go to the next one, and
   * when none is left they fail with what the peers did (`errors`).
   */
  async #fetch(
    hash: Hash,
    tree: BaoTree,
    groups: number[],
    excluded: Set<Peer>,
    errors: unknown[] = [],
  ): Promise<void> {
    const inFlight = this.#pendingFor(hash);
    const settle = (g: number, error?: Error) => {
      const p = inFlight.get(g);
      if (p === undefined) return;
      if (error) p.reject(error);
      p.markStored();
      inFlight.delete(g);
      // Nothing of this blob on its way any more: forget it (a map per blob ever fetched
      // would grow for ever).
      const key = toHex(hash);
      if (inFlight.size === 0 && this.#pending.get(key) === inFlight) this.#pending.delete(key);
    };
    const discovered = await this.#holders(hash);
    errors.push(...discovered.errors);
    const holders = discovered.holders.filter((h) => !excluded.has(h.peer))
      .sort((a, b) => a.peer.rank - b.peer.rank);
    // Give each group to the best peer that claims it.
    const byPeer = new Map<Peer, number[]>();
    for (const g of groups) {
      const h = holders.find((h) => claims(tree, h.ranges, g));
      if (h === undefined) settle(g, this.#exhausted(errors, `chunk ${g} of ${toHex(hash)}`));
      else byPeer.set(h.peer, [...(byPeer.get(h.peer) ?? []), g]);
    }
    await Promise.all([...byPeer].map(async ([peer, mine]) => {
      const received = new Map<number, Uint8Array>();
      const pairs: VerifiedPair[] = [];
      try {
        await streamFromPeer(
          peer,
          hash,
          groupRanges(tree, mine),
          {
            onData: (v) => {
              const start = v.offset / CHUNK_LEN;
              received.set(start, v.data);
              inFlight.get(start)?.resolve(v.data);
            },
            onPair: (node, pair) => pairs.push({ node, pair }),
          },
          this.#options.timeouts,
          tree.size,
        );
        let bytes = 0;
        for (const d of received.values()) bytes += d.length;
        this.#metrics.peerBytes.add(bytes, { peer: peer.url });
        // The whole response verified: keep it, unless storage is already that far behind
        // (readers were served; keeping a copy is a cache's best effort, memory is bounded).
        if (this.#backlog + bytes <= MAX_BACKLOG_BYTES) {
          this.#backlog += bytes;
          const stored = [...received].map(([start, data]) => ({ start, data }));
          await this.#store.writeVerified(hash, tree.size, stored, pairs, { cached: true })
            .catch((e) => console.error(`storing groups of ${toHex(hash)} failed:`, e))
            .finally(() => this.#backlog -= bytes);
        } else {
          this.#metrics.peerUnstored.add(bytes);
        }
        for (const g of mine) settle(g);
      } catch (e) {
        this.#failed(peer, e);
        // What it sent before failing verified and was served, but is not stored; what it
        // still owed goes to the next peer.
        for (const g of mine) if (received.has(g)) settle(g);
        const owed = mine.filter((g) => !received.has(g));
        if (owed.length > 0) {
          await this.#fetch(hash, tree, owed, new Set([...excluded, peer]), [...errors, e]);
        }
      }
    }));
  }
}
