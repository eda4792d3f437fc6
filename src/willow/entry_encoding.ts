/**
 * Entry encodings (willowprotocol.org `encodings.tsx`, "Entry Encoding"): `EncodeEntry` /
 * `encode_entry` (the bytes a write signature covers), `EncodeEntryRelativeEntry` and
 * `EncodeEntryInNamespace3dRange`.
 *
 * The two relative relations have no canonic subset. Their header bits are "1 iff" statements,
 * so a code whose bit claims a difference that is not there (an encoded namespace equal to the
 * reference's, a "later" timestamp at distance zero) is no code at all and is rejected, although
 * willow-rs (`data-model/src/relative_encodings/entry_entry.rs`) decodes it: its encoder never
 * writes such codes and the official vectors do not need them. Writers pick, where the spec
 * leaves a choice, what willow-rs picks (`data-model/src/relative_encodings`): the timestamp
 * relative to the nearer range bound (the start on a tie) and the path relative to the range
 * bound it shares more components with (the start on a tie).
 *
 * One deviation from the spec, following willow-rs (`relative_encodings/entry_range3d.rs`), as
 * for areas (`area_encoding.ts`): in `EncodeEntryInNamespace3dRange` an open time range ends at
 * 2^64 − 1 for the purpose of measuring the timestamp, so a timestamp nearer to 2^64 − 1 than to
 * the start is written as a distance from that end. The spec measures from the end only when it
 * is closed; willow-rs encoders write such codes, so we read (and write) them.
 *
 * @module
 */

import { Reader, Writer } from "./codec.ts";
import {
  bitsAt,
  minimalTag,
  placeBits,
  readC64,
  readTagged,
  writeC64,
  writeTagged,
} from "./compact_u64.ts";
import { type Entry, makeEntry } from "./entry.ts";
import { InvalidWillowValueError, WillowDecodeError } from "./errors.ts";
import { readDigest, readPublicKey } from "./id_encoding.ts";
import type { NamespaceId, SubspaceId } from "./keys.ts";
import { U64_MAX } from "./params.ts";
import { commonPrefixCount, type Path } from "./path.ts";
import {
  readPath,
  readPathRelativePath,
  writePath,
  writePathRelativePath,
} from "./path_encoding.ts";
import { compareFixedBytes, comparePaths, compareTimes, rangeIncludes } from "./range.ts";
import { bytesEqual } from "../blake3/hash.ts";
import { type Range3d, range3dIncludesEntry } from "./range3d.ts";

function invalid(message: string): WillowDecodeError {
  return new WillowDecodeError("invalid", message);
}

function checkU64(t: bigint): void {
  if (t < 0n || t > U64_MAX) throw invalid("timestamp outside the u64 range");
}

/** `encode_entry`. */
export function writeEntry(w: Writer, e: Entry): void {
  w.bytes(e.namespaceId);
  w.bytes(e.subspaceId);
  writePath(w, e.path);
  writeC64(w, e.timestamp);
  writeC64(w, e.payloadLength);
  w.bytes(e.payloadDigest);
}

/** `EncodeEntry` (canonic: `encode_entry`). */
export function readEntry(r: Reader): Entry {
  const namespaceId = readPublicKey(r);
  const subspaceId = readPublicKey(r);
  const path = readPath(r);
  const timestamp = readC64(r, r.canonic);
  const payloadLength = readC64(r, r.canonic);
  const payloadDigest = readDigest(r);
  return makeEntry({ namespaceId, subspaceId, path, timestamp, payloadLength, payloadDigest });
}

/** Writes the two tags and their values that end both relative entry headers. */
function tagsByte(timeDiff: bigint, payloadLength: bigint): number {
  return placeBits(minimalTag(timeDiff, 2), 3, 2) | placeBits(minimalTag(payloadLength, 3), 5, 3);
}

function writeTimeAndLength(w: Writer, timeDiff: bigint, payloadLength: bigint): void {
  writeTagged(w, timeDiff, minimalTag(timeDiff, 2), 2);
  writeTagged(w, payloadLength, minimalTag(payloadLength, 3), 3);
}

function readTimeAndLength(r: Reader, header: number): [bigint, bigint] {
  const timeDiff = readTagged(r, bitsAt(header, 3, 2), 2, false);
  const payloadLength = readTagged(r, bitsAt(header, 5, 3), 3, false);
  return [timeDiff, payloadLength];
}

/** `EncodeEntryRelativeEntry`: `e` relative to any entry `ref`. */
export function writeEntryRelativeEntry(w: Writer, e: Entry, ref: Entry): void {
  const nsDiffers = !bytesEqual(e.namespaceId, ref.namespaceId);
  const ssDiffers = !bytesEqual(e.subspaceId, ref.subspaceId);
  const later = e.timestamp > ref.timestamp;
  const timeDiff = later ? e.timestamp - ref.timestamp : ref.timestamp - e.timestamp;
  w.byte(
    (nsDiffers ? 0x80 : 0) | (ssDiffers ? 0x40 : 0) | (later ? 0x20 : 0) |
      tagsByte(timeDiff, e.payloadLength),
  );
  if (nsDiffers) w.bytes(e.namespaceId);
  if (ssDiffers) w.bytes(e.subspaceId);
  writeTimeAndLength(w, timeDiff, e.payloadLength);
  writePathRelativePath(w, e.path, ref.path);
  w.bytes(e.payloadDigest);
}

/** `EncodeEntryRelativeEntry` (a relation without canonic subset). */
export function readEntryRelativeEntry(r: Reader, ref: Entry): Entry {
  return r.relation(() => {
    const header = r.byte();
    const namespaceId = header & 0x80 ? readPublicKey(r) : ref.namespaceId;
    const subspaceId = header & 0x40 ? readPublicKey(r) : ref.subspaceId;
    if (
      (header & 0x80 && bytesEqual(namespaceId, ref.namespaceId)) ||
      (header & 0x40 && bytesEqual(subspaceId, ref.subspaceId))
    ) {
      throw invalid("a value flagged as differing from the reference equals it");
    }
    const [timeDiff, payloadLength] = readTimeAndLength(r, header);
    let timestamp: bigint;
    if (header & 0x20) {
      if (timeDiff === 0n) throw invalid("a timestamp flagged as later is equal");
      timestamp = ref.timestamp + timeDiff;
    } else {
      timestamp = ref.timestamp - timeDiff;
    }
    checkU64(timestamp);
    const path = readPathRelativePath(r, ref.path);
    const payloadDigest = readDigest(r);
    return makeEntry({ namespaceId, subspaceId, path, timestamp, payloadLength, payloadDigest });
  });
}

/** willow-rs' choice of reference for a path inside a closed path range. */
function pathRelativeToStart(p: Path, start: Path, end: Path | undefined): boolean {
  return end === undefined || commonPrefixCount(p, start) >= commonPrefixCount(p, end);
}

/**
 * `EncodeEntryInNamespace3dRange`: `e` relative to a 3dRange that includes it and to its
 * namespace, which is not written.
 */
export function writeEntryInNamespace3dRange(
  w: Writer,
  e: Entry,
  namespace: NamespaceId,
  out: Range3d,
): void {
  if (!bytesEqual(e.namespaceId, namespace) || !range3dIncludesEntry(out, e)) {
    throw new InvalidWillowValueError("entry is not in the namespace and 3dRange it is encoded in");
  }
  const fromStart = e.timestamp - out.times.start;
  const fromEnd = (out.times.end ?? U64_MAX) - e.timestamp;
  const timeRelStart = fromStart <= fromEnd;
  const timeDiff = timeRelStart ? fromStart : fromEnd;
  const ssDiffers = !bytesEqual(e.subspaceId, out.subspaces.start);
  const pathRelStart = pathRelativeToStart(e.path, out.paths.start, out.paths.end);
  w.byte(
    (ssDiffers ? 0x80 : 0) | (pathRelStart ? 0x40 : 0) | (timeRelStart ? 0x20 : 0) |
      tagsByte(timeDiff, e.payloadLength),
  );
  if (ssDiffers) w.bytes(e.subspaceId);
  writePathRelativePath(w, e.path, pathRelStart ? out.paths.start : out.paths.end!);
  writeTimeAndLength(w, timeDiff, e.payloadLength);
  w.bytes(e.payloadDigest);
}

/** `EncodeEntryInNamespace3dRange` (a relation without canonic subset). */
export function readEntryInNamespace3dRange(
  r: Reader,
  namespace: NamespaceId,
  out: Range3d,
): Entry {
  return r.relation(() => {
    const header = r.byte();
    let subspaceId: SubspaceId;
    if (header & 0x80) {
      subspaceId = readPublicKey(r);
      if (bytesEqual(subspaceId, out.subspaces.start)) {
        throw invalid("subspace flagged as different from the range start but equal");
      }
    } else {
      // The reference is the receiver's own value; a start that is no point yields an entry no
      // signature can authorise, as in willow-rs, where the start is typed as a subspace id.
      subspaceId = out.subspaces.start as SubspaceId;
    }
    if (!rangeIncludes(out.subspaces, subspaceId, compareFixedBytes)) {
      throw invalid("subspace outside the range");
    }
    let path: Path;
    if (header & 0x40) path = readPathRelativePath(r, out.paths.start);
    else if (out.paths.end !== undefined) path = readPathRelativePath(r, out.paths.end);
    else throw invalid("path relative to the end of an open path range");
    if (!rangeIncludes(out.paths, path, comparePaths)) throw invalid("path outside the range");
    const [timeDiff, payloadLength] = readTimeAndLength(r, header);
    const timestamp = header & 0x20
      ? out.times.start + timeDiff
      : (out.times.end ?? U64_MAX) - timeDiff;
    checkU64(timestamp);
    const payloadDigest = readDigest(r);
    if (!rangeIncludes(out.times, timestamp, compareTimes)) {
      throw invalid("timestamp outside the range");
    }
    return makeEntry({
      namespaceId: namespace,
      subspaceId,
      path,
      timestamp,
      payloadLength,
      payloadDigest,
    });
  });
}
