/**
 * One-dimensional ranges (willowprotocol.org `grouping_entries.tsx`, "Ranges"): a start value and
 * either a strictly greater end value (closed) or no end (open). A range includes the values `v`
 * with `start <= v < end`.
 *
 * Willow uses ranges of timestamps (u64, numeric order), of subspace ids (Willow'25: the numeric
 * order of the keys read as big-endian integers, i.e. bytewise) and of paths (`comparePaths`).
 * The successor functions give the least value greater than another, which is what turns "just
 * this value" or "everything up to and including this value" into a half-open range end.
 *
 * @module
 */

import { InvalidWillowValueError } from "./errors.ts";
import { U64_MAX } from "./params.ts";
import { comparePaths, type Path } from "./path.ts";

/** A half-open range; `end === undefined` means open (no upper bound). */
export interface Range<T> {
  readonly start: T;
  readonly end?: T;
}

export type TimeRange = Range<bigint>;
/**
 * Subspace bounds are 32-byte strings rather than `SubspaceId`s: a range end is often a successor
 * (`subspaceSuccessor`), which need not be a curve point.
 */
export type SubspaceRange = Range<Uint8Array>;
export type PathRange = Range<Path>;

/** A total order: negative, zero or positive like `Array.prototype.sort` wants. */
export type Compare<T> = (a: T, b: T) => number;

export const compareTimes: Compare<bigint> = (a, b) => (a < b ? -1 : a > b ? 1 : 0);

/** Bytewise order of equal-length byte strings, i.e. their order as big-endian integers. */
export const compareFixedBytes: Compare<Uint8Array> = (a, b) => {
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
  }
  return 0;
};

/** Willow'25 subspace order: the 32 bytes as a big-endian unsigned integer. */
export const compareSubspaceIds: Compare<Uint8Array> = compareFixedBytes;

export { comparePaths };

/** Whether `r` is a range at all: open, or its end strictly greater than its start. */
export function isRange<T>(r: Range<T>, cmp: Compare<T>): boolean {
  return r.end === undefined || cmp(r.end, r.start) > 0;
}

/** A range from its bounds, unchecked (see `isRange`). */
export function rangeOf<T>(start: T, end: T | undefined): Range<T> {
  return end === undefined ? { start } : { start, end };
}

/** A checked range; throws `InvalidWillowValueError` for `end <= start`. */
export function range<T>(start: T, end: T | undefined, cmp: Compare<T>): Range<T> {
  const r = rangeOf(start, end);
  if (!isRange(r, cmp)) {
    throw new InvalidWillowValueError("a closed range must end after it starts");
  }
  return r;
}

/** A checked time range of u64 microsecond timestamps. */
export function timeRange(start: bigint, end?: bigint): TimeRange {
  if (start < 0n || start > U64_MAX || (end !== undefined && (end < 0n || end > U64_MAX))) {
    throw new InvalidWillowValueError("timestamps are u64");
  }
  return range(start, end, compareTimes);
}

/** The open time range from 0: every timestamp. */
export const ALL_TIMES: TimeRange = Object.freeze({ start: 0n });

export function rangeIncludes<T>(r: Range<T>, v: T, cmp: Compare<T>): boolean {
  return cmp(r.start, v) <= 0 && (r.end === undefined || cmp(v, r.end) < 0);
}

/** Whether every value in `inner` is in `outer`. */
export function rangeIncludesRange<T>(outer: Range<T>, inner: Range<T>, cmp: Compare<T>): boolean {
  if (cmp(outer.start, inner.start) > 0) return false;
  if (outer.end === undefined) return true;
  return inner.end !== undefined && cmp(inner.end, outer.end) <= 0;
}

/** The intersection, or `undefined` when it is empty. */
export function intersectRanges<T>(
  a: Range<T>,
  b: Range<T>,
  cmp: Compare<T>,
): Range<T> | undefined {
  const start = cmp(a.start, b.start) >= 0 ? a.start : b.start;
  const end = a.end === undefined
    ? b.end
    : b.end === undefined
    ? a.end
    : cmp(a.end, b.end) <= 0
    ? a.end
    : b.end;
  const r = rangeOf(start, end);
  return isRange(r, cmp) ? r : undefined;
}

/** `t + 1`, or `undefined` (an open end) for the greatest timestamp. */
export function timestampSuccessor(t: bigint): bigint | undefined {
  return t === U64_MAX ? undefined : t + 1n;
}

/**
 * The next 32-byte string in the numeric order, or `undefined` after all 0xff (willow-rs
 * `SubspaceId25::successor`). The result is a range bound, not necessarily a curve point, so it
 * is typed as bytes: a range ending there can be queried locally but not encoded for a peer,
 * whose decoder (like willow-rs) requires subspace ids to be points.
 */
export function subspaceSuccessor(id: Uint8Array): Uint8Array | undefined {
  const out = id.slice();
  for (let i = out.length - 1; i >= 0; i--) {
    if (out[i] !== 0xff) {
      out[i]++;
      return out;
    }
    out[i] = 0;
  }
  return undefined;
}
