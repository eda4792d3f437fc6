/**
 * Area encodings: `EncodeAreaInArea` / `encode_area_in_area` (willowprotocol.org
 * `encodings.tsx`, "Area Encoding"), which Meadowcap signs in every delegation, and the absolute
 * area encoding willow-rs and the official test vectors use for reference values
 * (willow_test_vectors README, "Custom Encodings"; willow-rs `data-model/src/grouping/area.rs`).
 *
 * `EncodeAreaInArea` writes an area relative to an area that includes it: a header byte, the
 * subspace id only if it differs, the time bounds as distances from the outer range's start or
 * end (bits 2 and 3 say which), and the path as an extension of the outer path.
 *
 * Deviations from the spec text, all following willow-rs
 * (`data-model/src/relative_encodings/area_area.rs`), which generated the official vectors and is
 * the deployed Willow'25 implementation (decision of the lead, issue 6):
 *
 * - An open end counts as 2^64 − 1. Distances may be measured from it, and the nearer bound is
 *   found with it: `[2^64 − 10, open)` in the full area is written as 9 from the end. The spec
 *   (§"Area Encoding": "if the end of out is open, start_from_start must be true") forbids this.
 * - On an exact tie the canonic code measures from the start (willow-rs sets bit 2 iff the
 *   distance equals the one from the start); the spec picks the end.
 * - Every code, canonic or not, must use the nearer bound (willow-rs checks this in both its
 *   decoders); the spec's relation allows either.
 * - Empty time ranges (`end <= start`) decode: willow-rs' `Range` does not require a strictly
 *   greater end, and the vectors hold such areas. They include no entry.
 * - In the relation (not the canonic function), a subspace id written out although it equals
 *   the outer area's decodes; the spec makes that header bit "1 iff" they differ.
 *
 * @module
 */

import { type Area, areaIncludesArea, type AreaSubspace, areaSubspacesEqual } from "./area.ts";
import { Reader, Writer } from "./codec.ts";
import { bitsAt, minimalTag, placeBits, readTagged, writeTagged } from "./compact_u64.ts";
import { InvalidWillowValueError, WillowDecodeError } from "./errors.ts";
import { readPublicKey } from "./id_encoding.ts";
import { U64_MAX } from "./params.ts";
import { readPath, readPathExtendsPath, writePath, writePathExtendsPath } from "./path_encoding.ts";
import { compareTimes, rangeIncludesRange, rangeOf, type TimeRange } from "./range.ts";

function invalid(message: string): WillowDecodeError {
  return new WillowDecodeError("invalid", message);
}

/** A time range end as willow-rs reads it for distances: open is 2^64 − 1. */
function endValue(times: TimeRange): bigint {
  return times.end ?? U64_MAX;
}

/**
 * The distance willow-rs writes for bound `t` of an area inside `outer`: the smaller of the two
 * distances to the outer bounds, from the start when they are equal. `undefined` when `t` lies
 * outside `[outer.start, endValue(outer)]` (only an empty inner range can do that).
 */
function distance(t: bigint, outer: TimeRange): { fromStart: boolean; diff: bigint } | undefined {
  const toStart = t - outer.start;
  const toEnd = endValue(outer) - t;
  if (toStart < 0n || toEnd < 0n) return undefined;
  return toStart <= toEnd ? { fromStart: true, diff: toStart } : { fromStart: false, diff: toEnd };
}

/** `encode_area_in_area`: `a` relative to `out`, which must include it. */
export function writeAreaInArea(w: Writer, a: Area, out: Area): void {
  const start = distance(a.times.start, out.times);
  const end = distance(endValue(a.times), out.times);
  if (!areaIncludesArea(out, a) || start === undefined || end === undefined) {
    throw new InvalidWillowValueError("an area is encoded relative to an area including it");
  }
  const open = a.times.end === undefined;
  const subspaceDiffers = !areaSubspacesEqual(a.subspace, out.subspace);
  const startTag = minimalTag(start.diff, 2);
  const endTag = minimalTag(end.diff, 2);
  w.byte(
    (subspaceDiffers ? 0x80 : 0) | (open ? 0x40 : 0) | (start.fromStart ? 0x20 : 0) |
      (!open && end.fromStart ? 0x10 : 0) | placeBits(startTag, 4, 2) | placeBits(endTag, 6, 2),
  );
  if (subspaceDiffers) w.bytes(a.subspace as Uint8Array);
  writeTagged(w, start.diff, startTag, 2);
  if (!open) writeTagged(w, end.diff, endTag, 2);
  writePathExtendsPath(w, a.path, out.path);
}

/**
 * `EncodeAreaInArea` (canonic: `encode_area_in_area`) relative to `out`. Checks run in willow-rs'
 * order, so a broken code fails with the kind ("truncated" / "invalid") the vectors name.
 */
export function readAreaInArea(r: Reader, out: Area): Area {
  const header = r.byte();
  const endOpen = (header & 0x40) !== 0;
  const endFromStart = (header & 0x10) !== 0;
  if (r.canonic && endOpen && (endFromStart || bitsAt(header, 6, 2) !== 0)) {
    throw invalid("encode_area_in_area sets no end bits for an open end");
  }
  let subspace: AreaSubspace = out.subspace;
  if (header & 0x80) {
    subspace = readPublicKey(r);
    const equal = areaSubspacesEqual(subspace, out.subspace);
    if (r.canonic && equal) throw invalid("subspace written out although it equals the outer one");
    if (!equal && out.subspace !== "any") throw invalid("subspace outside the outer area");
  }
  const start = readBound(r, bitsAt(header, 4, 2), (header & 0x20) !== 0, out.times);
  let end: bigint | undefined;
  if (endOpen) {
    if (endFromStart) throw invalid("an open end is measured from nowhere");
  } else {
    end = readBound(r, bitsAt(header, 6, 2), endFromStart, out.times);
  }
  const times = rangeOf(start, end);
  if (!rangeIncludesRange(out.times, times, compareTimes)) {
    throw invalid("time range outside the outer area");
  }
  const path = readPathExtendsPath(r, out.path);
  return { subspace, path, times };
}

/**
 * Reads one time bound measured from the outer range's start or (2^64 − 1 if open) end; it must
 * be measured from the nearer one, and a canonic code from the start on a tie.
 */
function readBound(r: Reader, tag: number, fromStart: boolean, outer: TimeRange): bigint {
  const diff = readTagged(r, tag, 2, r.canonic);
  const t = fromStart ? outer.start + diff : endValue(outer) - diff;
  const nearest = distance(t, outer);
  if (nearest === undefined) throw invalid("time bound outside the outer range");
  if (nearest.diff !== diff) throw invalid("time bound not measured from the nearer end");
  if (r.canonic && nearest.fromStart !== fromStart) {
    throw invalid("encode_area_in_area measures a bound halfway from the start");
  }
  return t;
}

/**
 * The absolute area encoding of willow-rs (not part of the spec): a header (0x80: any subspace,
 * 0x40: open time range; willow-rs writes the latter where the vector README says 0x20), the
 * subspace id unless any, `encode_path`, the start as 8 big-endian bytes and the end likewise
 * unless open. Useful for storing areas; the vectors use it for reference values, which may have
 * empty time ranges (see the module comment).
 */
export function writeAreaAbsolute(w: Writer, a: Area): void {
  w.byte((a.subspace === "any" ? 0x80 : 0) | (a.times.end === undefined ? 0x40 : 0));
  if (a.subspace !== "any") w.bytes(a.subspace);
  writePath(w, a.path);
  w.uintBE(a.times.start, 8);
  if (a.times.end !== undefined) w.uintBE(a.times.end, 8);
}

export function readAreaAbsolute(r: Reader): Area {
  const header = r.byte();
  const subspace: AreaSubspace = header & 0x80 ? "any" : readPublicKey(r);
  const path = readPath(r);
  const start = r.uintBE(8);
  return { subspace, path, times: rangeOf(start, header & 0x40 ? undefined : r.uintBE(8)) };
}
