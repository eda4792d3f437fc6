/**
 * A guard between a byte source and a response whose length is already on the wire.
 *
 * @module
 */

import { BodyLengthError } from "./errors.ts";

/**
 * Passes `chunks` through while checking they add up to exactly `expected` bytes. Once
 * `Content-Length` (or a part's `Content-Range`) is sent, a short source must end the response
 * early, visibly, and a long one must not spill into the next part (RFC 9110 §8.6: a recipient
 * trusts the declared length to frame the message). Throws `BodyLengthError` before yielding a
 * chunk that would overrun, and after the source ends short.
 */
export async function* exactLength(
  chunks: AsyncIterable<Uint8Array>,
  expected: number,
): AsyncGenerator<Uint8Array> {
  let received = 0;
  for await (const chunk of chunks) {
    received += chunk.length;
    if (received > expected) throw new BodyLengthError(expected, received);
    if (chunk.length > 0) yield chunk;
  }
  if (received < expected) throw new BodyLengthError(expected, received);
}
