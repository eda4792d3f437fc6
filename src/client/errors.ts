/**
 * Typed failures of the verifying client. The split is what a caller acts on: a gateway that
 * answered with an error status, one that could not be reached, one whose bytes do not prove
 * what they claim (a lying or broken gateway: retrying elsewhere may help, retrying here will
 * not), a response that ended early (a cut connection: retrying may help), and mistakes in the
 * request itself. None carries an HTTP status of its own making: `GatewayError.status` is the
 * one the gateway sent.
 *
 * @module
 */

import { BaoError, HashMismatchError, TruncatedError } from "../bao/errors.ts";

/** Base class of everything the client throws on purpose. */
export class ClientError extends Error {
  override name = "ClientError";
}

/** The gateway answered with an error status; `error` and `detail` are from its JSON body. */
export class GatewayError extends ClientError {
  override name = "GatewayError";
  constructor(
    readonly status: number,
    readonly error: string,
    readonly detail: string,
  ) {
    super(`gateway answered ${status}${error ? ` ${error}` : ""}${detail ? `: ${detail}` : ""}`);
  }
}

/** 404: the gateway does not have the blob and no peer of it does. */
export class NotFoundError extends GatewayError {
  override name = "NotFoundError";
}

/** The request never got an answer (DNS, refused connection, TLS, CORS in a browser). */
export class GatewayUnreachableError extends ClientError {
  override name = "GatewayUnreachableError";
  constructor(readonly url: string, cause: unknown) {
    super(`cannot reach ${url}: ${cause instanceof Error ? cause.message : String(cause)}`, {
      cause,
    });
  }
}

/** The response ended (cleanly or by a cut connection) before everything it owed arrived. */
export class TruncatedResponseError extends ClientError {
  override name = "TruncatedResponseError";
}

/** Bytes from the gateway do not prove what they claim. Nothing unproven was handed out. */
export class VerificationError extends ClientError {
  override name = "VerificationError";
}

/** A hash pair or data does not hash to what the tree above it says. */
export class CorruptDataError extends VerificationError {
  override name = "CorruptDataError";
}

/** The gateway claims a size other than the one the last chunk proved. */
export class SizeMismatchError extends VerificationError {
  override name = "SizeMismatchError";
  constructor(readonly claimed: number | bigint, readonly proven: number, where: string) {
    super(`${where} claims ${claimed} bytes; the last chunk proves ${proven}`);
  }
}

/** A response that breaks the shape the request implies (extra bytes, wrong extent). */
export class MalformedResponseError extends VerificationError {
  override name = "MalformedResponseError";
}

/** A byte range the caller asked for that is not a range (negative, empty, not an integer). */
export class InvalidRangeError extends ClientError {
  override name = "InvalidRangeError";
}

/** The range starts at or past the end of the blob, whose size is proven. */
export class RangeNotSatisfiableError extends ClientError {
  override name = "RangeNotSatisfiableError";
  constructor(readonly start: number, readonly size: number) {
    super(`the range starts at byte ${start}; the blob has ${size} bytes`);
  }
}

/** The hash names a blob that verifies, but it is not a hash seq with a collection meta blob. */
export class NotACollectionError extends ClientError {
  override name = "NotACollectionError";
}

/** The collection has no entry by that name. */
export class EntryNotFoundError extends ClientError {
  override name = "EntryNotFoundError";
  constructor(readonly entry: string) {
    super(`the collection has no entry named ${JSON.stringify(entry)}`);
  }
}

/** The client's error for a failure of the Bao library; anything else passes unchanged. */
export function fromBaoError(e: unknown): unknown {
  if (e instanceof HashMismatchError) return new CorruptDataError(e.message, { cause: e });
  if (e instanceof TruncatedError) return new TruncatedResponseError(e.message, { cause: e });
  if (e instanceof BaoError) return new VerificationError(e.message, { cause: e });
  return e;
}
