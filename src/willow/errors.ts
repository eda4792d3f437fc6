/**
 * Typed failures of the Willow library. Decoders of untrusted bytes throw only
 * `WillowDecodeError`; building or encoding a value that Willow does not allow (a path over the
 * limits, an area encoded relative to an area that does not include it) throws
 * `InvalidWillowValueError`, which is a bug in the caller rather than a hostile peer.
 *
 * @module
 */

/**
 * Bytes that are not a code of the expected encoding. `kind` separates input that ended early
 * ("truncated": more bytes may still make it valid) from input that can never be valid
 * ("invalid"), the same split as willow-rs `UnexpectedEndOfInput` / `Blame::TheirFault`.
 */
export class WillowDecodeError extends Error {
  override name = "WillowDecodeError";
  constructor(readonly kind: "truncated" | "invalid", message: string) {
    super(message);
  }
}

/** A value that the Willow data model or Meadowcap does not allow here. */
export class InvalidWillowValueError extends Error {
  override name = "InvalidWillowValueError";
}
