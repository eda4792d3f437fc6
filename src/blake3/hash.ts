/**
 * The `Hash` type: a 32-byte BLAKE3 output that the type system tells apart from other bytes, and
 * its text forms (iroh-blobs `Hash`: 64 lowercase hex characters; 52-character RFC 4648 base32
 * without padding, any case, also accepted).
 *
 * @module
 */

import { OUT_LEN } from "./constants.ts";

declare const hashBrand: unique symbol;
/** A BLAKE3 hash. Only `asHash`, `parseHash` and the hashing functions produce one. */
export type Hash = Uint8Array & { readonly [hashBrand]: true };

/** A string that does not name a hash. */
export class InvalidHashError extends Error {
  override name = "InvalidHashError";
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));
const BASE32 = "abcdefghijklmnopqrstuvwxyz234567";

/** Brands 32 bytes as a hash; throws `InvalidHashError` for any other length. */
export function asHash(bytes: Uint8Array): Hash {
  if (bytes.length !== OUT_LEN) {
    throw new InvalidHashError(`a hash is ${OUT_LEN} bytes, got ${bytes.length}`);
  }
  return bytes as Hash;
}

/** Lowercase hex of any bytes (the canonical text form of a hash). */
export function toHex(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += HEX[bytes[i]];
  return s;
}

/** Bytes from an even-length hex string; `undefined` when it is not hex. */
export function fromHex(hex: string): Uint8Array | undefined {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) return undefined;
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Lowercase RFC 4648 base32 without padding. */
export function toBase32(bytes: Uint8Array): string {
  let s = "";
  let acc = 0;
  let bits = 0;
  for (const b of bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      s += BASE32[(acc >>> bits) & 31];
    }
    acc &= (1 << bits) - 1;
  }
  if (bits > 0) s += BASE32[(acc << (5 - bits)) & 31];
  return s;
}

function fromBase32(text: string): Uint8Array | undefined {
  const out = new Uint8Array(Math.floor((text.length * 5) / 8));
  let acc = 0;
  let bits = 0;
  let n = 0;
  for (const ch of text) {
    const v = BASE32.indexOf(ch);
    if (v < 0) return undefined;
    acc = (acc << 5) | v;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out[n++] = (acc >>> bits) & 0xff;
    }
    acc &= (1 << bits) - 1;
  }
  // Non-canonical trailing bits would let two strings name one hash.
  return acc === 0 ? out : undefined;
}

/**
 * Parses a hash from 64 lowercase hex characters or 52 lowercase base32 characters (GATEWAY.md:
 * "Any other string is 400"; one spelling per hash keeps one URL, one cache entry per blob);
 * throws `InvalidHashError` with the reason otherwise.
 */
export function parseHash(text: string): Hash {
  if (text.length !== 64 && text.length !== 52) {
    throw new InvalidHashError(
      `a hash is 64 hex or 52 base32 characters, got ${text.length} characters`,
    );
  }
  if (text !== text.toLowerCase()) throw new InvalidHashError("a hash is written in lowercase");
  const bytes = text.length === 64 ? fromHex(text) : fromBase32(text);
  if (bytes !== undefined) return bytes as Hash;
  throw new InvalidHashError(
    text.length === 64
      ? "a hash of 64 characters has only hex digits"
      : /^[a-z2-7]*$/.test(text)
      ? "the last base32 character has bits set beyond the hash (not its canonical form)"
      : "a hash of 52 characters has only base32 characters (a-z, 2-7)",
  );
}

/** A hash typed or pasted by a person (the CLI's arguments): either case is meant alike. */
export function parseTypedHash(text: string): Hash {
  return parseHash(text.toLowerCase());
}

/** Constant-length byte equality (hashes, CVs). */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}
