/**
 * Typed failures of Bao verification. Each says where it happened, so a caller can tell a lying
 * peer (bytes it was sent) from corrupted storage (bytes it read) and report the first bad byte.
 *
 * @module
 */

/** Base class: the bytes do not prove what they claim. */
export class BaoError extends Error {
  override name = "BaoError";
}

/** A pair or a leaf does not hash to what its parent (or the root hash) says. */
export class HashMismatchError extends BaoError {
  override name = "HashMismatchError";
  constructor(
    /** "parent" for a 64-byte pair, "leaf" for chunk data. */
    readonly item: "parent" | "leaf",
    /** First chunk of the node or leaf. */
    readonly chunk: number,
    /** Offset in the encoded stream where the bad item starts, when verifying a stream. */
    readonly encodedOffset?: number,
  ) {
    super(
      `${item === "parent" ? "hash pair" : "data"} at chunk ${chunk}` +
        (encodedOffset === undefined ? "" : ` (encoded byte ${encodedOffset})`) +
        " does not match the tree",
    );
  }
}

/** The stream ended before every item of the encoding arrived. */
export class TruncatedError extends BaoError {
  override name = "TruncatedError";
  constructor(readonly received: number, readonly expectedAtLeast: number) {
    super(`encoding ends after ${received} bytes; at least ${expectedAtLeast} were expected`);
  }
}

/** The size header claims a blob larger than this implementation can address (2^53 bytes). */
export class UnsupportedSizeError extends BaoError {
  override name = "UnsupportedSizeError";
  constructor(readonly claimed: bigint) {
    super(`size header claims ${claimed} bytes, more than 2^53 - 1`);
  }
}
