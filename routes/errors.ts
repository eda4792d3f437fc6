/**
 * The one place where errors become HTTP statuses, so every route answers bad input the same
 * way: a JSON body `{"error", "detail"}` with the status of GATEWAY.md's contract.
 */
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { InvalidHashError } from "../src/blake3/hash.ts";
import { BaoError } from "../src/bao/errors.ts";
import { InvalidRangesError } from "../src/ranges/chunk_ranges.ts";
import {
  BlobContentionError,
  BlobNotFoundError,
  UploadReclaimedError,
  UploadTooLargeError,
} from "../src/store/errors.ts";
import {
  InvalidMediaTypeError,
  InvalidQueryError,
  RequestBodyError,
  RequestBodyStalledError,
} from "../src/http/errors.ts";
import type { Metrics } from "../src/metrics.ts";
import { InvalidWillowValueError, WillowDecodeError } from "../src/willow/errors.ts";
import {
  NoCapabilityError,
  NoLaterTimestampError,
  NotAuthorisedError,
  PayloadMismatchError,
  SecretsUnavailableError,
  StoreContentionError,
  UnknownNamespaceError,
  UnstorablePathError,
} from "../src/willow/store/errors.ts";
import {
  NotCachedError,
  NotOnPeersError,
  PeersFailedError,
  PeerTimeoutError,
} from "../src/peers/errors.ts";
import { ArchiveError } from "../src/collection/archive_entry.ts";
import { InvalidCollectionError } from "../src/collection/collection.ts";
import { InvalidHashSeqError } from "../src/collection/hash_seq.ts";
import {
  NamesTooLargeError,
  TooManyFilesError,
  UnsupportedArchiveTypeError,
} from "../src/collection/import.ts";
import { CollectionTooLargeError } from "../src/collection/stored.ts";
import { DecodeError } from "../src/protocol/decode_error.ts";
import { RequestTooLargeError, UnsupportedRequestError } from "../src/protocol/request.ts";
import {
  BlobIncompleteError,
  BlobNotFoundError as ProvideNotFoundError,
  BlobUnavailableError,
} from "../src/protocol/response_writer.ts";

/** An error raised at the route edge with its status and headers already decided. */
export class HttpError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly error: string,
    readonly detail: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(`${error}: ${detail}`);
  }
}

/** Maps any error to its status and JSON body; library errors by their type. */
export function classify(e: unknown): HttpError {
  if (e instanceof HttpError) return e;
  if (e instanceof InvalidHashError) return new HttpError(400, "invalid hash", e.message);
  if (e instanceof InvalidRangesError) return new HttpError(400, "invalid ranges", e.message);
  if (e instanceof InvalidMediaTypeError) return new HttpError(400, "invalid type", e.message);
  if (e instanceof InvalidQueryError) return new HttpError(400, "invalid parameter", e.message);
  if (e instanceof UploadTooLargeError) return new HttpError(413, "payload too large", e.message);
  if (e instanceof UploadReclaimedError) return new HttpError(408, "upload timed out", e.message);
  // The client that cut its own request off will not read this; it is not logged as a fault.
  if (e instanceof RequestBodyError) return new HttpError(400, "body interrupted", e.message);
  if (e instanceof RequestBodyStalledError) {
    return new HttpError(408, "request timeout", e.message, { Connection: "close" });
  }
  if (e instanceof BlobNotFoundError) return new HttpError(404, "not found", e.message);
  if (e instanceof BlobContentionError) {
    return new HttpError(503, "busy", e.message, { "Retry-After": "1" });
  }
  const mapped = collectionError(e) ?? protocolError(e) ?? peerError(e) ?? willowError(e);
  if (mapped !== undefined) return mapped;
  if (e instanceof BaoError) {
    // Stored bytes that do not verify: the store is corrupted, and nothing of it was sent.
    return new HttpError(500, "stored data failed verification", e.message);
  }
  return new HttpError(500, "internal error", e instanceof Error ? e.message : String(e));
}

/** Blobs that had to come from peers (GATEWAY.md status codes). */
function peerError(e: unknown): HttpError | undefined {
  if (e instanceof NotCachedError) return new HttpError(412, "not cached", e.message);
  if (e instanceof NotOnPeersError) return new HttpError(404, "not found", e.message);
  if (e instanceof PeerTimeoutError) {
    return new HttpError(504, "peer timeout", e.message, { "Retry-After": "5" });
  }
  if (e instanceof PeersFailedError) {
    return new HttpError(502, "peers failed", e.message, { "Retry-After": "5" });
  }
  return undefined;
}

/** Uploads of collections, and blobs read as collections. */
function collectionError(e: unknown): HttpError | undefined {
  if (e instanceof ArchiveError) return new HttpError(400, "malformed upload", e.message);
  if (e instanceof UnsupportedArchiveTypeError) {
    return new HttpError(415, "unsupported media type", e.message);
  }
  if (e instanceof TooManyFilesError || e instanceof NamesTooLargeError) {
    return new HttpError(413, "payload too large", e.message);
  }
  if (e instanceof InvalidCollectionError || e instanceof InvalidHashSeqError) {
    return new HttpError(400, "invalid collection", e.message);
  }
  if (e instanceof CollectionTooLargeError) {
    return new HttpError(400, "collection too large", e.message);
  }
  return undefined;
}

/** iroh-blobs requests (`/get`), and a response that fails before its first byte. */
function protocolError(e: unknown): HttpError | undefined {
  if (e instanceof RequestTooLargeError) return new HttpError(413, "payload too large", e.message);
  if (e instanceof UnsupportedRequestError) {
    return new HttpError(400, "unsupported request", e.message);
  }
  if (e instanceof DecodeError) return new HttpError(400, "malformed request", e.message);
  if (e instanceof ProvideNotFoundError || e instanceof BlobIncompleteError) {
    return new HttpError(404, "not found", e.message);
  }
  if (e instanceof BlobUnavailableError && e.cause instanceof InvalidHashSeqError) {
    return new HttpError(400, "not a hash seq", e.message);
  }
  if (e instanceof BlobUnavailableError && e.cause instanceof BaoError) {
    return new HttpError(500, "stored data failed verification", e.message);
  }
  return undefined;
}

/** Willow namespaces, entries, capabilities and read proofs. */
function willowError(e: unknown): HttpError | undefined {
  if (e instanceof WillowDecodeError) return new HttpError(400, "malformed willow code", e.message);
  if (e instanceof InvalidWillowValueError) {
    return new HttpError(400, "invalid willow value", e.message);
  }
  if (e instanceof UnstorablePathError) return new HttpError(400, "path too long", e.message);
  if (e instanceof PayloadMismatchError) return new HttpError(400, "payload mismatch", e.message);
  if (e instanceof NotAuthorisedError || e instanceof NoCapabilityError) {
    return new HttpError(403, "forbidden", e.message);
  }
  if (e instanceof UnknownNamespaceError) return new HttpError(404, "not found", e.message);
  if (e instanceof NoLaterTimestampError) return new HttpError(409, "conflict", e.message);
  if (e instanceof SecretsUnavailableError) {
    return new HttpError(503, "secrets unavailable", e.message);
  }
  if (e instanceof StoreContentionError) {
    return new HttpError(503, "busy", e.message, { "Retry-After": "1" });
  }
  return undefined;
}

/** The JSON error response for `e`, counting verification failures of stored data. */
export function errorResponse(c: Context, e: unknown, metrics: Metrics): Response {
  const err = classify(e);
  if (e instanceof BaoError) metrics.verificationFailures.add(1, { source: "store" });
  if (err.status === 500 && !(e instanceof BaoError)) console.error(e);
  // An error says how things stand now (a missing blob may arrive a moment later): not cached.
  c.header("Cache-Control", "no-store");
  for (const [k, v] of Object.entries(err.headers)) c.header(k, v);
  return c.json({ error: err.error, detail: err.detail }, err.status);
}
