/**
 * `ChunkRanges`: a set of 1 KiB chunk indices kept as sorted boundaries, possibly open-ended
 * (bao-tree `ChunkRanges` = `RangeSet2<ChunkNum>`; iroh-blobs wire form `RangeSpec`).
 *
 * Boundaries alternate start, end, start, …; an odd count leaves the last range open. Chunk
 * indices are JavaScript numbers: blobs stay far below 2^53 chunks, so `LAST_CHUNK = 2^53`
 * stands for anything at or past the end, which bao-tree writes as `u64::MAX`.
 *
 * @module
 */

import { CHUNK_LEN } from "../blake3/constants.ts";

/** A chunk index past every real blob: `[LAST_CHUNK..)` asks for the last chunk (size proof). */
export const LAST_CHUNK = 2 ** 53;

/** Text or boundaries that do not describe a chunk range set. */
export class InvalidRangesError extends Error {
  override name = "InvalidRangesError";
}

export class ChunkRanges {
  /** Strictly ascending non-negative integers ≤ LAST_CHUNK. */
  readonly boundaries: readonly number[];

  private constructor(boundaries: readonly number[]) {
    this.boundaries = boundaries;
  }

  static readonly EMPTY: ChunkRanges = new ChunkRanges([]);
  static readonly ALL: ChunkRanges = new ChunkRanges([0]);
  /** bao-tree `ChunkRanges::last_chunk()`: only the last chunk, which proves the size. */
  static readonly LAST: ChunkRanges = new ChunkRanges([LAST_CHUNK]);

  /** From boundaries, checked: ascending, integers, within `[0, LAST_CHUNK]`. */
  static fromBoundaries(boundaries: readonly number[]): ChunkRanges {
    let prev = -1;
    for (const b of boundaries) {
      if (!Number.isInteger(b) || b <= prev || b > LAST_CHUNK) {
        throw new InvalidRangesError(
          `range boundaries must be ascending integers in 0..2^53, got [${boundaries.join(", ")}]`,
        );
      }
      prev = b;
    }
    return new ChunkRanges([...boundaries]);
  }

  /** The chunks `[start, end)`; `end` omitted means open-ended. */
  static range(start: number, end?: number): ChunkRanges {
    if (end === undefined) return ChunkRanges.fromBoundaries([start]);
    return end <= start ? ChunkRanges.EMPTY : ChunkRanges.fromBoundaries([start, end]);
  }

  /**
   * The chunks covering bytes `[start, end)`, rounded out (bao-tree `round_up_to_chunks`):
   * `[⌊start/1024⌋, ⌈end/1024⌉)`.
   */
  static fromBytes(start: number, end: number): ChunkRanges {
    return ChunkRanges.range(Math.floor(start / CHUNK_LEN), Math.ceil(end / CHUNK_LEN));
  }

  /**
   * Parses the command-line form `a..b,c..d,e..` (half-open chunk ranges, the last may be open);
   * overlapping or unsorted parts are merged. The empty string is the empty set.
   *
   * The text comes from anyone (`?chunks=`), so the work stays linear-logarithmic in its length:
   * each part is trimmed before a pattern with no ambiguous repetition sees it (`\s*(\d*)\s*$`
   * backtracks quadratically on a run of spaces), and the parts are merged with one sort rather
   * than a union each.
   */
  static parse(text: string): ChunkRanges {
    if (text.trim() === "") return ChunkRanges.EMPTY;
    const parts: [start: number, end: number][] = [];
    for (const part of text.split(",")) {
      const m = /^(\d+)\s*\.\.\s*(\d*)$/.exec(part.trim());
      if (!m) throw new InvalidRangesError(`"${part}" is not a chunk range like 0..4 or 10..`);
      const start = Number(m[1]);
      const end = m[2] === "" ? Infinity : Number(m[2]);
      if (start > LAST_CHUNK || (end !== Infinity && end > LAST_CHUNK)) {
        throw new InvalidRangesError(`"${part}" is past the largest chunk index 2^53`);
      }
      if (end < start) throw new InvalidRangesError(`"${part}" ends before it starts`);
      if (end > start) parts.push([start, end]);
    }
    parts.sort((a, b) => a[0] - b[0]);
    const out: number[] = [];
    let open = -1;
    for (const [start, end] of parts) {
      // Overlapping or adjacent to the range being built: extend it.
      if (open >= 0 && start <= out[open + 1]) out[open + 1] = Math.max(out[open + 1], end);
      else open = out.push(start, end) - 2;
    }
    if (out.at(-1) === Infinity) out.pop();
    return new ChunkRanges(out);
  }

  get isEmpty(): boolean {
    return this.boundaries.length === 0;
  }

  get isAll(): boolean {
    return this.boundaries.length === 1 && this.boundaries[0] === 0;
  }

  /** Whether the last range is open-ended. */
  get isOpen(): boolean {
    return this.boundaries.length % 2 === 1;
  }

  /** Index of the first boundary greater than `x`. */
  #upper(x: number): number {
    const b = this.boundaries;
    let lo = 0, hi = b.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (b[mid] <= x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  contains(chunk: number): boolean {
    return this.#upper(chunk) % 2 === 1;
  }

  /** The smallest chunk of the set that is at least `chunk`, or `undefined` if none is. */
  firstAtOrAfter(chunk: number): number | undefined {
    const i = this.#upper(chunk);
    if (i % 2 === 1) return chunk;
    return this.boundaries[i];
  }

  /** Whether some chunk in `[start, end)` is in the set (`end = Infinity` allowed). */
  intersects(start: number, end: number): boolean {
    if (end <= start) return false;
    const i = this.#upper(start);
    if (i % 2 === 1) return true;
    return i < this.boundaries.length && this.boundaries[i] < end;
  }

  /** Whether every chunk of `[start, end)` is in the set (`end = Infinity` allowed). */
  covers(start: number, end: number): boolean {
    const i = this.#upper(start);
    if (i % 2 === 0) return false;
    return i === this.boundaries.length || this.boundaries[i] >= end;
  }

  /** Boolean combination of two sets by a sweep over both boundary lists. */
  #combine(other: ChunkRanges, op: (a: boolean, b: boolean) => boolean): ChunkRanges {
    const a = this.boundaries, b = other.boundaries;
    const out: number[] = [];
    let i = 0, j = 0, inA = false, inB = false, inOut = false;
    while (i < a.length || j < b.length) {
      const x = Math.min(i < a.length ? a[i] : Infinity, j < b.length ? b[j] : Infinity);
      if (i < a.length && a[i] === x) {
        inA = !inA;
        i++;
      }
      if (j < b.length && b[j] === x) {
        inB = !inB;
        j++;
      }
      const now = op(inA, inB);
      if (now !== inOut) {
        out.push(x);
        inOut = now;
      }
    }
    return new ChunkRanges(out);
  }

  union(other: ChunkRanges): ChunkRanges {
    return this.#combine(other, (a, b) => a || b);
  }

  intersection(other: ChunkRanges): ChunkRanges {
    return this.#combine(other, (a, b) => a && b);
  }

  difference(other: ChunkRanges): ChunkRanges {
    return this.#combine(other, (a, b) => a && !b);
  }

  equals(other: ChunkRanges): boolean {
    return this.boundaries.length === other.boundaries.length &&
      this.boundaries.every((b, i) => b === other.boundaries[i]);
  }

  /** Whether every chunk of `other` is in this set. */
  isSuperset(other: ChunkRanges): boolean {
    return other.difference(this).isEmpty;
  }

  /**
   * The ranges a tree of `size` bytes really selects (bao-tree `truncate_ranges`): anything that
   * reaches the last chunk `⌈size/1024⌉−1` (0 for an empty blob) or beyond becomes open-ended,
   * so it selects the last chunk and proves the size; nothing else changes.
   */
  truncate(size: number): ChunkRanges {
    const last = Math.max(Math.ceil(size / CHUNK_LEN) - 1, 0);
    const b = this.boundaries;
    const u = this.#upper(last);
    // Nothing reaches the last chunk: unchanged.
    if (u === b.length) return this;
    // The last chunk is inside a range: that range becomes open.
    if (u % 2 === 1) return new ChunkRanges(b.slice(0, u));
    // A range ends exactly at the last chunk and more follows: reopen it, filling the hole.
    if (u > 0 && b[u - 1] === last) return new ChunkRanges(b.slice(0, u - 1));
    // The last chunk falls in a gap and more follows: keep the next range, open.
    return new ChunkRanges(b.slice(0, u + 1));
  }

  /** The command-line form, e.g. `0..4,10..`; the inverse of `parse`. */
  toString(): string {
    const parts: string[] = [];
    const b = this.boundaries;
    for (let i = 0; i < b.length; i += 2) {
      parts.push(i + 1 < b.length ? `${b[i]}..${b[i + 1]}` : `${b[i]}..`);
    }
    return parts.join(",");
  }
}
