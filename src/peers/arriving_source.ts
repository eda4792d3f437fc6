/**
 * A blob held in part, as a `BaoSource` whose reads wait for the peer bridge to store what they
 * need: an encoding (`?format=bao`) of chunks this gateway lacks then streams as they arrive,
 * instead of starting once all of them are stored.
 *
 * An encoding is a pre-order walk, and its pairs cannot be recomputed from the groups alone:
 * they come from the peer with the groups and are stored with them. So the wanted chunks are
 * taken in windows, each stored (`BlobFetcher.ensureStored`) before the walk reads in it, with
 * the next few windows fetched meanwhile. A pair is read once the window holding the first
 * wanted chunk beneath it is stored: the peer sent it with that chunk's group, and a stored group
 * always has the pairs above it. Each window is read through a fresh store source, since pages
 * cached before a window was stored would not show it.
 *
 * @module
 */

import { type Hash, toHex } from "../blake3/hash.ts";
import type { BaoSource } from "../bao/encode.ts";
import type { TreeNode } from "../bao/tree.ts";
import { BaoTree, IROH_K } from "../bao/tree.ts";
import { CHUNK_LEN } from "../blake3/constants.ts";
import { ChunkRanges } from "../ranges/chunk_ranges.ts";
import type { BlobStore } from "../store/blob_store.ts";
import type { KvBlobSource } from "../store/kv_source.ts";
import type { BlobMeta } from "../store/layout.ts";
import { PeersFailedError } from "./errors.ts";
import type { BlobFetcher } from "./fetcher.ts";

/** Groups per window: 1 MiB, so the first bytes wait for little. */
const WINDOW_GROUPS = 64;
/** Windows fetched ahead of the one being read. */
const AHEAD = 4;

export class ArrivingSource implements BaoSource {
  readonly tree: BaoTree;
  readonly #windowChunks: number;
  readonly #windows = new Map<number, Promise<KvBlobSource>>();
  #readEnd = Infinity;

  /** `wanted`: the chunks the walk will read (`BaoTree.chunksRead` of its query). */
  constructor(
    readonly root: Hash,
    readonly meta: BlobMeta,
    readonly wanted: ChunkRanges,
    private readonly store: BlobStore,
    private readonly fetcher: BlobFetcher,
  ) {
    this.tree = new BaoTree(meta.size, IROH_K);
    this.#windowChunks = WINDOW_GROUPS * this.tree.groupChunks;
  }

  setReadWindow(end: number): void {
    this.#readEnd = end;
  }

  async loadPair(node: TreeNode): Promise<Uint8Array> {
    const chunk = this.wanted.firstAtOrAfter(node.start) ?? node.start;
    return await (await this.#window(chunk)).loadPair(node);
  }

  async readData(start: number, end: number): Promise<Uint8Array> {
    return await (await this.#window(Math.floor(start / CHUNK_LEN))).readData(start, end);
  }

  /** The source for the window holding `chunk`, once it is stored; later ones are started. */
  #window(chunk: number): Promise<KvBlobSource> {
    const k = Math.floor(chunk / this.#windowChunks);
    for (const done of this.#windows.keys()) if (done < k) this.#windows.delete(done);
    for (let i = k; i <= k + AHEAD; i++) {
      const from = i * this.#windowChunks;
      if (i > k && this.wanted.firstAtOrAfter(from) === undefined) break;
      if (this.#windows.has(i)) continue;
      const opened = this.#open(from);
      // A window fetched ahead that fails, or that nobody reads (the client went away), must not
      // become an unhandled rejection; the walk still gets the error when it reads there.
      opened.catch(() => {});
      this.#windows.set(i, opened);
    }
    return this.#windows.get(k)!;
  }

  async #open(from: number): Promise<KvBlobSource> {
    const chunks = this.wanted.intersection(ChunkRanges.range(from, from + this.#windowChunks));
    await this.fetcher.ensureStored(this.root, this.meta, chunks);
    const meta = await this.store.stat(this.root);
    if (meta === undefined) {
      // Removed here mid-read (another instance's GC, say): peers still have it, ask again.
      throw new PeersFailedError(`blob ${toHex(this.root)} was removed here while being read`);
    }
    const source = this.store.source(this.root, meta);
    source.setReadWindow(this.#readEnd);
    return source;
  }
}
