/**
 * The byte cursors every Willow encoding reads from and writes to, and the entry points that run
 * a reader over a whole input or over a prefix of it.
 *
 * Willow's encodings are prefix codes (willowprotocol.org `encodings.tsx`, "Encodings, In
 * Detail"): a decoder knows where a code ends without being told, so the same reader serves a
 * value on its own, a value followed by others, and the official test vectors (whose `yay` files
 * may carry bytes past the code).
 *
 * Many encodings are *relations* (a value has several codes) with a *canonic* subset (exactly one
 * code per value, the one encoders produce). A `Reader` is either canonic (accepts only canonic
 * codes where the spec defines them) or not (accepts every code of the relation). Encodings the
 * spec defines no canonic subset for (such as `EncodeEntryRelativeEntry`) accept every code in
 * both modes.
 *
 * @module
 */

import { WillowDecodeError } from "./errors.ts";

/** A cursor over untrusted bytes; every failure is a `WillowDecodeError`. */
export class Reader {
  #pos = 0;
  #canonic: boolean;

  /**
   * `trusted` skips checks that only guard against hostile input and cost real time (whether
   * keys are curve points): for bytes this gateway encoded itself, such as its own store.
   */
  constructor(
    private readonly bytes: Uint8Array,
    canonic: boolean,
    readonly trusted = false,
  ) {
    this.#canonic = canonic;
  }

  /** Whether codes outside an encoding's canonic subset are rejected. */
  get canonic(): boolean {
    return this.#canonic;
  }

  /**
   * Runs `read` accepting every code of the relation: for the sub-encodings of an encoding that
   * has no canonic subset, which the spec refers to as relations ("any code in ...").
   */
  relation<T>(read: () => T): T {
    const saved = this.#canonic;
    this.#canonic = false;
    try {
      return read();
    } finally {
      this.#canonic = saved;
    }
  }

  /** Bytes consumed so far. */
  get position(): number {
    return this.#pos;
  }

  /** Bytes not yet consumed. */
  get remaining(): number {
    return this.bytes.length - this.#pos;
  }

  byte(): number {
    const b = this.peek();
    this.#pos++;
    return b;
  }

  /** The next byte, without consuming it. */
  peek(): number {
    if (this.#pos >= this.bytes.length) throw truncated(1);
    return this.bytes[this.#pos];
  }

  /** The next `n` bytes as a fresh copy, so decoded values never alias the input buffer. */
  take(n: number): Uint8Array {
    if (n > this.remaining) throw truncated(n);
    const out = this.bytes.slice(this.#pos, this.#pos + n);
    this.#pos += n;
    return out;
  }

  /** An unsigned big-endian integer of `width` bytes (0 reads as 0). */
  uintBE(width: number): bigint {
    if (width > this.remaining) throw truncated(width);
    let v = 0n;
    for (let i = 0; i < width; i++) v = (v << 8n) | BigInt(this.bytes[this.#pos + i]);
    this.#pos += width;
    return v;
  }
}

function truncated(wanted: number): WillowDecodeError {
  return new WillowDecodeError("truncated", `input ended while reading ${wanted} more byte(s)`);
}

/** A growable output buffer. */
export class Writer {
  #buf = new Uint8Array(64);
  #len = 0;

  #reserve(n: number): void {
    if (this.#len + n <= this.#buf.length) return;
    const next = new Uint8Array(Math.max(this.#buf.length * 2, this.#len + n));
    next.set(this.#buf.subarray(0, this.#len));
    this.#buf = next;
  }

  byte(b: number): void {
    this.#reserve(1);
    this.#buf[this.#len++] = b;
  }

  bytes(bytes: Uint8Array): void {
    this.#reserve(bytes.length);
    this.#buf.set(bytes, this.#len);
    this.#len += bytes.length;
  }

  /** `value` as an unsigned big-endian integer of `width` bytes; the caller checked it fits. */
  uintBE(value: bigint, width: number): void {
    this.#reserve(width);
    for (let i = width - 1; i >= 0; i--) {
      this.#buf[this.#len + i] = Number(value & 0xffn);
      value >>= 8n;
    }
    this.#len += width;
  }

  /** The bytes written, as a fresh array. */
  finish(): Uint8Array {
    return this.#buf.slice(0, this.#len);
  }
}

/** Reads one value of some encoding from a reader (and, for relative encodings, a reference). */
export type Read<T> = (r: Reader) => T;
/** Writes one value's code. */
export type Write = (w: Writer) => void;

export interface DecodeOptions {
  /** Accept only canonic codes where the spec defines a canonic subset (default true). */
  canonic?: boolean;
  /** The bytes were encoded by this gateway: skip the costly anti-forgery checks (default false). */
  trusted?: boolean;
}

/** Runs `write` and returns the bytes. */
export function encode(write: Write): Uint8Array {
  const w = new Writer();
  write(w);
  return w.finish();
}

/** Decodes one code that must span all of `bytes`; trailing bytes are invalid. */
export function decode<T>(bytes: Uint8Array, read: Read<T>, options: DecodeOptions = {}): T {
  const { value, length } = decodePrefix(bytes, read, options);
  if (length !== bytes.length) {
    throw new WillowDecodeError("invalid", `${bytes.length - length} byte(s) after the code`);
  }
  return value;
}

/** Decodes one code at the start of `bytes` and says how many bytes it spans. */
export function decodePrefix<T>(
  bytes: Uint8Array,
  read: Read<T>,
  options: DecodeOptions = {},
): { value: T; length: number } {
  const r = new Reader(bytes, options.canonic ?? true, options.trusted ?? false);
  const value = read(r);
  return { value, length: r.position };
}
