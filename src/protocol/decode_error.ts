/**
 * The one error a decoder of untrusted wire bytes throws (postcard requests, range specs,
 * varints): a peer can send anything, and callers need a single type to map to "malformed".
 *
 * @module
 */

/** Bytes that are not a valid (canonical, complete, bounded) encoding. */
export class DecodeError extends Error {
  override name = "DecodeError";
  constructor(
    message: string,
    /** Offset in the input where decoding failed. */
    readonly offset: number,
  ) {
    super(`${message} (at byte ${offset})`);
  }
}
