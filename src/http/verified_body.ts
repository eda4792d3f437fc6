/**
 * Response bodies made of verified pieces, in one stream stage: small pieces gathered into
 * larger writes, the promised length enforced, and the first piece read before the response is
 * returned, so that storage failing verification at the very start becomes an error status
 * rather than a cut stream.
 *
 * One stage instead of a chain of generators matters here: a 1 GiB download is 65,536 chunk
 * groups, and every layer of per-piece async machinery costs main-thread time that the hashing
 * needs.
 *
 * @module
 */

import { BaoError } from "../bao/errors.ts";
import { BodyLengthError } from "./errors.ts";

/**
 * Pieces smaller than this are gathered to it: fewer, larger writes for the HTTP stack. A
 * storage page (64 KiB) already is one, and passes through without a copy.
 */
export const BODY_PIECE = 64 * 1024;

export interface VerifiedBodyOptions {
  /** The exact body length already promised (Content-Length); enforced when given. */
  length?: number;
  /** Told when verification fails after the response has started (the stream is then cut). */
  onCorruption?: (error: BaoError) => void;
}

/**
 * A body stream over `pieces` that has already produced its first output chunk: a failure to
 * read or verify the start is thrown here, before any status line is sent. Later failures error
 * the stream, which cuts the connection; a length mismatch does too (`BodyLengthError`).
 */
export async function verifiedBody(
  pieces: AsyncIterable<Uint8Array>,
  options: VerifiedBodyOptions = {},
): Promise<ReadableStream<Uint8Array>> {
  const it = pieces[Symbol.asyncIterator]();
  /** Bytes taken from the source so far. */
  let taken = 0;
  /** The part of a piece that did not fit in the previous chunk. */
  let carry: Uint8Array | undefined;

  const nextPiece = async (): Promise<Uint8Array | undefined> => {
    if (carry !== undefined) {
      const piece = carry;
      carry = undefined;
      return piece;
    }
    const r = await it.next();
    if (r.done) {
      if (options.length !== undefined && taken !== options.length) {
        throw new BodyLengthError(options.length, taken);
      }
      return undefined;
    }
    taken += r.value.length;
    if (options.length !== undefined && taken > options.length) {
      throw new BodyLengthError(options.length, taken);
    }
    return r.value;
  };

  /** The next chunk to send, or `undefined` at the end. */
  const nextChunk = async (): Promise<Uint8Array | undefined> => {
    let buf: Uint8Array | undefined;
    let fill = 0;
    while (fill < BODY_PIECE) {
      const piece = await nextPiece();
      if (piece === undefined) break;
      if (fill === 0 && piece.length >= BODY_PIECE) return piece;
      buf ??= new Uint8Array(BODY_PIECE);
      const n = Math.min(piece.length, BODY_PIECE - fill);
      buf.set(piece.subarray(0, n), fill);
      fill += n;
      if (n < piece.length) carry = piece.subarray(n);
    }
    return fill > 0 ? buf!.subarray(0, fill) : undefined;
  };

  let primed = await nextChunk();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const chunk = primed ?? await nextChunk();
        primed = undefined;
        if (chunk === undefined) controller.close();
        else controller.enqueue(chunk);
      } catch (e) {
        if (e instanceof BaoError) options.onCorruption?.(e);
        throw e;
      }
    },
    async cancel() {
      // A client that goes away ends the source's reads too.
      await it.return?.();
    },
  }, { highWaterMark: 4 });
}
