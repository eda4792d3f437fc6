/**
 * CompactU64: u64 values written as a small tag (2 to 8 bits, usually packed into a header byte)
 * plus 0, 1, 2, 4 or 8 big-endian bytes (willowprotocol.org `encodings.tsx`, "Compact Integer
 * Encodings"). The four greatest tag values of a width announce 1, 2, 4 or 8 following bytes;
 * any smaller tag value is the number itself.
 *
 * The canonic form uses the minimal tag. Whether a decoder insists on it is decided by each
 * encoding (its canonic subset says "using only minimal tags" or it has no canonic subset), so
 * the readers here take that decision as an argument.
 *
 * @module
 */

import { Reader, Writer } from "./codec.ts";
import { WillowDecodeError } from "./errors.ts";
import { U64_MAX } from "./params.ts";

/** Bits allotted to a tag. */
export type TagWidth = 2 | 3 | 4 | 5 | 6 | 7 | 8;

/** Bytes that follow each of the four greatest tags, from 2^w − 4 up to 2^w − 1. */
const FOLLOW = [1, 2, 4, 8] as const;

/** Bytes that follow `tag` (0 when the tag is the value itself). */
export function followLength(tag: number, width: TagWidth): number {
  const first = (1 << width) - 4;
  return tag < first ? 0 : FOLLOW[tag - first];
}

/**
 * The minimal tag for `n` ("c64_minimal"): the numerically least valid tag, which is also the
 * one with the shortest corresponding encoding.
 */
export function minimalTag(n: bigint, width: TagWidth): number {
  const top = (1 << width) - 1;
  if (n <= BigInt(top - 4)) return Number(n);
  if (n < 0x100n) return top - 3;
  if (n < 0x1_0000n) return top - 2;
  if (n < 0x1_0000_0000n) return top - 1;
  return top;
}

/** The `width`-bit field starting `offset` bits from the most significant bit of `header`. */
export function bitsAt(header: number, offset: number, width: number): number {
  return (header >> (8 - offset - width)) & ((1 << width) - 1);
}

/** `value` placed as a `width`-bit field `offset` bits from the most significant bit. */
export function placeBits(value: number, offset: number, width: number): number {
  return value << (8 - offset - width);
}

/** Writes the corresponding compact U64 encoding of `n` for `tag` (nothing for inline tags). */
export function writeTagged(w: Writer, n: bigint, tag: number, width: TagWidth): void {
  const len = followLength(tag, width);
  if (len > 0) w.uintBE(n, len);
}

/**
 * Reads the value a tag announces. With `canonic`, a tag that is not minimal for the value is
 * invalid.
 */
export function readTagged(r: Reader, tag: number, width: TagWidth, canonic: boolean): bigint {
  const len = followLength(tag, width);
  const n = len === 0 ? BigInt(tag) : r.uintBE(len);
  if (canonic && minimalTag(n, width) !== tag) {
    throw new WillowDecodeError("invalid", `compact u64 ${n} does not use its minimal tag`);
  }
  return n;
}

/** A standalone CompactU64 ("C64Standalone"): an 8-bit tag byte, then its bytes. */
export function writeC64(w: Writer, n: bigint): void {
  if (n < 0n || n > U64_MAX) throw new RangeError(`${n} is not a u64`);
  const tag = minimalTag(n, 8);
  w.byte(tag);
  writeTagged(w, n, tag, 8);
}

export function readC64(r: Reader, canonic: boolean): bigint {
  return readTagged(r, r.byte(), 8, canonic);
}
