/**
 * Postcard's unsigned varint for u64 (postcard wire spec "varint(u64)", LEB128): seven bits per
 * byte, least significant group first, high bit set on every byte but the last, at most 10 bytes.
 *
 * Values are `bigint` here because u64 exceeds JavaScript's exact integers; the format module
 * that knows what a value means (a chunk index, a count) converts it.
 *
 * The decoder accepts only the canonical form, so one value has one encoding: no trailing zero
 * groups, no more than 10 bytes, nothing above `u64::MAX`.
 *
 * @module
 */

import { DecodeError } from "./decode_error.ts";

/** `u64::MAX`, which bao-tree writes for "the last chunk". */
export const U64_MAX = (1n << 64n) - 1n;

/** A u64 needs at most ⌈64 / 7⌉ = 10 groups. */
const MAX_VARINT_LEN = 10;

/** The varint bytes of `value` (postcard `varint(u64)`); throws `RangeError` outside u64. */
export function encodeVarint(value: bigint): Uint8Array {
  if (value < 0n || value > U64_MAX) throw new RangeError(`${value} is not a u64`);
  const out: number[] = [];
  let v = value;
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return Uint8Array.from(out);
}

/**
 * Decodes the varint at `offset` (postcard `varint(u64)`); returns the value and the offset just
 * past it. Throws `DecodeError` when the input ends inside it, when it is longer than 10 bytes,
 * ends in a zero group (non-canonical), or exceeds `u64::MAX`.
 */
export function decodeVarint(bytes: Uint8Array, offset: number): { value: bigint; end: number } {
  let value = 0n;
  for (let i = 0; i < MAX_VARINT_LEN; i++) {
    const at = offset + i;
    if (at >= bytes.length) throw new DecodeError("input ends inside a varint", at);
    const b = bytes[at];
    value |= BigInt(b & 0x7f) << BigInt(7 * i);
    if (b & 0x80) continue;
    if (b === 0 && i > 0) throw new DecodeError("non-canonical varint (trailing zero group)", at);
    if (value > U64_MAX) throw new DecodeError("varint exceeds u64::MAX", offset);
    return { value, end: at + 1 };
  }
  throw new DecodeError("varint longer than 10 bytes", offset);
}
