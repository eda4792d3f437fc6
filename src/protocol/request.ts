/**
 * iroh-blobs requests as postcard (IB `src/protocol.rs` `Request`; brief §4 "Transport and
 * framing"): an enum tag byte, then the variant's fields.
 *
 * This gateway serves the two read requests, Get (0) and GetMany (9). Observe (1), the reserved
 * slots (2–7), Push (8) and anything newer are refused with `UnsupportedRequestError`, naming
 * the variant so the caller can say what it got. A request is read to its end: iroh's provider
 * also requires the stream to finish right after it, and a trailing byte is rejected here rather
 * than ignored.
 *
 * @module
 */

import { asHash, type Hash } from "../blake3/hash.ts";
import { ChunkRangesSeq } from "../ranges/range_spec.ts";
import type { ChunkRanges } from "../ranges/chunk_ranges.ts";
import { DecodeError } from "./decode_error.ts";
import { PostcardReader, PostcardWriter } from "./postcard.ts";

/** Largest request body after the tag byte (IB `MAX_MESSAGE_SIZE`). */
export const MAX_MESSAGE_SIZE = 1024 * 1024;

/** The request variants in tag order (IB `RequestType`). */
export const REQUEST_VARIANTS = [
  "Get",
  "Observe",
  "Slot2",
  "Slot3",
  "Slot4",
  "Slot5",
  "Slot6",
  "Slot7",
  "Push",
  "GetMany",
] as const;

const GET = 0;
const GET_MANY = 9;

/** A well-formed tag for a request this gateway does not serve, or an unknown tag. */
export class UnsupportedRequestError extends DecodeError {
  override name = "UnsupportedRequestError";
  /** The variant's name (`"Observe"`, `"Push"`, `"Slot3"`), or `"unknown"`. */
  readonly variant: string;
  constructor(readonly tag: number) {
    const known: string | undefined = REQUEST_VARIANTS[tag];
    super(
      known === undefined
        ? `unknown request type ${tag}`
        : `request type ${tag} (${known}) is not supported; only Get and GetMany are`,
      0,
    );
    this.variant = known ?? "unknown";
  }
}

/** A request body longer than `MAX_MESSAGE_SIZE`. */
export class RequestTooLargeError extends DecodeError {
  override name = "RequestTooLargeError";
  constructor(
    /** Body bytes seen when the limit was passed (a lower bound when streaming). */
    readonly size: number,
  ) {
    super(`request body of ${size} bytes is over ${MAX_MESSAGE_SIZE}`, 1 + MAX_MESSAGE_SIZE);
  }
}

/** One blob, or a hash seq and its children (IB `GetRequest`). */
export interface GetRequest {
  readonly type: "get";
  readonly hash: Hash;
  /** Index 0 = the blob itself; index i ≥ 1 = child i − 1 of it as a hash seq. */
  readonly ranges: ChunkRangesSeq;
}

/** Several unrelated blobs (IB `GetManyRequest`): ranges index i is `hashes[i]`. */
export interface GetManyRequest {
  readonly type: "getMany";
  readonly hashes: readonly Hash[];
  readonly ranges: ChunkRangesSeq;
}

export type Request = GetRequest | GetManyRequest;

/** A Get for `ranges` of `hash` and its children (IB `GetRequest::new`). */
export function getRequest(hash: Hash, ranges: ChunkRangesSeq): GetRequest {
  return { type: "get", hash, ranges };
}

/** All of one blob (IB `GetRequest::blob`). */
export function getBlob(hash: Hash): GetRequest {
  return getRequest(hash, ChunkRangesSeq.BLOB);
}

/** Some chunks of one blob (IB `GetRequest::blob_ranges`). */
export function getBlobRanges(hash: Hash, ranges: ChunkRanges): GetRequest {
  return getRequest(hash, ChunkRangesSeq.fromRanges([ranges]));
}

/** A hash seq and all of every child (IB `GetRequest::all`). */
export function getAll(hash: Hash): GetRequest {
  return getRequest(hash, ChunkRangesSeq.ALL);
}

/** A GetMany (IB `GetManyRequest::new`). */
export function getManyRequest(hashes: readonly Hash[], ranges: ChunkRangesSeq): GetManyRequest {
  return { type: "getMany", hashes, ranges };
}

/** The postcard bytes of `request`, tag included (IB `postcard::to_stdvec(&Request)`). */
export function encodeRequest(request: Request): Uint8Array {
  return PostcardWriter.encode((w) => {
    if (request.type === "get") {
      w.byte(GET).bytes(request.hash);
    } else {
      w.byte(GET_MANY).varint(request.hashes.length);
      for (const h of request.hashes) w.bytes(h);
    }
    request.ranges.write(w);
  });
}

/**
 * Decodes a whole request (IB `Request::read_async` + `read_to_end_as`). Throws
 * `UnsupportedRequestError` for any variant but Get and GetMany, `RequestTooLargeError` past
 * `MAX_MESSAGE_SIZE`, and `DecodeError` for anything malformed or followed by extra bytes.
 */
export function decodeRequest(bytes: Uint8Array): Request {
  if (bytes.length - 1 > MAX_MESSAGE_SIZE) throw new RequestTooLargeError(bytes.length - 1);
  return PostcardReader.decode(bytes, (r) => {
    // iroh reads the tag as one byte: a tag ≥ 128 would need two, so no variant has one.
    const tag = r.byte();
    if (tag === GET) {
      const hash = asHash(r.take(32).slice());
      return getRequest(hash, ChunkRangesSeq.read(r));
    }
    if (tag === GET_MANY) {
      const count = r.length(32);
      const hashes: Hash[] = [];
      for (let i = 0; i < count; i++) hashes.push(asHash(r.take(32).slice()));
      return getManyRequest(hashes, ChunkRangesSeq.read(r));
    }
    throw new UnsupportedRequestError(tag);
  });
}

/**
 * Reads a request from a body stream, buffering at most `1 + MAX_MESSAGE_SIZE` bytes: a larger
 * body is refused as soon as it is seen, without reading the rest.
 */
export async function readRequest(body: AsyncIterable<Uint8Array>): Promise<Request> {
  const buffer = new PostcardWriter();
  let size = 0;
  for await (const part of body) {
    size += part.length;
    if (size - 1 > MAX_MESSAGE_SIZE) throw new RequestTooLargeError(size - 1);
    buffer.bytes(part.slice());
  }
  return decodeRequest(buffer.finish());
}
