/**
 * A stored blob as a `BaoSource`: data and post-order outboard pages read from Deno KV, with
 * read-ahead for sequential reads so KV latency overlaps hashing, and a small page cache so the
 * pairs of a walk cost one read per page. Nothing here verifies: the Bao walk over this source
 * does, so a flipped bit in storage is caught before it is sent.
 *
 * @module
 */

import type { Hash } from "../blake3/hash.ts";
import type { BaoSource } from "../bao/encode.ts";
import { BaoTree, IROH_K, type TreeNode } from "../bao/tree.ts";
import { type BlobMeta, DATA_PAGE, keys, OB_PAGE_PAIRS } from "./layout.ts";

/** Pages fetched per `getMany` (its limit is 10 keys). */
const FETCH_PAGES = 8;
/** Fetches kept in flight ahead of the reader: 4 × 8 × 64 KiB = 2 MiB. */
const READ_AHEAD_FETCHES = 4;
/** Outboard pages cached per open blob (64 pages cover the outboard of a 1 GiB blob). */
const OB_CACHE_PAGES = 64;

type Page = Uint8Array | undefined;

export class KvBlobSource implements BaoSource {
  readonly tree: BaoTree;
  readonly #kv: Deno.Kv;
  readonly #dataId: string;
  /** Fetches by first page index, each resolving to FETCH_PAGES pages (or fewer at the end). */
  readonly #fetches = new Map<number, Promise<Page[]>>();
  readonly #obPages = new Map<number, Promise<Page>>();
  #windowEnd: number;

  constructor(kv: Deno.Kv, readonly root: Hash, readonly meta: BlobMeta) {
    this.#kv = kv;
    this.#dataId = meta.dataId;
    this.tree = new BaoTree(meta.size, IROH_K);
    this.#windowEnd = this.#pageCount;
  }

  get #pageCount(): number {
    return Math.ceil(this.meta.size / DATA_PAGE);
  }

  /**
   * Limits read-ahead to bytes before `end`: a range request must not pull in pages it will
   * never send. Defaults to the whole blob.
   */
  setReadWindow(end: number): void {
    this.#windowEnd = Math.min(Math.ceil(end / DATA_PAGE), this.#pageCount);
  }

  async loadPair(node: TreeNode): Promise<Uint8Array> {
    const index = this.tree.postOrderIndex(node);
    const pageIndex = Math.floor(index / OB_PAGE_PAIRS);
    let page = this.#obPages.get(pageIndex);
    if (page === undefined) {
      if (this.#obPages.size >= OB_CACHE_PAGES) {
        this.#obPages.delete(this.#obPages.keys().next().value!);
      }
      page = this.#kv.get<Uint8Array>(keys.obPage(this.#dataId, pageIndex)).then((e) =>
        e.value ?? undefined
      );
      this.#obPages.set(pageIndex, page);
    }
    const bytes = await page;
    const off = (index % OB_PAGE_PAIRS) * 64;
    // A missing or short page yields a short pair, which the walk rejects.
    return bytes ? bytes.subarray(off, off + 64) : new Uint8Array(0);
  }

  async readData(start: number, end: number): Promise<Uint8Array> {
    const first = Math.floor(start / DATA_PAGE);
    const last = Math.floor((end - 1) / DATA_PAGE);
    if (end <= start) return new Uint8Array(0);
    const out = new Uint8Array(end - start);
    for (let p = first; p <= last; p++) {
      const page = await this.#page(p);
      const pageStart = p * DATA_PAGE;
      const from = Math.max(start - pageStart, 0);
      const to = Math.min(end - pageStart, DATA_PAGE);
      // Missing storage shortens the result; the walk then rejects the group.
      if (page === undefined || page.length < to) return out.subarray(0, pageStart + from - start);
      out.set(page.subarray(from, to), pageStart + from - start);
    }
    return out;
  }

  async #page(p: number): Promise<Page> {
    const base = p - (p % FETCH_PAGES);
    // Sequential reads move forward: drop fetches behind, start the ones ahead.
    for (const key of this.#fetches.keys()) if (key < base) this.#fetches.delete(key);
    for (let i = 0; i < READ_AHEAD_FETCHES; i++) {
      const b = base + i * FETCH_PAGES;
      if (b >= Math.max(this.#windowEnd, p + 1)) break;
      if (!this.#fetches.has(b)) this.#fetches.set(b, this.#fetch(b));
    }
    return (await this.#fetches.get(base)!)[p - base];
  }

  async #fetch(base: number): Promise<Page[]> {
    const n = Math.min(FETCH_PAGES, this.#pageCount - base);
    const entries = await this.#kv.getMany<Uint8Array[]>(
      Array.from({ length: n }, (_, i) => keys.dataPage(this.#dataId, base + i)),
    );
    return entries.map((e) => e.value ?? undefined);
  }
}
