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

/**
 * Messages of the decode failures where the spec and willow-rs part ways: rules of the spec text
 * that willow-rs (which generated the official test vectors) does not enforce. They are named so
 * that tests can tell these rejections apart from others.
 *
 * - `openEnd`: a time bound measured from the end of an open range. The spec forbids it
 *   (`EncodeAreaInArea`: "start_from_start must be true"); willow-rs reads the open end as 2^64 − 1.
 * - `emptyRange`: a closed range whose end is not after its start, which the spec does not call a
 *   range; willow-rs decodes it.
 * - `flaggedEqual`: a header bit defined as "1 iff the value differs from the reference" set for
 *   an equal value; willow-rs decodes it.
 */
export const STRICTER_THAN_WILLOW_RS = {
  openEnd: "a time bound is measured from an open end",
  emptyRange: "a closed range must end after it starts",
  flaggedEqual: "a value flagged as differing from the reference equals it",
} as const;
