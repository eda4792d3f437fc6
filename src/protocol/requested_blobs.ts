/**
 * Which blobs a request's response holds, in order: the one walk that both the provider (what to
 * send) and the receiver (what to expect) follow (IB `src/provider.rs` `handle_get_impl`,
 * `handle_get_many_impl`; `src/get.rs` `iter_non_empty_infinite`).
 *
 * - Get: every index whose ranges are non-empty; index 0 is the requested hash, index i ≥ 1 is
 *   child i − 1 of it read as a hash seq. The response ends after the hash seq's last child,
 *   however far the ranges go on.
 * - GetMany: index i is `hashes[i]`, for the indices with non-empty ranges.
 *
 * @module
 */

import type { Hash } from "../blake3/hash.ts";
import type { ChunkRanges } from "../ranges/chunk_ranges.ts";
import type { Request } from "./request.ts";

export interface RequestedBlob {
  /** Position in the request's `ChunkRangesSeq`. */
  readonly index: number;
  readonly hash: Hash;
  /** Non-empty. */
  readonly ranges: ChunkRanges;
}

/**
 * The blobs of `request` in response order. `child(root, i)` gives hash i of the hash seq `root`,
 * or `undefined` past its end; it is called only when a Get asks for a child, in ascending order.
 */
export async function* requestedBlobs(
  request: Request,
  child: (root: Hash, position: number) => Promise<Hash | undefined> | Hash | undefined,
): AsyncGenerator<RequestedBlob> {
  if (request.type === "getMany") {
    for (const [index, ranges] of request.ranges.nonEmpty(0, request.hashes.length)) {
      yield { index, hash: request.hashes[index], ranges };
    }
    return;
  }
  for (const [index, ranges] of request.ranges.nonEmpty()) {
    const hash = index === 0 ? request.hash : await child(request.hash, index - 1);
    if (hash === undefined) return;
    yield { index, hash, ranges };
  }
}
