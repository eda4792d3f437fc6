/**
 * The provider side of a Get or GetMany (IB `src/provider.rs`; brief §4 "Response stream"): for
 * each requested blob, its 8-byte LE size, then its bao-tree encoding of the requested ranges
 * at k = 4, back to back with no delimiter.
 *
 * Everything sent is checked against the blob's hash on the way out (`encodeRanges`), including
 * the hash-seq entries that name the children. When a blob is missing or its data cannot be
 * served, the response stops with a `ProvideError` and the caller cuts the stream, as iroh resets
 * it: bytes already sent stay valid, and nothing is padded or sent unverified. Data moves one
 * chunk group at a time; no blob is held whole.
 *
 * @module
 */

import { bytesEqual, type Hash, toHex } from "../blake3/hash.ts";
import { type BaoSource, encodeRanges, sizeHeader } from "../bao/encode.ts";
import { BaoError } from "../bao/errors.ts";
import { IROH_K } from "../bao/tree.ts";
import { HashSeqSource } from "../collection/hash_seq_source.ts";
import { InvalidHashSeqError } from "../collection/hash_seq.ts";
import type { ChunkRanges } from "../ranges/chunk_ranges.ts";
import type { Request } from "./request.ts";
import { type RequestedBlob, requestedBlobs } from "./requested_blobs.ts";

/** Where a provider finds blobs: the store implements this. */
export interface BlobProvider {
  /**
   * The outboard and data of `hash` (k = 4), or `undefined` if there is no such blob here. A
   * partial blob may be returned: asking for data it lacks fails verification, and the response
   * stops there. `ranges`, when given, are the chunks the response will read: a provider may
   * start reading them now, since blobs are opened ahead of the one being sent.
   */
  open(hash: Hash, ranges?: ChunkRanges): Promise<BaoSource | undefined>;
  /**
   * `pieces`, blob `hash`'s part of the response, wrapped so that the provider keeps the blob
   * while it is sent, however slowly the receiver reads (optional).
   */
  holding?(hash: Hash, pieces: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array>;
}

/**
 * Blobs opened ahead of the one being sent, so that a provider's lookups and first reads for the
 * next ones overlap the sending (a collection of small files is mostly lookups).
 */
const OPEN_AHEAD = 16;

/** The response cannot go on: blob `index` (`hash`) is missing or cannot be served. */
export class ProvideError extends Error {
  override name = "ProvideError";
  constructor(
    readonly index: number,
    readonly hash: Hash,
    message: string,
    options?: ErrorOptions,
  ) {
    super(`blob ${index} (${toHex(hash)}): ${message}`, options);
  }
}

/** The provider has no blob with this hash. */
export class BlobNotFoundError extends ProvideError {
  override name = "BlobNotFoundError";
  constructor(index: number, hash: Hash) {
    super(index, hash, "not found");
  }
}

/**
 * The provider has the blob but not the requested data in a form that verifies: missing ranges,
 * corrupt storage, a hash seq whose size is not a multiple of 32, or a source that does not
 * belong to the hash.
 */
export class BlobUnavailableError extends ProvideError {
  override name = "BlobUnavailableError";
}

/**
 * The provider holds the blob in part, without the requested chunks: known before reading, so
 * it is no verification failure (a peer that asked can ask another).
 */
export class BlobIncompleteError extends ProvideError {
  override name = "BlobIncompleteError";
}

/**
 * The response to `request`, as a stream of byte slices to write in order. Throws a
 * `ProvideError` (after the bytes that verified) when it cannot be completed; errors of the
 * provider itself pass through.
 */
export async function* writeResponse(
  provider: BlobProvider,
  request: Request,
): AsyncGenerator<Uint8Array> {
  let rootOpen: Promise<BaoSource> | undefined;
  let hashSeq: HashSeqSource | undefined;
  const child = async (root: Hash, position: number) => {
    try {
      hashSeq ??= new HashSeqSource(await (rootOpen ??= open(provider, 0, root)));
      return await hashSeq.get(position);
    } catch (e) {
      throw unavailable(e, 0, root);
    }
  };
  /** Each requested blob with its source being opened; a Get's blob 0 is the hash seq. */
  async function* opening(): AsyncGenerator<{ blob: RequestedBlob; source: Promise<BaoSource> }> {
    for await (const blob of requestedBlobs(request, child)) {
      const source = open(provider, blob.index, blob.hash, blob.ranges);
      // Awaited in order below; a failure must not surface earlier, nor go unhandled.
      source.catch(() => {});
      if (request.type === "get" && blob.index === 0) rootOpen = source;
      yield { blob, source };
    }
  }
  for await (const { blob, source } of ahead(opening(), OPEN_AHEAD)) {
    const pieces = sendBlob(await source, blob.index, blob.hash, blob.ranges);
    yield* provider.holding?.(blob.hash, pieces) ?? pieces;
  }
}

/**
 * The items of `source`, with up to `depth` more requested ahead of the one being consumed.
 * Results and failures come out in order: a failure ahead waits for its turn.
 */
async function* ahead<T>(source: AsyncGenerator<T>, depth: number): AsyncGenerator<T> {
  const queue: Promise<IteratorResult<T>>[] = [];
  try {
    while (true) {
      while (queue.length < depth) {
        const next = source.next();
        next.catch(() => {});
        queue.push(next);
      }
      const r = await queue.shift()!;
      if (r.done) return;
      yield r.value;
    }
  } finally {
    // Ends the source after the requests already queued; nothing waits for that.
    source.return(undefined).catch(() => {});
  }
}

/** The checked source of blob `index`; throws `ProvideError` if it is missing or not this blob. */
async function open(
  provider: BlobProvider,
  index: number,
  hash: Hash,
  ranges?: ChunkRanges,
): Promise<BaoSource> {
  const source = await provider.open(hash, ranges);
  if (source === undefined) throw new BlobNotFoundError(index, hash);
  if (!bytesEqual(source.root, hash) || source.tree.k !== IROH_K) {
    throw new BlobUnavailableError(
      index,
      hash,
      `the provider returned the tree of ${toHex(source.root)} at k=${source.tree.k}`,
    );
  }
  return source;
}

/** One blob of the response: size header, then the verified encoding of `ranges`. */
async function* sendBlob(
  source: BaoSource,
  index: number,
  hash: Hash,
  ranges: ChunkRanges,
): AsyncGenerator<Uint8Array> {
  if (source.held !== undefined && !source.held.isSuperset(source.tree.chunksRead(ranges))) {
    throw new BlobIncompleteError(index, hash, `only chunks ${source.held} of it are here`);
  }
  yield sizeHeader(source.tree.size);
  try {
    yield* encodeRanges(source, ranges);
  } catch (e) {
    throw unavailable(e, index, hash);
  }
}

/** A verification failure as the `ProvideError` for blob `index`; other errors unchanged. */
function unavailable(e: unknown, index: number, hash: Hash): unknown {
  if (e instanceof BaoError || e instanceof InvalidHashSeqError) {
    return new BlobUnavailableError(index, hash, e.message, { cause: e });
  }
  return e;
}
