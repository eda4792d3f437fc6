/**
 * Verified plain reads: the data of a byte range, each 16 KiB group checked against the root
 * hash through the outboard before it is handed out, with no hashes in the output. This is
 * "validate on send" for ordinary HTTP clients.
 *
 * @module
 */

import { ChunkRanges } from "../ranges/chunk_ranges.ts";
import { type BaoSource, verifiedSteps } from "./encode.ts";

/**
 * Verified data of bytes `[start, end)` of the blob, in order: each group is read whole and
 * checked (with the pairs above it) before any of it is handed out; `HashMismatchError` at the
 * first that fails. Verified groups that sit next to each other in one buffer (the groups of
 * one storage page) come out as one view, without copying.
 */
export async function* readVerifiedExact(
  source: BaoSource,
  start: number,
  end: number,
): AsyncGenerator<Uint8Array> {
  if (end <= start) return;
  const tree = source.tree;
  const query = ChunkRanges.fromBytes(start, end).truncate(tree.size);
  let pending: Uint8Array | undefined;
  for await (const step of verifiedSteps(source, query)) {
    if (step.type !== "group") continue;
    const offset = tree.byteRange(step.item.start, step.item.end)[0];
    const piece = step.data.subarray(
      Math.max(start - offset, 0),
      Math.min(end - offset, step.data.length),
    );
    if (piece.length === 0) continue;
    if (
      pending !== undefined && pending.buffer === piece.buffer &&
      pending.byteOffset + pending.length === piece.byteOffset
    ) {
      pending = new Uint8Array(pending.buffer, pending.byteOffset, pending.length + piece.length);
      continue;
    }
    if (pending !== undefined) yield pending;
    pending = piece;
  }
  if (pending !== undefined) yield pending;
}
