/**
 * `verifiedFetch`: a blob from a gateway as a standard `Response` that hands out nothing it has
 * not verified against the hash (issue 7; GATEWAY.md "HTTP contract").
 *
 * The size is proven first (size_proof.ts), because the status and `Content-Length` or
 * `Content-Range` must be facts when the `Response` is built; the data request goes out at the
 * same moment, so proving costs no round trip, and the proof is cached per hash, so the next
 * range of the same blob (a player seeking) costs none at all. The data then comes by one of
 * two paths:
 *
 * - `via: "bao"` (default): `GET /blobs/:hash?format=bao&chunks=…`, the iroh-compatible
 *   encoding of just the chunks that cover the range, verified as it streams (bao_stream.ts);
 *   its size header must match the proven size.
 * - `via: "outboard"`: the blob's outboard, fetched once, verified and cached
 *   (outboard_fetch.ts), and a plain `GET /blobs/:hash` with `Range` widened to whole 16 KiB
 *   groups, each group checked against the outboard (plain_range.ts). Plain ranges are what
 *   CDNs and caches keep.
 *
 * Both trim to the requested bytes. Failures before the `Response` reject the promise; failures
 * while the body streams error the body. Either way only typed errors (errors.ts), the caller's
 * abort reason, or `InvalidHashError` for a hash string that is not one.
 *
 * @module
 */

import { type Hash, toHex } from "../blake3/hash.ts";
import { CHUNK_LEN } from "../blake3/constants.ts";
import { BaoDecoder, type VerifiedData } from "../bao/decode.ts";
import { BaoTree, IROH_K } from "../bao/tree.ts";
import { DEFAULT_CONTENT_TYPE } from "../http/content_type.ts";
import { ChunkRanges } from "../ranges/chunk_ranges.ts";
import { baoPieces } from "./bao_stream.ts";
import { InvalidRangeError, RangeNotSatisfiableError } from "./errors.ts";
import {
  type ClientOptions,
  type GatewayContext,
  gatewayContext,
  startGet,
  toHash,
} from "./gateway_request.ts";
import { verifiedOutboard } from "./outboard_fetch.ts";
import { type ByteSpan, groupRangeHeader, plainRangePieces } from "./plain_range.ts";
import { provenSize } from "./size_proof.ts";
import { type BodyPlan, type Progress, verifiedResponse } from "./verified_response.ts";

export type { ByteSpan, Progress };

export interface FetchOptions extends ClientOptions {
  /**
   * Bytes `[start, end)` of the blob (`end` exclusive, omitted for "to the end"); an `end` past
   * the blob is clamped to its size, as HTTP does. Answered with `206` and `Content-Range`.
   * Without it, the whole blob with `200`.
   */
  range?: ByteSpan;
  /** Which gateway resource carries the data: the Bao encoding, or plain ranges (see module). */
  via?: "bao" | "outboard";
  /** The `Content-Type` of the returned `Response` (the hash proves bytes, not their type). */
  contentType?: string;
  /** Told of the bytes verified so far and the proven total; first with 0 before any byte. */
  onProgress?: (progress: Progress) => void;
}

/** Throws `InvalidRangeError` unless `span` is a non-empty range of byte positions. */
function checkSpan(span: ByteSpan): void {
  const { start, end } = span;
  if (!Number.isSafeInteger(start) || start < 0) {
    throw new InvalidRangeError(`a range starts at a byte position, got ${start}`);
  }
  if (end !== undefined && (!Number.isSafeInteger(end) || end <= start)) {
    throw new InvalidRangeError(`a range ends at a byte position after its start, got ${end}`);
  }
}

/** What to deliver of a blob of proven `size`; `RangeNotSatisfiableError` past its end. */
function planFor(span: ByteSpan | undefined, size: number): BodyPlan {
  if (span === undefined) return { size, start: 0, end: size, partial: false };
  if (span.start >= size) throw new RangeNotSatisfiableError(span.start, size);
  return { size, start: span.start, end: Math.min(span.end ?? size, size), partial: true };
}

/** The chunks a Bao request asks for: all of them, or those covering the span. */
function chunksFor(span: ByteSpan | undefined): ChunkRanges {
  if (span === undefined) return ChunkRanges.ALL;
  return span.end === undefined
    ? ChunkRanges.range(Math.floor(span.start / CHUNK_LEN))
    : ChunkRanges.fromBytes(span.start, span.end);
}

async function viaBao(ctx: GatewayContext, hash: Hash, options: FetchOptions): Promise<Response> {
  const hex = toHex(hash);
  const ranges = chunksFor(options.range);
  const size = provenSize(ctx, hash);
  const data = startGet(ctx, `/blobs/${hex}?format=bao${ranges.isAll ? "" : `&chunks=${ranges}`}`);
  let plan: BodyPlan;
  try {
    plan = planFor(options.range, await size);
  } catch (e) {
    data.close();
    throw e;
  }
  const res = await data.response;
  const pieces = baoPieces(res.body, ctx.signal, new BaoDecoder(hash, ranges), plan.size);
  return respond(ctx, hex, plan, pieces, options, data.close);
}

async function viaOutboard(
  ctx: GatewayContext,
  hash: Hash,
  options: FetchOptions,
): Promise<Response> {
  const hex = toHex(hash);
  const size = provenSize(ctx, hash);
  const cached = ctx.cache.outboards.get(hex);
  const outboardGet = cached ? undefined : startGet(ctx, `/blobs/${hex}/outboard`);
  const groupBytes = new BaoTree(0, IROH_K).groupBytes;
  const range = options.range;
  const data = startGet(
    ctx,
    `/blobs/${hex}`,
    range === undefined ? {} : { Range: groupRangeHeader(range, groupBytes) },
  );
  try {
    const plan = planFor(range, await size);
    const outboard = cached ?? await verifiedOutboard(ctx, hash, plan.size, outboardGet!);
    const res = await data.response;
    const pieces = plainRangePieces(res, ctx.signal, outboard, plan.start, plan.end);
    return respond(ctx, hex, plan, pieces, options, data.close);
  } catch (e) {
    outboardGet?.close();
    data.close();
    throw e;
  }
}

function respond(
  ctx: GatewayContext,
  hexHash: string,
  plan: BodyPlan,
  pieces: AsyncGenerator<VerifiedData, void, undefined>,
  options: FetchOptions,
  close: () => void,
): Response {
  return verifiedResponse(plan, pieces, {
    hexHash,
    contentType: options.contentType ?? DEFAULT_CONTENT_TYPE,
    onProgress: options.onProgress,
    signal: ctx.signal,
    close,
  });
}

/** `verifiedFetch` for a gateway context already made (collections reuse it). */
export async function fetchVerified(
  ctx: GatewayContext,
  hash: Hash,
  options: FetchOptions,
): Promise<Response> {
  if (options.range !== undefined) checkSpan(options.range);
  return options.via === "outboard"
    ? await viaOutboard(ctx, hash, options)
    : await viaBao(ctx, hash, options);
}

/**
 * The blob `hash` (bytes, or 64 hex / 52 base32 characters) from the gateway at `gatewayUrl`,
 * or bytes `options.range` of it, as a `Response` whose every byte is verified against the
 * hash before it is handed out. Resolves once the size is proven and the data response has
 * started; `200`/`206` and the length headers come from the proven size only.
 */
export async function verifiedFetch(
  gatewayUrl: string | URL,
  hash: Hash | string,
  options: FetchOptions = {},
): Promise<Response> {
  return await fetchVerified(gatewayContext(gatewayUrl, options), toHash(hash), options);
}
