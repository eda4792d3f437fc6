/**
 * The HTTP representation of a blob (GATEWAY.md "HTTP contract"): headers, conditionals, byte
 * ranges, `?format=bao` and `?type=`, for `/blobs/:hash`, collection entries and Willow
 * payloads alike. Framework-free: a standard `Request` in, a standard `Response` out.
 *
 * Every byte of a body comes out of a verified Bao walk. The first piece is read (and checked)
 * before the response is returned, so corrupted storage at the start of a body is an error
 * status; a failure after that cuts the stream, never pads or completes it.
 *
 * @module
 */

import { type Hash, toHex } from "../blake3/hash.ts";
import { type BaoSource, encodeRanges, sizeHeader } from "../bao/encode.ts";
import type { BaoError } from "../bao/errors.ts";
import { readVerifiedExact } from "../bao/read.ts";
import { BaoTree, IROH_K } from "../bao/tree.ts";
import { encodedLength } from "../bao/walk.ts";
import { ChunkRanges } from "../ranges/chunk_ranges.ts";
import { encodeRangeSpec } from "../ranges/range_spec.ts";
import {
  blobEntityTag,
  type EntityTag,
  evaluatePreconditions,
  formatEntityTag,
  selectionEntityTag,
} from "./conditional.ts";
import { inlineDisposition } from "./content_disposition.ts";
import { contentTypeFromName, DEFAULT_CONTENT_TYPE, parseMediaType } from "./content_type.ts";
import { InvalidQueryError } from "./errors.ts";
import { verifiedResponse } from "./verified_body.ts";
import { byterangesBody, layoutByteranges } from "./multipart.ts";
import {
  type ByteRange,
  contentRange,
  parseRange,
  rangeLength,
  unsatisfiedContentRange,
} from "./range.ts";

/**
 * A blob as the responder needs it: its identity and (proven) size, and its bytes and
 * encodings, each piece verified before it is yielded — wherever they come from (the store,
 * a peer).
 */
export interface ServableBlob {
  readonly hash: Hash;
  readonly size: number;
  /** The type sniffed from its first bytes. */
  readonly sniffedType?: string;
  /** Its name in a collection: decides the type by extension, and the download file name. */
  readonly name?: string;
  /** Exactly bytes `[start, end)`, verified. */
  read(start: number, end: number): AsyncIterable<Uint8Array>;
  /** The encoding (k = 4, no size header) of `ranges`, every item checked before it goes. */
  encode(ranges: ChunkRanges): AsyncIterable<Uint8Array>;
  /**
   * Throws what reading `chunks` would throw before its first byte (a blob held in part under
   * `only-if-cached`, or with no peers to ask), without reading: a HEAD must answer as the GET
   * would, and must not read the blob. Absent when every chunk can be served.
   */
  precheck?(chunks: ChunkRanges): void;
}

/** A blob stored whole in one source (the store, memory) as a `ServableBlob`. */
export function servableSource(
  source: BaoSource,
  meta: { sniffedType?: string; name?: string },
): ServableBlob {
  return {
    hash: source.root,
    size: source.tree.size,
    sniffedType: meta.sniffedType,
    name: meta.name,
    read: (start, end) => readVerifiedExact(source, start, end),
    encode: (ranges) => encodeRanges(source, ranges),
  };
}

export interface BlobResponseOptions {
  /** Told when stored data fails verification after the response has started. */
  onCorruption?: (error: BaoError) => void;
}

/** The MIME type of Bao encodings (GATEWAY.md). */
export const BAO_CONTENT_TYPE = "application/x-bao";

const CACHE_CONTROL = "public, max-age=31536000, immutable, no-transform";

function base64(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

/**
 * A 412 or 416 of a blob: a JSON error like every other, with the blob's headers, but never
 * stored by a cache: it answers one request's conditions or ranges, not the blob (RFC 9111 §3).
 */
export function refusal(
  status: 412 | 416,
  headers: Headers,
  blob: ServableBlob,
): Response {
  headers.set("Cache-Control", "no-store");
  headers.set("Content-Type", "application/json");
  const body = status === 416
    ? { error: "range not satisfiable", detail: `the blob has ${blob.size} bytes` }
    : { error: "precondition failed", detail: "If-Match names another representation" };
  if (status === 416) headers.set("Content-Range", unsatisfiedContentRange(blob.size));
  return new Response(JSON.stringify(body), { status, headers });
}

/** Headers every blob response carries, whatever its status. */
function commonHeaders(blob: ServableBlob, etag: EntityTag): Headers {
  return new Headers({
    "ETag": formatEntityTag(etag),
    // RFC 9530 syntax; `blake3` is not a registered key, so it is named exactly so.
    "Repr-Digest": `blake3=:${base64(blob.hash)}:`,
    "Accept-Ranges": "bytes",
    "Cache-Control": CACHE_CONTROL,
    "X-Content-Type-Options": "nosniff",
    // Stored bytes are untrusted: a document among them runs sandboxed, in an opaque origin,
    // away from the gateway's own pages and storage.
    "Content-Security-Policy": "sandbox",
  });
}

/** `?type=`, else the name's extension, else what was sniffed, else octets. */
function contentType(blob: ServableBlob, override: string | null): string {
  if (override !== null) return parseMediaType(override);
  const named = blob.name === undefined ? undefined : contentTypeFromName(blob.name);
  return named ?? blob.sniffedType ?? DEFAULT_CONTENT_TYPE;
}

function verifiedRange(blob: ServableBlob, range: ByteRange): AsyncIterable<Uint8Array> {
  return blob.read(range.first, range.last + 1);
}

/**
 * The response to a GET or HEAD of `blob` for `request` (its method, headers and the query
 * parameters `format`, `chunks` and `type`). Throws typed errors for malformed parameters, and
 * `BaoError` when the stored data fails verification before the first byte.
 */
export async function blobResponse(
  request: Request,
  blob: ServableBlob,
  options: BlobResponseOptions = {},
): Promise<Response> {
  const url = new URL(request.url);
  const format = url.searchParams.get("format");
  if (format !== null && format !== "bao" && format !== "raw") {
    throw new InvalidQueryError("format", `must be "raw" or "bao", got "${format}"`);
  }
  if (format === "bao") return await baoResponse(request, blob, url, options);
  const type = contentType(blob, url.searchParams.get("type"));
  const etag = blobEntityTag(blob.hash);
  const headers = commonHeaders(blob, etag);
  headers.set("Content-Type", type);
  const disposition = inlineDisposition(blob.name);
  if (disposition !== undefined) headers.set("Content-Disposition", disposition);
  const isHead = request.method === "HEAD";
  const outcome = evaluatePreconditions(request.method, request.headers, etag);
  if (outcome === "not-modified") return new Response(null, { status: 304, headers });
  if (outcome === "precondition-failed") return refusal(412, headers, blob);
  const decision = outcome === "range"
    ? parseRange(request.headers.get("Range"), blob.size)
    : { kind: "ignore" as const };
  if (decision.kind === "unsatisfiable") return refusal(416, headers, blob);
  if (decision.kind === "ignore") {
    headers.set("Content-Length", String(blob.size));
    if (isHead) blob.precheck?.(ChunkRanges.fromBytes(0, blob.size));
    if (isHead || blob.size === 0) return new Response(null, { status: 200, headers });
    const body = blob.read(0, blob.size);
    return await verifiedResponse(body, { ...options, length: blob.size }, {
      status: 200,
      headers,
    });
  }
  const ranges = decision.ranges;
  if (ranges.length === 1) {
    const [range] = ranges;
    headers.set("Content-Range", contentRange(range, blob.size));
    headers.set("Content-Length", String(rangeLength(range)));
    const body = verifiedRange(blob, range);
    return await verifiedResponse(body, { ...options, length: rangeLength(range) }, {
      status: 206,
      headers,
    });
  }
  const layout = layoutByteranges(ranges, type, blob.size);
  headers.set("Content-Type", layout.contentType);
  headers.set("Content-Length", String(layout.contentLength));
  const body = byterangesBody(layout, (range) => verifiedRange(blob, range));
  // The first chunk holds the first part's head and its first verified bytes.
  return await verifiedResponse(body, { ...options, length: layout.contentLength }, {
    status: 206,
    headers,
  });
}

/** The chunk ranges a bao request asks for: `?chunks=`, else the `Range` header rounded out. */
function baoQuery(request: Request, url: URL, size: number): ChunkRanges | "unsatisfiable" {
  const chunks = url.searchParams.get("chunks");
  if (chunks !== null) return ChunkRanges.parse(chunks);
  const decision = parseRange(request.headers.get("Range"), size);
  if (decision.kind === "unsatisfiable") return "unsatisfiable";
  if (decision.kind === "ignore") return ChunkRanges.ALL;
  return decision.ranges.reduce(
    (set, r) => set.union(ChunkRanges.fromBytes(r.first, r.last + 1)),
    ChunkRanges.EMPTY,
  );
}

/**
 * `?format=bao`: the 8-byte size and the iroh-compatible (k = 4) encoding of exactly the
 * requested chunks. It is its own representation, so the status is 200 and the entity tag
 * names the ranges; `Vary: Range` because the header chooses them.
 */
async function baoResponse(
  request: Request,
  blob: ServableBlob,
  url: URL,
  options: BlobResponseOptions,
): Promise<Response> {
  const query = baoQuery(request, url, blob.size);
  const base = commonHeaders(blob, blobEntityTag(blob.hash));
  if (query === "unsatisfiable") {
    base.set("Vary", "Range");
    return refusal(416, base, blob);
  }
  const tree = new BaoTree(blob.size, IROH_K);
  const truncated = query.truncate(blob.size);
  const etag: EntityTag = query.isAll
    ? { weak: false, opaque: `${toHex(blob.hash)}.bao` }
    : selectionEntityTag(blob.hash, "bao", encodeRangeSpec(query));
  const headers = commonHeaders(blob, etag);
  headers.set("Content-Type", BAO_CONTENT_TYPE);
  headers.set("Vary", "Range");
  // Byte ranges of an encoding are not offered: a client asks for chunks instead.
  headers.set("Accept-Ranges", "none");
  const outcome = evaluatePreconditions("HEAD", request.headers, etag);
  if (outcome === "not-modified") return new Response(null, { status: 304, headers });
  if (outcome === "precondition-failed") return refusal(412, headers, blob);
  const length = query.isEmpty ? 0 : 8 + encodedLength(tree, truncated);
  headers.set("Content-Length", String(length));
  if (request.method === "HEAD") blob.precheck?.(tree.chunksRead(query));
  if (request.method === "HEAD" || length === 0) {
    return new Response(null, { status: 200, headers });
  }
  async function* encoding(): AsyncGenerator<Uint8Array> {
    yield sizeHeader(blob.size);
    yield* blob.encode(query as ChunkRanges);
  }
  return await verifiedResponse(encoding(), { ...options, length }, {
    status: 200,
    headers,
  });
}
