/**
 * Verified plain reads: the data of a byte range, each 16 KiB group checked against the root
 * hash through the outboard before it is handed out, with no hashes in the output. This is
 * "validate on send" for ordinary HTTP clients.
 *
 * @module
 */

import { ChunkRanges } from "../ranges/chunk_ranges.ts";
import type { VerifiedData } from "./decode.ts";
import { type BaoSource, verifiedSteps } from "./encode.ts";

/**
 * Verified data covering bytes `[start, end)` of the blob, in order, as whole groups (the
 * first and last may extend beyond the range: callers trim). Throws `HashMismatchError` before
 * yielding anything of a group that does not verify.
 */
export async function* readVerified(
  source: BaoSource,
  start: number,
  end: number,
): AsyncGenerator<VerifiedData> {
  if (end <= start) return;
  const query = ChunkRanges.fromBytes(start, end).truncate(source.tree.size);
  for await (const step of verifiedSteps(source, query)) {
    if (step.type === "group") {
      yield { offset: source.tree.byteRange(step.item.start, step.item.end)[0], data: step.data };
    }
  }
}

/** `readVerified`, trimmed to exactly bytes `[start, end)`. */
export async function* readVerifiedExact(
  source: BaoSource,
  start: number,
  end: number,
): AsyncGenerator<Uint8Array> {
  for await (const { offset, data } of readVerified(source, start, end)) {
    const from = Math.max(start - offset, 0);
    const to = Math.min(end - offset, data.length);
    if (to > from) yield data.subarray(from, to);
  }
}
