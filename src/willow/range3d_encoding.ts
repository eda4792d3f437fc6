/**
 * 3dRange encodings: `Encode3dRangeRelative3dRange` (willowprotocol.org `encodings.tsx`,
 * "3dRange Encoding"), how range-based set reconciliation names ranges, and the absolute 3dRange
 * encoding willow-rs and the official test vectors use for reference values (willow_test_vectors
 * README, "Custom Encodings"; willow-rs `data-model/src/grouping/range_3d.rs`).
 *
 * The relative encoding is a relation without canonic subset. Its two header bytes say, per
 * bound, whether it equals or is measured from the reference's start or end. Where the spec
 * leaves a choice the writer does what willow-rs does (`relative_encodings/range3d_range3d.rs`),
 * so its output equals the vectors' `reencoded` files: subspace bounds are taken from the
 * reference when equal, path bounds are written relative to the reference bound they share more
 * components with (the start on a tie), time bounds relative to the nearer reference bound (the
 * start on a tie) with the "add" bit set when the bound is at or above it.
 *
 * The spec text writes the range's path end "if the reference's path end is not open"; that can
 * only mean the encoded range's own end (the reference's being open does not make a closed end
 * vanish), which is what willow-rs does too.
 *
 * Where this decoder and willow-rs' (`range3d_range3d.rs`) part ways, neither matters to a
 * willow-rs encoder's output, so the spec text is followed: empty ranges (`end <= start`) are
 * rejected (willow-rs decodes them), and a subspace bound written out although it equals a
 * reference bound is accepted (willow-rs rejects it; the spec allows it).
 *
 * @module
 */

import { bytesEqual } from "../blake3/hash.ts";
import { Reader, Writer } from "./codec.ts";
import { bitsAt, minimalTag, placeBits, readTagged, writeTagged } from "./compact_u64.ts";
import { WillowDecodeError } from "./errors.ts";
import { readPublicKey } from "./id_encoding.ts";
import { U64_MAX } from "./params.ts";
import { commonPrefixCount, type Path } from "./path.ts";
import {
  readPath,
  readPathRelativePath,
  writePath,
  writePathRelativePath,
} from "./path_encoding.ts";
import {
  type Compare,
  comparePaths,
  compareSubspaceIds,
  compareTimes,
  isRange,
  type Range,
  rangeOf,
} from "./range.ts";
import type { Range3d } from "./range3d.ts";

function invalid(message: string): WillowDecodeError {
  return new WillowDecodeError("invalid", message);
}

function same(a: Uint8Array, b: Uint8Array | undefined): boolean {
  return b !== undefined && bytesEqual(a, b);
}

/** Bits for a subspace bound: 01 = reference start, 10 = reference end, 11 = written out. */
function subspaceBits(bound: Uint8Array, ref: Range<Uint8Array>): number {
  if (same(bound, ref.start)) return 0b01;
  if (same(bound, ref.end)) return 0b10;
  return 0b11;
}

/** Whether willow-rs writes a path bound relative to the reference range's start. */
function pathFromStart(p: Path, ref: Range<Path>): boolean {
  return ref.end === undefined || commonPrefixCount(p, ref.start) >= commonPrefixCount(p, ref.end);
}

/** A time bound as [relative to start, add, distance]. */
function timeBound(t: bigint, ref: Range<bigint>): [boolean, boolean, bigint] {
  const toStart = t >= ref.start ? t - ref.start : ref.start - t;
  const toEnd = ref.end === undefined ? U64_MAX : t >= ref.end ? t - ref.end : ref.end - t;
  const fromStart = toStart <= toEnd;
  const base = fromStart ? ref.start : ref.end!;
  return [fromStart, t >= base, fromStart ? toStart : toEnd];
}

/** `Encode3dRangeRelative3dRange`: `v` relative to any 3dRange `ref`. */
export function write3dRangeRelative3dRange(w: Writer, v: Range3d, ref: Range3d): void {
  const ssStart = subspaceBits(v.subspaces.start, ref.subspaces);
  const ssEnd = v.subspaces.end === undefined ? 0 : subspaceBits(v.subspaces.end, ref.subspaces);
  const pathStartFromStart = pathFromStart(v.paths.start, ref.paths);
  const pathEndFromStart = v.paths.end !== undefined && pathFromStart(v.paths.end, ref.paths);
  w.byte(
    placeBits(ssStart, 0, 2) | placeBits(ssEnd, 2, 2) | (pathStartFromStart ? 0x08 : 0) |
      (v.paths.end === undefined ? 0x04 : 0) | (pathEndFromStart ? 0x02 : 0) |
      (v.times.end === undefined ? 0x01 : 0),
  );
  const [startFromStart, startAdd, startDiff] = timeBound(v.times.start, ref.times);
  const startTag = minimalTag(startDiff, 2);
  let second = (startFromStart ? 0x80 : 0) | (startAdd ? 0x40 : 0) | placeBits(startTag, 2, 2);
  let end: [boolean, boolean, bigint] | undefined;
  if (v.times.end !== undefined) {
    end = timeBound(v.times.end, ref.times);
    second |= (end[0] ? 0x08 : 0) | (end[1] ? 0x04 : 0) | placeBits(minimalTag(end[2], 2), 6, 2);
  }
  w.byte(second);
  if (ssStart === 0b11) w.bytes(v.subspaces.start);
  if (ssEnd === 0b11) w.bytes(v.subspaces.end!);
  writePathRelativePath(w, v.paths.start, pathStartFromStart ? ref.paths.start : ref.paths.end!);
  if (v.paths.end !== undefined) {
    writePathRelativePath(w, v.paths.end, pathEndFromStart ? ref.paths.start : ref.paths.end!);
  }
  writeTagged(w, startDiff, startTag, 2);
  if (end !== undefined) writeTagged(w, end[2], minimalTag(end[2], 2), 2);
}

function readSubspaceBound(r: Reader, bits: number, ref: Range<Uint8Array>): Uint8Array {
  if (bits === 0b01) return ref.start;
  if (bits === 0b10) {
    if (ref.end === undefined) throw invalid("subspace bound equal to an open end");
    return ref.end;
  }
  return readPublicKey(r);
}

function readPathBound(r: Reader, fromStart: boolean, ref: Range<Path>): Path {
  if (fromStart) return readPathRelativePath(r, ref.start);
  if (ref.end === undefined) throw invalid("path bound relative to an open end");
  return readPathRelativePath(r, ref.end);
}

function readTimeBound(r: Reader, header: number, offset: number, ref: Range<bigint>): bigint {
  const diff = readTagged(r, bitsAt(header, offset + 2, 2), 2, false);
  const fromStart = bitsAt(header, offset, 1) === 1;
  if (!fromStart && ref.end === undefined) throw invalid("time bound relative to an open end");
  const base = fromStart ? ref.start : ref.end!;
  const t = bitsAt(header, offset + 1, 1) === 1 ? base + diff : base - diff;
  if (t < 0n || t > U64_MAX) throw invalid("time bound outside the u64 range");
  return t;
}

function checked<T>(start: T, end: T | undefined, cmp: Compare<T>): Range<T> {
  const r = rangeOf(start, end);
  if (!isRange(r, cmp)) throw invalid("a closed range must end after it starts");
  return r;
}

/** `Encode3dRangeRelative3dRange` (a relation without canonic subset) relative to `ref`. */
export function read3dRangeRelative3dRange(r: Reader, ref: Range3d): Range3d {
  return r.relation(() => {
    const first = r.byte();
    const second = r.byte();
    const ssStartBits = bitsAt(first, 0, 2);
    if (ssStartBits === 0) throw invalid("no subspace range start");
    const ssStart = readSubspaceBound(r, ssStartBits, ref.subspaces);
    const ssEndBits = bitsAt(first, 2, 2);
    const ssEnd = ssEndBits === 0 ? undefined : readSubspaceBound(r, ssEndBits, ref.subspaces);
    const pathStart = readPathBound(r, (first & 0x08) !== 0, ref.paths);
    const pathEnd = first & 0x04 ? undefined : readPathBound(r, (first & 0x02) !== 0, ref.paths);
    const timeStart = readTimeBound(r, second, 0, ref.times);
    const timeEnd = first & 0x01 ? undefined : readTimeBound(r, second, 4, ref.times);
    return {
      subspaces: checked(ssStart, ssEnd, compareSubspaceIds),
      paths: checked(pathStart, pathEnd, comparePaths),
      times: checked(timeStart, timeEnd, compareTimes),
    };
  });
}

/**
 * The absolute 3dRange encoding of willow-rs (not part of the spec): a header (0x80, 0x40, 0x20:
 * the subspace, path, time range is open), then each range's start and, unless open, end:
 * subspace ids raw, paths with `encode_path`, times as 8 big-endian bytes.
 */
export function write3dRangeAbsolute(w: Writer, v: Range3d): void {
  w.byte(
    (v.subspaces.end === undefined ? 0x80 : 0) | (v.paths.end === undefined ? 0x40 : 0) |
      (v.times.end === undefined ? 0x20 : 0),
  );
  w.bytes(v.subspaces.start);
  if (v.subspaces.end !== undefined) w.bytes(v.subspaces.end);
  writePath(w, v.paths.start);
  if (v.paths.end !== undefined) writePath(w, v.paths.end);
  w.uintBE(v.times.start, 8);
  if (v.times.end !== undefined) w.uintBE(v.times.end, 8);
}

export function read3dRangeAbsolute(r: Reader): Range3d {
  const header = r.byte();
  const ssStart = readPublicKey(r);
  const ssEnd = header & 0x80 ? undefined : readPublicKey(r);
  const pathStart = readPath(r);
  const pathEnd = header & 0x40 ? undefined : readPath(r);
  const timeStart = r.uintBE(8);
  const timeEnd = header & 0x20 ? undefined : r.uintBE(8);
  return {
    subspaces: checked<Uint8Array>(ssStart, ssEnd, compareSubspaceIds),
    paths: checked(pathStart, pathEnd, comparePaths),
    times: checked(timeStart, timeEnd, compareTimes),
  };
}
