/**
 * The `Range` request header for byte ranges (RFC 9110 §14.1–§14.2) and the `Content-Range`
 * values that answer it (§14.4, §15.5.17).
 *
 * The parser never throws on what a client sends: the RFC gives every malformed header a
 * meaning ("ignore it and send 200"), so the result is a decision, not an error. Satisfiable
 * ranges come back sorted, disjoint and non-adjacent, so a response built from them never
 * sends a byte twice and its length is known before the first byte.
 *
 * @module
 */

import { TOKEN, trimOws } from "./syntax.ts";

/** Inclusive byte positions, as RFC 9110 §14.1.2 writes them (`first-pos`, `last-pos`). */
export interface ByteRange {
  readonly first: number;
  readonly last: number;
}

/**
 * Ranges ready to send: non-empty, ascending, each inside the representation, and separated by
 * at least one unrequested byte (overlapping and adjacent ranges are merged).
 */
export type SatisfiableRanges = readonly [ByteRange, ...ByteRange[]];

/**
 * Most parts a multipart response will carry. More (after coalescing) is what RFC 9110 §14.2
 * calls "many small ranges", a sign of a broken client or a denial-of-service attempt: each part
 * costs a part header and, here, the verification of at least one 16 KiB chunk group. The
 * parser then answers with the single range spanning them all (see `parseRange`).
 */
export const MAX_RANGES = 64;

/** Why a `Range` header is to be ignored (the response is then a plain 200). */
export type IgnoreReason =
  /** No `Range` header. */
  | "absent"
  /** A unit other than `bytes`: an origin server MUST ignore it (§14.2). */
  | "other-unit"
  /** Not a valid ranges-specifier (§14.1.1): the server MAY ignore it, and does. */
  | "invalid"
  /**
   * A zero-length representation asked for by a non-empty suffix range: satisfiable by §14.1.2,
   * yet no `Content-Range` can describe zero bytes, and §14.2 lets the server ignore Range.
   */
  | "empty-representation";

/** What to do with a request's `Range` header for a representation of `size` bytes. */
export type RangeDecision =
  | { readonly kind: "ignore"; readonly reason: IgnoreReason }
  /** No range overlaps the representation: §15.5.17, with `unsatisfiedContentRange(size)`. */
  | { readonly kind: "unsatisfiable"; readonly size: number }
  /** Send these ranges: one as a single-part 206, several as `multipart/byteranges`. */
  | { readonly kind: "ranges"; readonly ranges: SatisfiableRanges; readonly size: number };

/** A range-spec as written, positions still as digit strings (they may exceed 2^53). */
type RangeSpec =
  | { readonly suffix: false; readonly first: string; readonly last: string | undefined }
  | { readonly suffix: true; readonly length: string };

const RANGE_SPEC = /^(\d*)-(\d*)$/;

/**
 * Decides what a `Range` field value asks of a representation of `size` bytes (RFC 9110
 * §14.1.1 grammar, §14.1.2 byte-range semantics, §14.2 server behaviour).
 *
 * - Unit names are case-insensitive; any unit but `bytes` is ignored.
 * - `first-last`, `first-` and `-suffix`, comma-separated, with optional whitespace around the
 *   commas and empty list elements skipped (§5.6.1). One malformed or reversed range-spec makes
 *   the whole header invalid, hence ignored.
 * - A `last` at or past the end, or a suffix longer than the representation, is clamped;
 *   a `first` at or past the end, and a zero-length suffix, are unsatisfiable; the header is
 *   unsatisfiable only when every range-spec is.
 * - For `size = 0` only a non-empty suffix is satisfiable (§14.1.2); it selects zero bytes,
 *   which a 206 cannot describe, so the header is ignored (§14.2 MAY ignore).
 * - Overlapping and adjacent ranges are merged and the result sorted (§15.3.7.2 lets a server
 *   coalesce "regardless of the order"; each part names its own `Content-Range`).
 * - More than `MAX_RANGES` ranges after merging become the one range from the first requested
 *   byte to the last. §14.2 lets a server ignore such a header (a 200 with everything); the
 *   spanning range is never larger than that 200 and is still a valid answer to a multi-range
 *   request, since a client must accept fewer, coalesced parts and read `Content-Range`. A 416
 *   would falsely tell the client that nothing it asked for exists.
 *
 * Numbers beyond 2^53 are compared as digit strings, so huge positions are judged exactly.
 */
export function parseRange(field: string | null, size: number): RangeDecision {
  if (!Number.isSafeInteger(size) || size < 0) {
    throw new RangeError(`a representation size is a safe non-negative integer, got ${size}`);
  }
  if (field === null) return { kind: "ignore", reason: "absent" };
  const value = trimOws(field);
  const eq = value.indexOf("=");
  const unit = value.slice(0, eq);
  if (eq < 0 || !TOKEN.test(unit)) return { kind: "ignore", reason: "invalid" };
  if (unit.toLowerCase() !== "bytes") return { kind: "ignore", reason: "other-unit" };
  const specs = parseRangeSet(value.slice(eq + 1));
  if (specs === undefined) return { kind: "ignore", reason: "invalid" };

  const ranges: ByteRange[] = [];
  let emptySuffix = false;
  for (const spec of specs) {
    const range = resolve(spec, size);
    if (range !== undefined) ranges.push(range);
    else if (size === 0 && spec.suffix && Number(spec.length) > 0) emptySuffix = true;
  }
  if (ranges.length > 0) return { kind: "ranges", ranges: coalesce(ranges), size };
  if (emptySuffix) return { kind: "ignore", reason: "empty-representation" };
  return { kind: "unsatisfiable", size };
}

/** `range-set = 1#range-spec` (§14.1.1); `undefined` when any element is not a byte range-spec. */
function parseRangeSet(text: string): RangeSpec[] | undefined {
  const specs: RangeSpec[] = [];
  for (const element of text.split(",")) {
    const item = trimOws(element);
    if (item === "") continue;
    const m = RANGE_SPEC.exec(item);
    if (m === null) return undefined;
    const [, first, last] = m;
    if (first === "") {
      if (last === "") return undefined;
      specs.push({ suffix: true, length: last });
    } else {
      if (last !== "" && compareDigits(last, first) < 0) return undefined;
      specs.push({ suffix: false, first, last: last === "" ? undefined : last });
    }
  }
  return specs.length > 0 ? specs : undefined;
}

/**
 * The bytes a valid range-spec selects, or `undefined` when it is unsatisfiable (§14.1.2).
 * `Number` of a digit string past 2^53 is inexact but still above every safe size, which is all
 * the comparisons here need (validity was judged exactly by `compareDigits`).
 */
function resolve(spec: RangeSpec, size: number): ByteRange | undefined {
  if (spec.suffix) {
    const length = Number(spec.length);
    if (length === 0 || size === 0) return undefined;
    return { first: Math.max(0, size - length), last: size - 1 };
  }
  const first = Number(spec.first);
  if (first >= size) return undefined;
  const last = spec.last === undefined ? size - 1 : Math.min(Number(spec.last), size - 1);
  return { first, last };
}

/** Exact order of two decimal digit strings of any length (leading zeros allowed). */
function compareDigits(a: string, b: string): number {
  const x = a.replace(/^0+/, ""), y = b.replace(/^0+/, "");
  if (x.length !== y.length) return x.length - y.length;
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Sorts, merges overlapping and adjacent ranges, and applies `MAX_RANGES`. */
function coalesce(ranges: ByteRange[]): SatisfiableRanges {
  ranges.sort((a, b) => a.first - b.first);
  const merged: ByteRange[] = [];
  for (const r of ranges) {
    const prev = merged.at(-1);
    if (prev !== undefined && r.first <= prev.last + 1) {
      merged[merged.length - 1] = { first: prev.first, last: Math.max(prev.last, r.last) };
    } else {
      merged.push(r);
    }
  }
  const [head, ...rest] = merged;
  if (merged.length > MAX_RANGES) return [{ first: head.first, last: merged.at(-1)!.last }];
  return [head, ...rest];
}

/** Number of bytes in an inclusive range. */
export function rangeLength(range: ByteRange): number {
  return range.last - range.first + 1;
}

/** `Content-Range: bytes first-last/size` for a 206 or a multipart part (RFC 9110 §14.4). */
export function contentRange(range: ByteRange, size: number): string {
  return `bytes ${range.first}-${range.last}/${size}`;
}

/** `Content-Range: bytes *\/size` for a 416 (RFC 9110 §14.4 `unsatisfied-range`, §15.5.17). */
export function unsatisfiedContentRange(size: number): string {
  return `bytes */${size}`;
}
