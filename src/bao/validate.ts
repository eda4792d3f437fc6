/**
 * Validation of stored data against a stored outboard (bao-tree `valid_ranges`): which chunk
 * groups are provably part of the blob. Used to check storage, and to resume a download from
 * what a partial file already holds.
 *
 * @module
 */

import { bytesEqual } from "../blake3/hash.ts";
import { parentCv, subtreeCv } from "../blake3/tree.ts";
import { ChunkRanges } from "../ranges/chunk_ranges.ts";
import type { BaoSource } from "./encode.ts";

/**
 * The chunks whose data verifies, through the outboard's pairs, against the root hash. A pair
 * that does not verify discards its whole subtree; a group that does not verify is left out.
 * Complete and sound data gives `ChunkRanges.ALL`.
 */
export async function validRanges(source: BaoSource): Promise<ChunkRanges> {
  const tree = source.tree;
  const boundaries: number[] = [];
  const add = (start: number, end: number) => {
    if (boundaries.length > 0 && boundaries[boundaries.length - 1] === start) boundaries.pop();
    else boundaries.push(start);
    boundaries.push(end);
  };
  const visit = async (start: number, end: number, expected: Uint8Array, isRoot: boolean) => {
    if (end - start <= tree.groupChunks) {
      const [a, b] = tree.byteRange(start, end);
      const data = await source.readData(a, b);
      if (data.length === b - a && bytesEqual(subtreeCv(data, start, isRoot), expected)) {
        add(start, end);
      }
      return;
    }
    const node = tree.nodeOver(start, end)!;
    const pair = await source.loadPair(node);
    const left = pair.subarray(0, 32), right = pair.subarray(32, 64);
    if (pair.length !== 64 || !bytesEqual(parentCv(left, right, isRoot), expected)) return;
    const mid = tree.mid(node);
    await visit(start, mid, left, false);
    await visit(mid, end, right, false);
  };
  await visit(0, tree.chunks, source.root, true);
  // A blob whose every chunk verifies is the whole (open-ended) set, as iroh's bitfields say.
  if (boundaries.length === 2 && boundaries[0] === 0 && boundaries[1] === tree.chunks) {
    return ChunkRanges.ALL;
  }
  return ChunkRanges.fromBoundaries(boundaries);
}
