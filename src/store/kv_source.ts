/**
 * A stored blob as a `BaoSource`: data and post-order outboard pages read from Deno KV. Nothing
 * here verifies: the Bao walk over this source does, so a flipped bit in storage is caught
 * before it is sent.
 *
 * Reads are shaped by what Deno KV is fast at. A `list` over a key range returns many pages per
 * call at several times the throughput of `get`/`getMany` (measured: ~1.3 GB/s for 32-page
 * spans two at a time, ~0.3 GB/s for `getMany` of 10), so sequential reads fetch spans ahead of
 * the reader, growing from one page to 32 as the reader proves sequential, and never past the
 * read window the caller set. A random 16 KiB range therefore costs one page, a full download
 * streams at list speed, and memory per reader stays at most two spans (4 MiB).
 *
 * @module
 */

import { type Hash, toHex } from "../blake3/hash.ts";
import type { BaoSource } from "../bao/encode.ts";
import { BaoTree, IROH_K, type TreeNode } from "../bao/tree.ts";
import type { VerifiedPairs } from "../bao/verified_pairs.ts";
import type { ChunkRanges } from "../ranges/chunk_ranges.ts";
import { type BlobMeta, DATA_PAGE, isBlobMeta, keys, OB_PAGE_PAIRS } from "./layout.ts";
import { BlobNotFoundError } from "./errors.ts";
import { storedRanges } from "./partial.ts";

/** Largest span of data pages one `list` call fetches. */
const MAX_SPAN = 32;
/** Spans kept in flight ahead of a sequential reader. */
const SPANS_AHEAD = 2;

type Page = Uint8Array | undefined;

interface Span {
  readonly first: number;
  readonly end: number;
  readonly pages: Promise<Page[]>;
}

/**
 * Outboard pages of all open blobs, least recently used evicted: outboards are 1/256 of the
 * data and never change under a data id, so a random-range workload on a few blobs reads them
 * once.
 */
export class OutboardCache {
  readonly #pages = new Map<string, Promise<Page>>();
  constructor(readonly capacity = 256) {}

  get(
    kv: Deno.Kv,
    dataId: string,
    page: number,
    consistency: Deno.KvConsistencyLevel,
  ): Promise<Page> {
    const key = `${dataId}/${page}`;
    let hit = this.#pages.get(key);
    if (hit !== undefined) {
      this.#pages.delete(key);
    } else {
      const read = kv.get(keys.obPage(dataId, page), { consistency }).then((e) => {
        const found = asPage(e.value);
        // Nor a missing page: a lagging replica may have it later, or the blob a new copy.
        if (found === undefined && this.#pages.get(key) === read) this.#pages.delete(key);
        return found;
      });
      hit = read;
      // A failed read must not stay cached.
      hit.catch(() => this.#pages.delete(key));
      if (this.#pages.size >= this.capacity) {
        this.#pages.delete(this.#pages.keys().next().value!);
      }
    }
    this.#pages.set(key, hit);
    return hit;
  }
}

export class KvBlobSource implements BaoSource {
  readonly tree: BaoTree;
  readonly held: ChunkRanges | undefined;
  readonly #kv: Deno.Kv;
  /** Extra connections to the same database, for reads only (see `BlobStore`). */
  readonly #readers: readonly Deno.Kv[];
  #nextReader = 0;
  #dataId: string;
  readonly #obCache: OutboardCache;
  #consistency: Deno.KvConsistencyLevel;
  readonly #pageCount: number;
  #windowEnd: number;
  #windowSet = false;
  #lastRead = 0;
  #spans: Span[] = [];

  constructor(
    kv: Deno.Kv,
    readonly root: Hash,
    readonly meta: BlobMeta,
    obCache: OutboardCache,
    readers: readonly Deno.Kv[] = [],
    readonly verifiedPairs?: VerifiedPairs,
    /** Told, at most once a second, that data is being read (a cached blob's "in use" mark). */
    private readonly onRead?: () => void,
  ) {
    this.#kv = kv;
    this.#readers = readers;
    this.#dataId = meta.dataId;
    // A complete blob's pages never change under its data id: share its outboard pages, and
    // let any replica answer. A partial blob's pages fill in over time: read them fresh.
    const complete = meta.partial === undefined;
    this.#obCache = complete ? obCache : new OutboardCache(16);
    this.#consistency = complete ? "eventual" : "strong";
    this.tree = new BaoTree(meta.size, IROH_K);
    this.held = complete ? undefined : storedRanges(meta);
    this.#pageCount = Math.ceil(meta.size / DATA_PAGE);
    this.#windowEnd = this.#pageCount;
  }

  /**
   * Limits read-ahead to bytes before `end`: a range request must not pull in pages it will
   * never send. Defaults to the whole blob.
   */
  setReadWindow(end: number): void {
    this.#windowEnd = Math.min(Math.ceil(end / DATA_PAGE), this.#pageCount);
    this.#windowSet = true;
  }

  async loadPair(node: TreeNode): Promise<Uint8Array> {
    const index = this.tree.postOrderIndex(node);
    const pageIndex = Math.floor(index / OB_PAGE_PAIRS);
    const read = () =>
      this.#obCache.get(this.#reader(), this.#dataId, pageIndex, this.#consistency);
    const page = (await read()) ?? await this.#missing(read);
    const off = (index % OB_PAGE_PAIRS) * 64;
    // A missing or short page yields a short pair, which the walk rejects.
    return page ? page.subarray(off, off + 64) : new Uint8Array(0);
  }

  async readData(start: number, end: number): Promise<Uint8Array> {
    if (this.onRead !== undefined) {
      const now = Date.now();
      if (now - this.#lastRead >= 1000) {
        this.#lastRead = now;
        this.onRead();
      }
    }
    if (end <= start) return new Uint8Array(0);
    const first = Math.floor(start / DATA_PAGE);
    const last = Math.floor((end - 1) / DATA_PAGE);
    // Chunk groups never straddle pages, so the common case is a view into one page.
    if (first === last) {
      const page = await this.#dataPage(first);
      const from = start - first * DATA_PAGE;
      return page
        ? page.subarray(from, Math.min(end - first * DATA_PAGE, page.length))
        : new Uint8Array(0);
    }
    const out = new Uint8Array(end - start);
    for (let p = first; p <= last; p++) {
      const page = await this.#dataPage(p);
      const pageStart = p * DATA_PAGE;
      const from = Math.max(start - pageStart, 0);
      const to = Math.min(end - pageStart, DATA_PAGE);
      // Missing storage shortens the result; the walk then rejects the group.
      if (page === undefined || page.length < to) return out.subarray(0, pageStart + from - start);
      out.set(page.subarray(from, to), pageStart + from - start);
    }
    return out;
  }

  async #dataPage(p: number): Promise<Page> {
    return (await this.#page(p)) ?? await this.#missing(() => this.#page(p));
  }

  /**
   * A page that is not there. The blob may have been collected since its metadata was read
   * (another instance sharing the KV collected it while this one reused the metadata,
   * `readMeta`), or its partial copy replaced by a complete one: then it is simply not here any
   * more (`BlobNotFoundError`, not a verification failure counted as corrupted storage), or it
   * is here complete under another data id, and is read from there (`read` again: the bytes
   * are the same, as the hash names them). A page read from a replica (`eventual`, Deno
   * Deploy) may be one the replica has not received yet: it is read again from the primary,
   * and so is everything after it. Otherwise `undefined`: the short read that follows makes the
   * walk reject the group.
   */
  async #missing(read: () => Promise<Page>): Promise<Page> {
    const now = (await this.#kv.get(keys.blob(this.root))).value;
    if (isBlobMeta(now) && now.dataId === this.#dataId) {
      if (this.#consistency === "strong") return undefined;
      this.#consistency = "strong";
      this.#spans = [];
      return await read();
    }
    if (!isBlobMeta(now) || now.partial !== undefined || now.size !== this.tree.size) {
      throw new BlobNotFoundError(toHex(this.root));
    }
    this.#dataId = now.dataId;
    this.#spans = [];
    return await read();
  }

  /** The connection for the next read: the store's own, or one of the read-only extras. */
  #reader(): Deno.Kv {
    if (this.#readers.length === 0) return this.#kv;
    this.#nextReader = (this.#nextReader + 1) % (this.#readers.length + 1);
    return this.#nextReader === 0 ? this.#kv : this.#readers[this.#nextReader - 1];
  }

  async #page(p: number): Promise<Page> {
    let i = this.#spans.findIndex((s) => s.first <= p && p < s.end);
    if (i < 0) {
      // Not where the reader was heading: start over here. With a window set, the reads up to
      // its end are known wanted; otherwise start with one page and grow as the reader proves
      // sequential, so that a random read costs one page.
      const first = this.#windowSet ? Math.min(MAX_SPAN, Math.max(1, this.#windowEnd - p)) : 1;
      this.#spans = [this.#fetch(p, first)];
      i = 0;
    }
    // Spans behind the reader are done with.
    this.#spans = this.#spans.slice(i);
    while (this.#spans.length <= SPANS_AHEAD) {
      const tail = this.#spans[this.#spans.length - 1];
      if (tail.end >= this.#windowEnd) break;
      this.#spans.push(this.#fetch(tail.end, Math.min(2 * (tail.end - tail.first), MAX_SPAN)));
    }
    const span = this.#spans[0];
    return (await span.pages)[p - span.first];
  }

  #fetch(first: number, length: number): Span {
    const end = Math.max(Math.min(first + length, this.#windowEnd), first + 1);
    const pages = (async () => {
      // One page (a random range) is a point read, which KV answers faster than a list.
      if (end - first === 1) {
        const e = await this.#reader().get(keys.dataPage(this.#dataId, first), {
          consistency: this.#consistency,
        });
        return [asPage(e.value)];
      }
      const out: Page[] = new Array(end - first);
      const iter = this.#reader().list({
        start: keys.dataPage(this.#dataId, first),
        end: keys.dataPage(this.#dataId, end),
      }, { batchSize: end - first, consistency: this.#consistency });
      for await (const e of iter) out[(e.key[2] as number) - first] = asPage(e.value);
      return out;
    })();
    // A read-ahead nobody waits for any more (the client went away, the store closed) must not
    // become an unhandled rejection; a reader that does wait still gets the error.
    pages.catch(() => {});
    return { first, end, pages };
  }
}

/** A stored page value; anything but bytes (a damaged store) counts as missing. */
function asPage(value: unknown): Page {
  return value instanceof Uint8Array ? value : undefined;
}
