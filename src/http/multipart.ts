/**
 * `multipart/byteranges` bodies for 206 responses to multi-range requests (RFC 9110 §14.6,
 * §15.3.7.2; framing from RFC 2046 §5.1.1).
 *
 * The whole framing is laid out before any data is read, so the route knows the exact
 * `Content-Length` up front and a client (or a cache) can tell a complete response from one
 * that was cut short. The data then streams part by part; nothing is buffered beyond one chunk
 * of the source.
 *
 * @module
 */

import { toHex } from "../blake3/hash.ts";
import { exactLength } from "./exact_length.ts";
import { type ByteRange, contentRange, rangeLength, type SatisfiableRanges } from "./range.ts";

/** One part: the delimiter and headers that precede the bytes of `range`. */
export interface BytesPart {
  readonly range: ByteRange;
  readonly head: Uint8Array;
}

/** The framing of a `multipart/byteranges` body, computed before any byte is produced. */
export interface ByterangesLayout {
  readonly boundary: string;
  /** The response's `Content-Type` value. */
  readonly contentType: string;
  /** The exact body length, for `Content-Length`. */
  readonly contentLength: number;
  readonly parts: readonly BytesPart[];
  /** The close delimiter. */
  readonly tail: Uint8Array;
}

/** Random bytes in a boundary: 192 bits, so no content can contain it except by chance. */
const BOUNDARY_BYTES = 24;

/**
 * A fresh boundary: 48 lowercase hex characters, within RFC 2046 §5.1.1 `bchars` and its
 * 70-character limit, needing no quotes in the `boundary` parameter. The blob bytes are
 * untrusted and a client splits the body on the boundary, so it is drawn from the
 * cryptographic generator per response: content cannot be crafted to contain it.
 */
export function randomBoundary(): string {
  return toHex(crypto.getRandomValues(new Uint8Array(BOUNDARY_BYTES)));
}

const encoder = new TextEncoder();

/**
 * Lays out the body for `ranges` of a `size`-byte representation whose own type is
 * `partType` (a value already validated by `content_type.ts`: it is written into each part's
 * headers). RFC 2046 §5.1.1 puts the CRLF before each boundary inside the delimiter, so the
 * first part opens with `--boundary` and every later one with `CRLF--boundary`; the body ends
 * with the close delimiter and a CRLF, as common servers send it.
 */
export function layoutByteranges(
  ranges: SatisfiableRanges,
  partType: string,
  size: number,
): ByterangesLayout {
  const boundary = randomBoundary();
  const parts = ranges.map((range, i): BytesPart => ({
    range,
    head: encoder.encode(
      `${i === 0 ? "" : "\r\n"}--${boundary}\r\n` +
        `Content-Type: ${partType}\r\n` +
        `Content-Range: ${contentRange(range, size)}\r\n\r\n`,
    ),
  }));
  const tail = encoder.encode(`\r\n--${boundary}--\r\n`);
  const contentLength = parts.reduce(
    (sum, part) => sum + part.head.length + rangeLength(part.range),
    tail.length,
  );
  return {
    boundary,
    contentType: `multipart/byteranges; boundary=${boundary}`,
    contentLength,
    parts,
    tail,
  };
}

/**
 * The body described by `layout`, reading each part's bytes from `read(range)` as they are
 * needed. A source that yields more or fewer bytes than its range errors the stream with
 * `BodyLengthError`, and any error of a source errors it too: the response is cut short, never
 * padded. Cancelling the stream returns the current source's iterator.
 */
export function byterangesBody(
  layout: ByterangesLayout,
  read: (range: ByteRange) => AsyncIterable<Uint8Array>,
): ReadableStream<Uint8Array> {
  async function* body(): AsyncGenerator<Uint8Array> {
    for (const part of layout.parts) {
      yield part.head;
      yield* exactLength(read(part.range), rangeLength(part.range));
    }
    yield layout.tail;
  }
  return ReadableStream.from(body());
}
