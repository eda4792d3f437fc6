/** Shared helpers for Bao tests. */
import type { Hash } from "../src/blake3/hash.ts";
import { BaoDecoder } from "../src/bao/decode.ts";
import type { ChunkRanges } from "../src/ranges/chunk_ranges.ts";
import { assert } from "./assert.ts";
import { collect, concatBytes } from "../src/bytes.ts";
import { hash } from "../src/blake3/tree.ts";
import { encodeRanges, memorySource, sizeHeader } from "../src/bao/encode.ts";
import { outboardOf } from "../src/bao/outboard.ts";
import type { VerifiedGroup, VerifiedPair } from "../src/store/partial.ts";

/** The pieces back to back. */
export const concat = concatBytes;

export interface Decoded {
  /** The verified pieces, in order. */
  pieces: { offset: number; data: Uint8Array }[];
  sizeVerified: boolean;
  size: number | undefined;
  /** The verified bytes from `offset` on, which must be contiguous. */
  bytesFrom(offset: number): Uint8Array;
  /** All verified bytes, concatenated. */
  data: Uint8Array;
}

/** Feeds `encoded` to a fresh decoder in slices of `step` bytes (or sizes from `steps`). */
export function decodeAll(
  root: Hash | Uint8Array,
  ranges: ChunkRanges,
  k: number,
  encoded: Uint8Array,
  step: number | (() => number),
): Decoded {
  const decoder = new BaoDecoder(root as Hash, ranges, k);
  const pieces: { offset: number; data: Uint8Array }[] = [];
  let off = 0;
  do {
    const n = typeof step === "number" ? step : step();
    for (const v of decoder.push(encoded.subarray(off, off + n))) {
      pieces.push({ offset: v.offset, data: v.data.slice() });
    }
    off += n;
  } while (off < encoded.length);
  decoder.finish();
  const data = concat(pieces.map((p) => p.data));
  return {
    pieces,
    sizeVerified: decoder.sizeVerified,
    size: decoder.size,
    data,
    bytesFrom(offset: number) {
      const i = pieces.findIndex((p) => p.offset + p.data.length > offset || p.offset >= offset);
      if (i < 0) return new Uint8Array(0);
      for (let j = i + 1; j < pieces.length; j++) {
        assert(pieces[j].offset === pieces[j - 1].offset + pieces[j - 1].data.length, "gap");
      }
      const tail = concat(pieces.slice(i).map((p) => p.data));
      return tail.subarray(Math.max(0, offset - pieces[i].offset));
    },
  };
}

/**
 * What a peer's stream of `ranges` of `data` yields once verified: whole groups (for whole-group
 * ranges) and the pairs met on the way, as a store would be handed them.
 */
export async function verifiedParts(data: Uint8Array, ranges: ChunkRanges) {
  const root = hash(data);
  const encoded = concatBytes([
    sizeHeader(data.length),
    await collect(encodeRanges(memorySource(data, outboardOf(data)), ranges)),
  ]);
  const pairs: VerifiedPair[] = [];
  const decoder = new BaoDecoder(root, ranges, 4, {
    onPair: (node, pair) => pairs.push({ node, pair }),
  });
  const groups: VerifiedGroup[] = decoder.push(encoded).map((v) => ({
    start: v.offset / 1024,
    data: v.data.slice(),
  }));
  decoder.finish();
  return { root, groups, pairs };
}
