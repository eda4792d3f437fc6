/**
 * The hashes of a hash seq read from storage one verified chunk group at a time, for a provider
 * that must find child i of a request (IB `src/provider.rs` `handle_get_impl`, which loads the
 * whole hash seq instead).
 *
 * Storage is not trusted: each group goes through `encodeRanges`, which checks it and the pairs
 * above it against the root hash, before any hash is taken from it, and the hash count comes
 * from the size only once the last chunk has proved it. Memory stays at one group however long
 * the hash seq is.
 *
 * @module
 */

import { asHash, type Hash } from "../blake3/hash.ts";
import { OUT_LEN } from "../blake3/constants.ts";
import { type BaoSource, encodeRanges } from "../bao/encode.ts";
import { ChunkRanges } from "../ranges/chunk_ranges.ts";
import { hashSeqLength } from "./hash_seq.ts";

export class HashSeqSource {
  #group = -1;
  #groupBytes: Uint8Array = new Uint8Array(0);
  #count: number | undefined;

  constructor(readonly source: BaoSource) {}

  /**
   * Number of hashes, from the size proved by the last chunk. Throws `InvalidHashSeqError` when
   * the blob is not a multiple of 32 bytes, a `BaoError` when storage does not verify.
   */
  async count(): Promise<number> {
    if (this.#count === undefined) await this.#load(this.source.tree.groups - 1);
    return this.#count!;
  }

  /** The hash at `index`, verified, or `undefined` past the end. */
  async get(index: number): Promise<Hash | undefined> {
    if (index >= await this.count()) return undefined;
    const tree = this.source.tree;
    const byte = index * OUT_LEN;
    await this.#load(Math.floor(byte / tree.groupBytes));
    const at = byte % tree.groupBytes;
    return asHash(this.#groupBytes.slice(at, at + OUT_LEN));
  }

  /**
   * Makes group `g` the verified window. A query for one whole group encodes as the pairs on its
   * path and then the group's bytes (walk.ts), all checked by `encodeRanges`, so the last item is
   * the verified data; for the last group that check also proves the size.
   */
  async #load(g: number): Promise<void> {
    if (g === this.#group) return;
    const tree = this.source.tree;
    const ranges = ChunkRanges.range(g * tree.groupChunks, (g + 1) * tree.groupChunks);
    let data: Uint8Array | undefined;
    for await (const item of encodeRanges(this.source, ranges)) data = item;
    this.#group = g;
    this.#groupBytes = data!;
    if (g === tree.groups - 1) this.#count = hashSeqLength(tree.size);
  }
}
