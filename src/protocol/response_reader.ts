/**
 * The receiving side of a Get or GetMany (IB `src/get.rs`; brief §4 "Response stream"): splits
 * the concatenated response into its blobs and verifies each incrementally, handing out only
 * data that has been checked against its hash.
 *
 * Nothing on the wire says where a blob ends; each blob's size header and requested ranges do,
 * so a `BaoDecoder` reads one blob and gives the bytes past it to the next. Children of a Get are
 * verified against the hash seq: either the one the caller holds (checked against the request
 * hash) or the one this response carries whole as blob 0. The response must end exactly after
 * the last expected blob.
 *
 * @module
 */

import { bytesEqual, type Hash, toHex } from "../blake3/hash.ts";
import { hash as blake3 } from "../blake3/tree.ts";
import { BaoDecoder } from "../bao/decode.ts";
import { BaoError, TruncatedError } from "../bao/errors.ts";
import { IROH_K } from "../bao/tree.ts";
import { HashSeq } from "../collection/hash_seq.ts";
import { PostcardWriter } from "./postcard.ts";
import type { Request } from "./request.ts";
import { type RequestedBlob, requestedBlobs } from "./requested_blobs.ts";

/** Verified bytes of blob `index` at `offset`; `data` may be a view of the input. */
export interface DataEvent {
  readonly type: "data";
  readonly index: number;
  readonly hash: Hash;
  /** The size the blob's header claims; proved once `sizeVerified`. */
  readonly size: number;
  readonly sizeVerified: boolean;
  readonly offset: number;
  readonly data: Uint8Array;
}

/** Blob `index` has arrived whole (every requested chunk verified). */
export interface BlobDoneEvent {
  readonly type: "done";
  readonly index: number;
  readonly hash: Hash;
  readonly size: number;
  readonly sizeVerified: boolean;
}

export type ResponseEvent = DataEvent | BlobDoneEvent;

export interface ReadResponseOptions {
  /**
   * The hash seq of a Get's hash, when the caller already holds it: needed to verify children
   * unless the response carries blob 0 whole. Checked against the request hash.
   */
  readonly hashSeq?: HashSeq;
}

/** The response does not prove what the request asked for. */
export class ResponseError extends Error {
  override name = "ResponseError";
}

/** Blob `index`'s bytes do not verify against `hash` (the `BaoError` is the cause). */
export class ResponseVerificationError extends ResponseError {
  override name = "ResponseVerificationError";
  constructor(readonly index: number, readonly hash: Hash, cause: BaoError) {
    super(`blob ${index} (${toHex(hash)}): ${cause.message}`, { cause });
  }
}

/** The response ended inside blob `index`, or before it started. */
export class ResponseTruncatedError extends ResponseError {
  override name = "ResponseTruncatedError";
  constructor(readonly index: number, readonly hash: Hash, cause: TruncatedError) {
    super(`response ends inside blob ${index} (${toHex(hash)}): ${cause.message}`, { cause });
  }
}

/** Bytes followed the last blob the request asked for. */
export class ResponseTrailingBytesError extends ResponseError {
  override name = "ResponseTrailingBytesError";
  constructor(readonly offset: number) {
    super(`unexpected bytes after the last requested blob, at response byte ${offset}`);
  }
}

/**
 * The request asks for children of a hash seq that is not known: the response does not carry
 * blob 0 whole and the caller gave none, or gave one that is not the request's.
 */
export class ChildHashesUnknownError extends Error {
  override name = "ChildHashesUnknownError";
}

/** Blob 0's verified bytes, kept while they are contiguous from offset 0. */
class RootCollector {
  readonly #bytes = new PostcardWriter();
  #next = 0;
  #contiguous = true;

  add(offset: number, data: Uint8Array): void {
    if (offset !== this.#next) this.#contiguous = false;
    if (!this.#contiguous) return;
    this.#bytes.bytes(data.slice());
    this.#next += data.length;
  }

  /** The hash seq, if the whole blob arrived. */
  hashSeq(size: number, sizeVerified: boolean): HashSeq | undefined {
    if (!this.#contiguous || !sizeVerified || this.#next !== size) return undefined;
    return HashSeq.decode(this.#bytes.finish());
  }
}

interface Current {
  readonly blob: RequestedBlob;
  readonly decoder: BaoDecoder;
}

/**
 * Verifies `response` against `request` (IB `get.rs` `fsm`: header, then `ResponseDecoder`, per
 * blob), yielding verified data as it arrives and a `done` per blob. Throws `ResponseVerificationError`, `ResponseTruncatedError` or
 * `ResponseTrailingBytesError` at the first byte that breaks the response,
 * `ChildHashesUnknownError` when children cannot be verified, `InvalidHashSeqError` when blob 0
 * of a Get for children is not a hash seq. Accepts any async iterable of bytes, a
 * `ReadableStream` included.
 */
export async function* readResponse(
  request: Request,
  response: AsyncIterable<Uint8Array>,
  options: ReadResponseOptions = {},
): AsyncGenerator<ResponseEvent> {
  let hashSeq = options.hashSeq;
  if (
    hashSeq !== undefined && request.type === "get" &&
    !bytesEqual(blake3(hashSeq.bytes), request.hash)
  ) {
    throw new ChildHashesUnknownError("the hash seq given does not hash to the requested hash");
  }
  const wantsChildren = request.type === "get" && !request.ranges.nonEmpty(1).next().done;
  const collector = wantsChildren && hashSeq === undefined ? new RootCollector() : undefined;
  const child = (_root: Hash, position: number) => {
    if (hashSeq === undefined) {
      throw new ChildHashesUnknownError(
        `cannot verify child ${position}: the hash seq is neither given nor requested whole`,
      );
    }
    return hashSeq.get(position);
  };
  const blobs = requestedBlobs(request, child);
  const start = async (): Promise<Current | undefined> => {
    const r = await blobs.next();
    return r.done
      ? undefined
      : { blob: r.value, decoder: new BaoDecoder(r.value.hash, r.value.ranges, IROH_K) };
  };

  let current = await start();
  let received = 0;
  for await (const chunk of response) {
    let pending = chunk;
    received += chunk.length;
    while (pending.length > 0) {
      if (current === undefined) throw new ResponseTrailingBytesError(received - pending.length);
      const { blob, decoder } = current;
      const verified = verify(current, () => decoder.push(pending));
      for (const { offset, data } of verified) {
        if (blob.index === 0) collector?.add(offset, data);
        yield { type: "data", ...describe(current), offset, data };
      }
      if (!decoder.done) break;
      pending = decoder.takeRemainder();
      yield { type: "done", ...describe(current) };
      if (blob.index === 0 && collector) {
        hashSeq = collector.hashSeq(decoder.size!, decoder.sizeVerified);
      }
      current = await start();
    }
  }
  if (current !== undefined) verify(current, () => current!.decoder.finish());
}

function describe({ blob, decoder }: Current) {
  return {
    index: blob.index,
    hash: blob.hash,
    size: decoder.size!,
    sizeVerified: decoder.sizeVerified,
  };
}

/** Runs a decoder step, turning its `BaoError` into the response error for this blob. */
function verify<T>({ blob }: Current, step: () => T): T {
  try {
    return step();
  } catch (e) {
    if (e instanceof TruncatedError) throw new ResponseTruncatedError(blob.index, blob.hash, e);
    if (e instanceof BaoError) throw new ResponseVerificationError(blob.index, blob.hash, e);
    throw e;
  }
}
