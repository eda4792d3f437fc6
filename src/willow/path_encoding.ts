/**
 * Path encodings (willowprotocol.org `encodings.tsx`, "Path Encoding"): `EncodePath` /
 * `encode_path`, `EncodePathRelativePath` / `path_rel_path` and `EncodePathExtendsPath` /
 * `path_extends_path`.
 *
 * `EncodePath`: one byte holding two 4-bit CompactU64 tags (total length, component count),
 * their follow-on bytes, then every component but the last as a standalone CompactU64 length
 * plus its bytes, and the last component's bytes raw (its length is what the total leaves). The
 * relative forms encode only the difference from a reference path. Canonic codes use minimal tags
 * and, for `path_rel_path`, the longest common prefix.
 *
 * Checks run in the order willow-rs `data-model/src/path/codec.rs` runs them, so a broken input
 * fails with the same kind ("truncated" or "invalid") as it does there.
 *
 * @module
 */

import { Reader, Writer } from "./codec.ts";
import { minimalTag, readC64, readTagged, writeC64, writeTagged } from "./compact_u64.ts";
import { InvalidWillowValueError, WillowDecodeError } from "./errors.ts";
import { MAX_COMPONENT_COUNT, MAX_COMPONENT_LENGTH, MAX_PATH_LENGTH } from "./params.ts";
import {
  commonPrefixCount,
  compareComponents,
  EMPTY_PATH,
  isPrefixOf,
  type Path,
  pathLength,
  pathOf,
} from "./path.ts";

function invalid(message: string): WillowDecodeError {
  return new WillowDecodeError("invalid", message);
}

/** `EncodePath` of the components of `p` from index `from` on, with minimal tags. */
function writeComponentsFrom(w: Writer, p: Path, from: number): void {
  const count = p.length - from;
  let total = 0;
  for (let i = from; i < p.length; i++) total += p[i].length;
  const totalTag = minimalTag(BigInt(total), 4);
  const countTag = minimalTag(BigInt(count), 4);
  w.byte((totalTag << 4) | countTag);
  writeTagged(w, BigInt(total), totalTag, 4);
  writeTagged(w, BigInt(count), countTag, 4);
  for (let i = from; i < p.length; i++) {
    if (i < p.length - 1) writeC64(w, BigInt(p[i].length));
    w.bytes(p[i]);
  }
}

/**
 * Reads an `EncodePath` code of the difference from the first `prefixCount` components of `ref`
 * to the path being decoded, and returns that path.
 */
function readDifference(r: Reader, canonic: boolean, ref: Path, prefixCount: bigint): Path {
  const header = r.byte();
  const suffixTotal = readTagged(r, header >> 4, 4, canonic);
  const suffixCount = readTagged(r, header & 0xf, 4, canonic);
  if (prefixCount > BigInt(ref.length)) {
    throw invalid(`prefix of ${prefixCount} components of a ${ref.length}-component path`);
  }
  const components = ref.slice(0, Number(prefixCount));
  let acc = pathLength(components);
  const total = BigInt(acc) + suffixTotal;
  if (total > MAX_PATH_LENGTH || prefixCount + suffixCount > MAX_COMPONENT_COUNT) {
    throw invalid("path over the length or component limits");
  }
  if (suffixCount === 0n) {
    if (total > BigInt(acc)) throw invalid("a path without components has no bytes");
    return pathOf(components);
  }
  for (let i = 1n; i < suffixCount; i++) {
    const len = readC64(r, canonic);
    if (len > MAX_COMPONENT_LENGTH) throw invalid("component over the length limit");
    acc += Number(len);
    components.push(r.take(Number(len)));
  }
  const last = total - BigInt(acc);
  if (last < 0n) throw invalid("components longer than the path's total length");
  if (last > MAX_COMPONENT_LENGTH) throw invalid("component over the length limit");
  components.push(r.take(Number(last)));
  return pathOf(components);
}

/** `encode_path`. */
export function writePath(w: Writer, p: Path): void {
  writeComponentsFrom(w, p, 0);
}

/** `EncodePath` (canonic: `encode_path`). */
export function readPath(r: Reader): Path {
  return readDifference(r, r.canonic, EMPTY_PATH, 0n);
}

/** `path_rel_path`: the longest common prefix's component count, then the rest of `p`. */
export function writePathRelativePath(w: Writer, p: Path, ref: Path): void {
  const shared = commonPrefixCount(p, ref);
  writeC64(w, BigInt(shared));
  writeComponentsFrom(w, p, shared);
}

/** `EncodePathRelativePath` (canonic: `path_rel_path`, whose prefix must be the longest). */
export function readPathRelativePath(r: Reader, ref: Path): Path {
  const prefixCount = readC64(r, r.canonic);
  const p = readDifference(r, r.canonic, ref, prefixCount);
  const n = Number(prefixCount);
  if (
    r.canonic && n < ref.length && n < p.length && compareComponents(ref[n], p[n]) === 0
  ) {
    throw invalid("path_rel_path must use the longest common prefix");
  }
  return p;
}

/** `path_extends_path`: `p` must extend `prefix`; only the components after it are written. */
export function writePathExtendsPath(w: Writer, p: Path, prefix: Path): void {
  if (!isPrefixOf(prefix, p)) throw new InvalidWillowValueError("path does not extend the prefix");
  writeComponentsFrom(w, p, prefix.length);
}

/**
 * `EncodePathExtendsPath` (canonic: `path_extends_path`). Like willow-rs, the difference is
 * decoded as a path of its own before the combined path is checked against the limits.
 */
export function readPathExtendsPath(r: Reader, prefix: Path): Path {
  const suffix = readPath(r);
  if (
    pathLength(prefix) + pathLength(suffix) > MAX_PATH_LENGTH ||
    prefix.length + suffix.length > MAX_COMPONENT_COUNT
  ) {
    throw invalid("path over the length or component limits");
  }
  return pathOf([...prefix, ...suffix]);
}
