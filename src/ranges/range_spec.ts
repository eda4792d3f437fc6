/**
 * The wire forms of chunk ranges in iroh-blobs requests (IB `src/protocol/range_spec.rs`; brief
 * §4 "RangeSpec", "ChunkRangesSeq"):
 *
 * - `RangeSpec` is one `ChunkRanges` as postcard `Vec<u64>`: the boundaries delta-encoded, the
 *   first absolute. Small numbers make short varints.
 * - `RangeSpecSeq` is a run-length sequence of them, one per blob index (index 0 = the root
 *   blob, i ≥ 1 = hash-seq child i − 1, or `hashes[i]` in a GetMany): `(delta_index, spec)`
 *   tuples, each saying "from this index on, use this spec"; the last spec repeats forever.
 *   In memory it is `ChunkRangesSeq`.
 *
 * `LAST_CHUNK` (2^53) travels as `u64::MAX`, bao-tree's "last chunk". A received boundary at
 * or above 2^53 lies past every blob this implementation can hold, so it decodes to the
 * equivalent set (see `chunk_ranges.ts`): a range starting there becomes `[LAST_CHUNK..)`, a
 * range ending there becomes open-ended. Blob indices above 2^53 − 1 cannot name a blob at all
 * (a hash seq that long would exceed 2^53 bytes) and are rejected.
 *
 * @module
 */

import { DecodeError } from "../protocol/decode_error.ts";
import { PostcardReader, PostcardWriter } from "../protocol/postcard.ts";
import { U64_MAX } from "../protocol/varint.ts";
import { ChunkRanges, LAST_CHUNK } from "./chunk_ranges.ts";

const LAST_CHUNK_BIG = BigInt(LAST_CHUNK);

/**
 * Writes `ranges` as a RangeSpec (IB `RangeSpec::new`): boundary count, first boundary, then
 * differences; `LAST_CHUNK` is written as `u64::MAX`.
 */
export function writeRangeSpec(writer: PostcardWriter, ranges: ChunkRanges): void {
  const b = ranges.boundaries;
  writer.varint(b.length);
  let prev = 0n;
  for (const x of b) {
    const value = x === LAST_CHUNK ? U64_MAX : BigInt(x);
    writer.varint(value - prev);
    prev = value;
  }
}

/**
 * Reads a RangeSpec (IB `RangeSpec::to_chunk_ranges`), strictly: boundaries must ascend (a zero
 * difference after the first is rejected, where iroh would silently merge) and stay within u64.
 */
export function readRangeSpec(reader: PostcardReader): ChunkRanges {
  const count = reader.length(1);
  const boundaries: number[] = [];
  let value = 0n;
  let pastEnd = false;
  for (let i = 0; i < count; i++) {
    const at = reader.offset;
    const delta = reader.varint();
    if (i > 0 && delta === 0n) throw new DecodeError("range boundaries must ascend", at);
    value += delta;
    if (value > U64_MAX) throw new DecodeError("range boundary exceeds u64::MAX", at);
    if (pastEnd) continue;
    if (value >= LAST_CHUNK_BIG) {
      // Past every blob: a start means the last chunk, an end leaves its range open.
      if (i % 2 === 0) boundaries.push(LAST_CHUNK);
      pastEnd = true;
    } else {
      boundaries.push(Number(value));
    }
  }
  return ChunkRanges.fromBoundaries(boundaries);
}

/** The RangeSpec bytes of `ranges` (IB `RangeSpec`; brief §4 examples). */
export function encodeRangeSpec(ranges: ChunkRanges): Uint8Array {
  return PostcardWriter.encode((w) => writeRangeSpec(w, ranges));
}

/** Decodes RangeSpec bytes that must be consumed exactly; throws `DecodeError`. */
export function decodeRangeSpec(bytes: Uint8Array): ChunkRanges {
  return PostcardReader.decode(bytes, readRangeSpec);
}

/** From blob index `start` on (until the next run), the chunks wanted of each blob. */
export interface RangesRun {
  readonly start: number;
  readonly ranges: ChunkRanges;
}

/**
 * Chunk ranges for every blob index of a request (IB `ChunkRangesSeq`): runs with strictly
 * ascending starts; indices before the first run want nothing, the last run repeats forever.
 */
export class ChunkRangesSeq {
  private constructor(readonly runs: readonly RangesRun[]) {}

  /** Nothing of any blob. */
  static readonly EMPTY: ChunkRangesSeq = new ChunkRangesSeq([]);
  /** Every chunk of every blob: a hash seq and all its children (IB `ChunkRangesSeq::all`). */
  static readonly ALL: ChunkRangesSeq = new ChunkRangesSeq([{ start: 0, ranges: ChunkRanges.ALL }]);
  /** All of blob 0 and nothing else: a single blob (IB `ChunkRangesSeq::root`). */
  static readonly BLOB: ChunkRangesSeq = ChunkRangesSeq.fromRanges([ChunkRanges.ALL]);
  /** Only the last chunk of blob 0, which proves its size (IB `verified_size`). */
  static readonly VERIFIED_SIZE: ChunkRangesSeq = ChunkRangesSeq.fromRanges([ChunkRanges.LAST]);
  /** All of blob 0 and the last chunk of every child (IB `verified_child_sizes`). */
  static readonly VERIFIED_CHILD_SIZES: ChunkRangesSeq = ChunkRangesSeq.fromRangesInfinite([
    ChunkRanges.ALL,
    ChunkRanges.LAST,
  ]);

  /**
   * One entry per blob index, then nothing (IB `ChunkRangesSeq::from_ranges`): equal neighbours
   * share a run, and a non-empty last entry is followed by an empty run that ends the sequence.
   */
  static fromRanges(ranges: Iterable<ChunkRanges>): ChunkRangesSeq {
    const [runs, next] = toRuns(ranges);
    if (runs.length > 0 && !runs[runs.length - 1].ranges.isEmpty) {
      runs.push({ start: next, ranges: ChunkRanges.EMPTY });
    }
    return new ChunkRangesSeq(runs);
  }

  /** One entry per blob index, the last repeating forever (IB `from_ranges_infinite`). */
  static fromRangesInfinite(ranges: Iterable<ChunkRanges>): ChunkRangesSeq {
    return new ChunkRangesSeq(toRuns(ranges)[0]);
  }

  /** The chunks wanted of blob `index` (IB `Index<u64>`). */
  get(index: number): ChunkRanges {
    const runs = this.runs;
    let lo = 0, hi = runs.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (runs[mid].start <= index) lo = mid + 1;
      else hi = mid;
    }
    return lo === 0 ? ChunkRanges.EMPTY : runs[lo - 1].ranges;
  }

  /** Whether some blob past every run still wants chunks, so the sequence never ends. */
  get isInfinite(): boolean {
    return this.runs.length > 0 && !this.runs[this.runs.length - 1].ranges.isEmpty;
  }

  /**
   * The indices in `[from, end)` that want chunks, ascending, with their ranges (IB
   * `iter_non_empty_infinite`). Unbounded when the sequence is infinite and `end` is not given;
   * empty runs are skipped whole, so a far-away index costs nothing.
   */
  *nonEmpty(from = 0, end = Infinity): Generator<[number, ChunkRanges]> {
    const runs = this.runs;
    for (let r = 0; r < runs.length; r++) {
      const { start, ranges } = runs[r];
      if (ranges.isEmpty) continue;
      const runEnd = Math.min(r + 1 < runs.length ? runs[r + 1].start : Infinity, end);
      for (let i = Math.max(start, from); i < runEnd; i++) yield [i, ranges];
    }
  }

  equals(other: ChunkRangesSeq): boolean {
    return this.runs.length === other.runs.length &&
      this.runs.every((run, i) =>
        run.start === other.runs[i].start && run.ranges.equals(other.runs[i].ranges)
      );
  }

  /** Reads a RangeSpecSeq (IB `wire::RangeSpecSeq`); run starts must strictly ascend. */
  static read(reader: PostcardReader): ChunkRangesSeq {
    // Each run is at least a one-byte index delta and a one-byte spec count.
    const count = reader.length(2);
    const runs: RangesRun[] = [];
    let index = 0n;
    for (let i = 0; i < count; i++) {
      const at = reader.offset;
      const delta = reader.varint();
      if (i > 0 && delta === 0n) throw new DecodeError("blob indices must ascend", at);
      index += delta;
      if (index > BigInt(Number.MAX_SAFE_INTEGER)) {
        throw new DecodeError("blob index beyond 2^53 - 1 cannot name a blob", at);
      }
      runs.push({ start: Number(index), ranges: readRangeSpec(reader) });
    }
    return new ChunkRangesSeq(runs);
  }

  /** Writes the RangeSpecSeq: run count, then (index delta, RangeSpec) per run. */
  write(writer: PostcardWriter): void {
    writer.varint(this.runs.length);
    let prev = 0;
    for (const { start, ranges } of this.runs) {
      writer.varint(start - prev);
      writeRangeSpec(writer, ranges);
      prev = start;
    }
  }

  /** The RangeSpecSeq bytes (brief §4 table). */
  encode(): Uint8Array {
    return PostcardWriter.encode((w) => this.write(w));
  }

  /** Decodes RangeSpecSeq bytes that must be consumed exactly; throws `DecodeError`. */
  static decode(bytes: Uint8Array): ChunkRangesSeq {
    return PostcardReader.decode(bytes, ChunkRangesSeq.read);
  }
}

/** Runs of equal neighbours (leading empties dropped), and the index after the last entry. */
function toRuns(ranges: Iterable<ChunkRanges>): [RangesRun[], number] {
  const runs: RangesRun[] = [];
  let i = 0;
  for (const r of ranges) {
    const current = runs.length > 0 ? runs[runs.length - 1].ranges : ChunkRanges.EMPTY;
    if (!r.equals(current)) runs.push({ start: i, ranges: r });
    i++;
  }
  return [runs, i];
}
