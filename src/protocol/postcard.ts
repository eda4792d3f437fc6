/**
 * A cursor over postcard bytes and its writing counterpart (postcard wire spec: varint lengths
 * and integers, fixed arrays raw, `Vec`/`String` as a varint length then the elements).
 *
 * The reader bounds every length by the bytes that remain before allocating anything, so a
 * hostile length prefix costs nothing, and rejects bytes left over at the end.
 *
 * @module
 */

import { concatBytes } from "../bytes.ts";
import { DecodeError } from "./decode_error.ts";
import { decodeVarint, encodeVarint } from "./varint.ts";

const UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const UTF8_ENCODER = new TextEncoder();

export class PostcardReader {
  #offset = 0;

  constructor(readonly bytes: Uint8Array) {}

  /** Reads one value that must span `bytes` exactly: trailing bytes are an error. */
  static decode<T>(bytes: Uint8Array, read: (reader: PostcardReader) => T): T {
    const reader = new PostcardReader(bytes);
    const value = read(reader);
    reader.end();
    return value;
  }

  /** Bytes consumed so far. */
  get offset(): number {
    return this.#offset;
  }

  get remaining(): number {
    return this.bytes.length - this.#offset;
  }

  /** One raw byte (a `u8`, or a postcard enum tag below 128). */
  byte(): number {
    if (this.remaining < 1) throw new DecodeError("input ends early", this.#offset);
    return this.bytes[this.#offset++];
  }

  /** A u64 varint. */
  varint(): bigint {
    const { value, end } = decodeVarint(this.bytes, this.#offset);
    this.#offset = end;
    return value;
  }

  /**
   * A `Vec`/`String` length whose elements take at least `minItemSize` bytes each: a larger count
   * cannot fit in what remains, so it is truncated input, found before any allocation.
   */
  length(minItemSize: number): number {
    const at = this.#offset;
    const n = this.varint();
    if (n * BigInt(minItemSize) > BigInt(this.remaining)) {
      throw new DecodeError(`length ${n} does not fit in the ${this.remaining} bytes left`, at);
    }
    return Number(n);
  }

  /** The next `n` bytes (a view, not a copy). */
  take(n: number): Uint8Array {
    if (this.remaining < n) {
      throw new DecodeError(`input ends early (${n} bytes needed)`, this.#offset);
    }
    const out = this.bytes.subarray(this.#offset, this.#offset + n);
    this.#offset += n;
    return out;
  }

  /** A postcard `String`: a length, then UTF-8 that must be valid. */
  string(): string {
    const n = this.length(1);
    const at = this.#offset;
    try {
      return UTF8.decode(this.take(n));
    } catch {
      throw new DecodeError("string is not valid UTF-8", at);
    }
  }

  /** Throws unless every byte has been consumed. */
  end(): void {
    if (this.remaining > 0) {
      throw new DecodeError(`${this.remaining} unexpected trailing bytes`, this.#offset);
    }
  }
}

export class PostcardWriter {
  readonly #parts: Uint8Array[] = [];
  #length = 0;

  /** The bytes `write` produces. */
  static encode(write: (writer: PostcardWriter) => unknown): Uint8Array {
    const writer = new PostcardWriter();
    write(writer);
    return writer.finish();
  }

  bytes(bytes: Uint8Array): this {
    this.#parts.push(bytes);
    this.#length += bytes.length;
    return this;
  }

  byte(value: number): this {
    return this.bytes(Uint8Array.of(value));
  }

  varint(value: bigint | number): this {
    return this.bytes(encodeVarint(BigInt(value)));
  }

  /** A postcard `String`. */
  string(value: string): this {
    const utf8 = UTF8_ENCODER.encode(value);
    return this.varint(utf8.length).bytes(utf8);
  }

  /** Everything written, in one buffer. */
  finish(): Uint8Array {
    return concatBytes(this.#parts);
  }
}
