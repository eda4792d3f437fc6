/**
 * Typed failures of the HTTP representation helpers. They carry no status code: the route layer
 * decides that a bad `?type=` is a client error and a short body is a cut-off response.
 *
 * @module
 */

/** A media type that RFC 9110 §8.3.1 does not allow (or that we refuse to echo into a header). */
export class InvalidMediaTypeError extends Error {
  override name = "InvalidMediaTypeError";
  constructor(readonly input: string, reason: string) {
    super(`"${input.slice(0, 80)}" is not a media type: ${reason}`);
  }
}

/**
 * A body source produced more or fewer bytes than the length already promised in
 * `Content-Length` or `Content-Range`. The response must then be cut short, never padded.
 */
export class BodyLengthError extends Error {
  override name = "BodyLengthError";
  constructor(readonly expected: number, readonly received: number) {
    super(
      received > expected
        ? `body source went past the ${expected} bytes promised (at least ${received})`
        : `body source ended after ${received} of the ${expected} bytes promised`,
    );
  }
}

/** A query parameter the blob routes do not understand (`?format=`, …). */
export class InvalidQueryError extends Error {
  override name = "InvalidQueryError";
  constructor(readonly parameter: string, reason: string) {
    super(`?${parameter}= ${reason}`);
  }
}

/**
 * The request body could not be read to its end: the client went away or cut it off mid-way.
 * Not the gateway's fault, and nobody is left to read the answer; what was read is discarded.
 */
export class RequestBodyError extends Error {
  override name = "RequestBodyError";
}

/** The client sent nothing of its request body for `idleMs` while the gateway waited for it. */
export class RequestBodyStalledError extends Error {
  override name = "RequestBodyStalledError";
  constructor(readonly idleMs: number) {
    super(`the request body stalled: nothing arrived for ${idleMs} ms`);
  }
}
