/**
 * Where a blob's bytes come from when it is served: the store when it holds them, peers
 * otherwise (GATEWAY.md: "on a miss it asks its peers … and serves them while they arrive").
 * Every route that serves blobs goes through here, so plain blobs, collection entries and
 * Willow payloads all reach peers alike.
 *
 * @module
 */

import { CHUNK_LEN } from "../blake3/constants.ts";
import { type Hash, toHex } from "../blake3/hash.ts";
import { encodeRanges } from "../bao/encode.ts";
import { BaoTree, IROH_K } from "../bao/tree.ts";
import { readVerifiedExact } from "../bao/read.ts";
import type { ServableBlob } from "../http/blob_response.ts";
import { ChunkRanges } from "../ranges/chunk_ranges.ts";
import type { BlobStore } from "../store/blob_store.ts";
import { BlobNotFoundError } from "../store/errors.ts";
import type { KvBlobSource } from "../store/kv_source.ts";
import { type BlobMeta, visible } from "../store/layout.ts";
import { storedRanges } from "../store/partial.ts";
import { ArrivingSource } from "./arriving_source.ts";
import { NotCachedError, NotOnPeersError } from "./errors.ts";
import type { BlobFetcher } from "./fetcher.ts";

export interface ServeOptions {
  /** The blob's name in a collection (content type by extension, file name). */
  name?: string;
  /** `Cache-Control: only-if-cached`: never ask peers; fail with `NotCachedError` instead. */
  onlyIfCached?: boolean;
  /** Serve a restricted blob (`BlobMeta.restricted`): for its namespace, after a read proof. */
  includeRestricted?: boolean;
}

export class BlobAccess {
  constructor(readonly store: BlobStore, readonly fetcher?: BlobFetcher) {}

  /**
   * The blob `hash` ready to serve. Not stored here: its first group and size proof are
   * fetched from peers first (404 when no peer has it), unless `onlyIfCached`.
   */
  async servable(hash: Hash, options: ServeOptions = {}): Promise<ServableBlob> {
    let meta = await this.store.readMeta(hash);
    if (meta?.restricted && !options.includeRestricted) {
      // Not here, as far as the public knows: answered as a blob that is not here, peers asked
      // alike (so that neither status nor delay tells it apart). A peer that proves it holds it
      // (with verified bytes) serves it in public, so it is public: then it is served here.
      if (options.onlyIfCached) throw new NotCachedError(`blob ${toHex(hash)} is not here`);
      if (this.fetcher === undefined) throw new BlobNotFoundError(toHex(hash));
      await this.fetcher.onPeers(hash);
      await this.store.publish(hash);
      meta = await this.store.readMeta(hash);
    }
    if (meta === undefined) {
      if (options.onlyIfCached) throw new NotCachedError(`blob ${toHex(hash)} is not here`);
      if (this.fetcher === undefined) throw new BlobNotFoundError(toHex(hash));
      meta = await this.fetcher.meta(hash);
    }
    this.store.touch(hash);
    return meta.partial === undefined
      ? this.#stored(hash, meta, options.name)
      : this.#partial(hash, meta, options);
  }

  /**
   * The blob as a source for verified reads: `ranges` of it (all by default) fetched from peers
   * first if it is not stored complete (for the small blobs read whole: hash sequences,
   * collection metadata; `ChunkRanges.LAST` proves the size alone, so a caller can refuse a blob
   * too large before fetching it). `undefined` when neither the store nor any peer has it. This
   * makes the gateway a `BlobProvider` that reaches peers; answers to peers themselves use the
   * store alone, so two gateways that list each other never ask each other in circles.
   */
  async open(hash: Hash, ranges: ChunkRanges = ChunkRanges.ALL): Promise<KvBlobSource | undefined> {
    let meta = await this.store.stat(hash);
    if (meta?.restricted) return undefined;
    if (meta?.partial === undefined && meta !== undefined) return this.store.source(hash, meta);
    if (this.fetcher === undefined) return undefined;
    try {
      meta ??= await this.fetcher.meta(hash);
    } catch (e) {
      if (e instanceof NotOnPeersError) return undefined;
      throw e;
    }
    await this.fetcher.ensureStored(hash, meta, ranges);
    const stored = await this.store.stat(hash);
    return stored === undefined ? undefined : this.store.source(hash, stored);
  }

  /**
   * The store alone as a provider of whole blobs, for `Cache-Control: only-if-cached`: a blob
   * not held complete here is a `NotCachedError` (412), never a fetch.
   */
  cachedOnly(): { open(hash: Hash): Promise<KvBlobSource> } {
    return {
      open: async (hash) => {
        const meta = visible(await this.store.stat(hash));
        if (meta === undefined || meta.partial !== undefined) {
          const held = meta === undefined ? "" : "complete ";
          throw new NotCachedError(`blob ${toHex(hash)} is not ${held}here`);
        }
        return this.store.source(hash, meta);
      },
    };
  }

  #stored(hash: Hash, meta: BlobMeta, name: string | undefined): ServableBlob {
    const store = this.store;
    // Held while streamed: a cached blob is not evicted from under its reader.
    return {
      hash,
      size: meta.size,
      sniffedType: meta.sniffedType,
      name,
      read: (start, end) =>
        store.holding(hash, readVerifiedExact(store.source(hash, meta), start, end)),
      encode: (ranges) => store.holding(hash, encodeRanges(store.source(hash, meta), ranges)),
    };
  }

  /** A blob held in part: stored groups from the store, the rest from peers as it arrives. */
  #partial(hash: Hash, meta: BlobMeta, options: ServeOptions): ServableBlob {
    const { store, fetcher } = this;
    const needPeers = (chunks: ChunkRanges) => {
      if (storedRanges(meta).isSuperset(chunks)) return false;
      if (options.onlyIfCached) {
        throw new NotCachedError(`only part of blob ${toHex(hash)} is here`);
      }
      if (fetcher === undefined) {
        throw new NotOnPeersError(`only part of blob ${toHex(hash)} is here, and no peers`);
      }
      return true;
    };
    return {
      hash,
      size: meta.size,
      sniffedType: meta.sniffedType,
      name: options.name,
      read: (start, end) => store.holding(hash, readPart(start, end)),
      encode: (ranges) => store.holding(hash, encodePart(ranges)),
      precheck: (chunks) => void needPeers(chunks),
    };

    async function* readPart(start: number, end: number): AsyncGenerator<Uint8Array> {
      const chunks = ChunkRanges.fromBytes(start, end);
      if (!needPeers(chunks)) {
        yield* readVerifiedExact(store.source(hash, meta), start, end);
        return;
      }
      const first = Math.floor(start / CHUNK_LEN / 16) * 16;
      for await (const g of fetcher!.groups(hash, meta, first, Math.ceil(end / CHUNK_LEN))) {
        const offset = g.start * CHUNK_LEN;
        const piece = g.data.subarray(
          Math.max(start - offset, 0),
          Math.min(end - offset, g.data.length),
        );
        if (piece.length > 0) yield piece;
      }
    }

    async function* encodePart(ranges: ChunkRanges): AsyncGenerator<Uint8Array> {
      const wanted = new BaoTree(meta.size, IROH_K).chunksRead(ranges);
      const source = needPeers(wanted)
        ? new ArrivingSource(hash, meta, wanted, store, fetcher!)
        : store.source(hash, meta);
      yield* encodeRanges(source, ranges);
    }
  }
}
