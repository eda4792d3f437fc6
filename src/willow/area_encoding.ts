/**
 * Area encodings: `EncodeAreaInArea` / `encode_area_in_area` (willowprotocol.org
 * `encodings.tsx`, "Area Encoding"), which Meadowcap signs in every delegation, and the absolute
 * area encoding willow-rs and the official test vectors use for reference values
 * (willow_test_vectors README, "Custom Encodings"; willow-rs `data-model/src/grouping/area.rs`).
 *
 * `EncodeAreaInArea` writes an area relative to an area that includes it: a header byte, the
 * subspace id only if it differs, the time bounds as distances from the outer range's start or
 * end (bits 2 and 3 say which), and the path as an extension of the outer path. When the outer
 * range is open, distances must be measured from its start. The canonic form picks the smaller
 * distance, and on a tie the end ("start_from_start" false), as the spec says.
 *
 * @module
 */

import { type Area, areaIncludesArea, type AreaSubspace, areaSubspacesEqual } from "./area.ts";
import { Reader, Writer } from "./codec.ts";
import { bitsAt, minimalTag, placeBits, readTagged, writeTagged } from "./compact_u64.ts";
import { InvalidWillowValueError, STRICTER_THAN_WILLOW_RS, WillowDecodeError } from "./errors.ts";
import { readPublicKey } from "./id_encoding.ts";
import { U64_MAX } from "./params.ts";
import { readPath, readPathExtendsPath, writePath, writePathExtendsPath } from "./path_encoding.ts";
import { compareTimes, isRange, rangeIncludesRange, rangeOf, type TimeRange } from "./range.ts";

function invalid(message: string): WillowDecodeError {
  return new WillowDecodeError("invalid", message);
}

/**
 * A time bound as a distance from the outer range: from its start when `fromStart` is forced
 * (open outer end) or the distance from the start is strictly smaller, else from its end.
 */
function distance(value: bigint, outer: TimeRange): { fromStart: boolean; diff: bigint } {
  const fromStart = value - outer.start;
  if (outer.end === undefined) return { fromStart: true, diff: fromStart };
  const fromEnd = outer.end - value;
  return fromStart < fromEnd
    ? { fromStart: true, diff: fromStart }
    : { fromStart: false, diff: fromEnd };
}

/** `encode_area_in_area`: `a` relative to `out`, which must include it. */
export function writeAreaInArea(w: Writer, a: Area, out: Area): void {
  if (!areaIncludesArea(out, a)) {
    throw new InvalidWillowValueError("an area is encoded relative to an area including it");
  }
  const subspaceDiffers = !areaSubspacesEqual(a.subspace, out.subspace);
  const start = distance(a.times.start, out.times);
  const end = a.times.end === undefined ? undefined : distance(a.times.end, out.times);
  const startTag = minimalTag(start.diff, 2);
  const endTag = end === undefined ? 0 : minimalTag(end.diff, 2);
  w.byte(
    (subspaceDiffers ? 0x80 : 0) | (end === undefined ? 0x40 : 0) |
      (start.fromStart ? 0x20 : 0) | (end?.fromStart ? 0x10 : 0) |
      placeBits(startTag, 4, 2) | placeBits(endTag, 6, 2),
  );
  if (subspaceDiffers) w.bytes(a.subspace as Uint8Array);
  writeTagged(w, start.diff, startTag, 2);
  if (end !== undefined) writeTagged(w, end.diff, endTag, 2);
  writePathExtendsPath(w, a.path, out.path);
}

/** `EncodeAreaInArea` (canonic: `encode_area_in_area`) relative to `out`. */
export function readAreaInArea(r: Reader, out: Area): Area {
  const header = r.byte();
  const endOpen = (header & 0x40) !== 0;
  const startFromStart = (header & 0x20) !== 0;
  const endFromStart = (header & 0x10) !== 0;
  if (r.canonic && endOpen && (endFromStart || bitsAt(header, 6, 2) !== 0)) {
    throw invalid("encode_area_in_area sets no end bits for an open end");
  }
  let subspace: AreaSubspace = out.subspace;
  if (header & 0x80) {
    subspace = readPublicKey(r);
    if (out.subspace !== "any") {
      throw invalid(
        areaSubspacesEqual(subspace, out.subspace)
          ? STRICTER_THAN_WILLOW_RS.flaggedEqual
          : "subspace outside the outer area",
      );
    }
  }
  const start = readBound(r, bitsAt(header, 4, 2), startFromStart, out.times);
  let end: bigint | undefined;
  if (endOpen) {
    if (endFromStart) throw invalid("an open end is measured from nowhere");
  } else {
    end = readBound(r, bitsAt(header, 6, 2), endFromStart, out.times);
  }
  const times = rangeOf(start, end);
  if (!isRange(times, compareTimes)) throw invalid(STRICTER_THAN_WILLOW_RS.emptyRange);
  if (!rangeIncludesRange(out.times, times, compareTimes)) {
    throw invalid("time range outside the outer area");
  }
  const path = readPathExtendsPath(r, out.path);
  return { subspace, path, times };
}

/**
 * Reads one time bound measured from the outer range's start or end. The spec requires
 * measuring from the start when the outer range is open; a canonic code measures from the nearer
 * bound, and from the end on a tie.
 */
function readBound(r: Reader, tag: number, fromStart: boolean, outer: TimeRange): bigint {
  const diff = readTagged(r, tag, 2, r.canonic);
  let t: bigint;
  if (fromStart) {
    t = outer.start + diff;
  } else {
    if (outer.end === undefined) throw invalid(STRICTER_THAN_WILLOW_RS.openEnd);
    t = outer.end - diff;
  }
  if (t < outer.start || (outer.end !== undefined && t > outer.end) || t > U64_MAX) {
    throw invalid("time bound outside the outer range");
  }
  if (r.canonic && distance(t, outer).fromStart !== fromStart) {
    throw invalid(
      outer.end !== undefined && t - outer.start === outer.end - t
        ? "encode_area_in_area measures a bound halfway from the end"
        : "encode_area_in_area measures a bound from the nearer end",
    );
  }
  return t;
}

/**
 * The absolute area encoding of willow-rs (not part of the spec): a header (0x80: any subspace,
 * 0x40: open time range; willow-rs writes the latter where the vector README says 0x20), the
 * subspace id unless any, `encode_path`, the start as 8 big-endian bytes and the end likewise
 * unless open. Useful for storing areas; the vectors use it for reference values.
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
  const times = rangeOf(start, header & 0x40 ? undefined : r.uintBE(8));
  if (!isRange(times, compareTimes)) throw invalid(STRICTER_THAN_WILLOW_RS.emptyRange);
  return { subspace, path, times };
}
