/**
 * Verified data out of plain `GET /blobs/:hash` responses, the kind players, CDNs and caches
 * keep, checked with the blob's verified outboard: the request is widened to whole 16 KiB
 * groups, and each group is hashed at its chunk offset and compared with the CV its parent
 * pair promises (walking down from the root) before any byte of it comes out.
 *
 * @module
 */

import type { VerifiedData } from "../bao/decode.ts";
import { type BaoSource, verifiedSteps } from "../bao/encode.ts";
import type { MemOutboard } from "../bao/outboard.ts";
import { ChunkRanges } from "../ranges/chunk_ranges.ts";
import { ByteReader, chunksOf } from "./byte_reader.ts";
import { fromBaoError, MalformedResponseError, SizeMismatchError } from "./errors.ts";

/** Bytes `[start, end)` of a blob, `end` omitted for "to the end". */
export interface ByteSpan {
  readonly start: number;
  readonly end?: number;
}

/** The group-aligned `Range` header for `span`, which needs no size to be written. */
export function groupRangeHeader(span: ByteSpan, groupBytes: number): string {
  const first = Math.floor(span.start / groupBytes) * groupBytes;
  const last = span.end === undefined
    ? ""
    : String(Math.ceil(span.end / groupBytes) * groupBytes - 1);
  return `bytes=${first}-${last}`;
}

/**
 * Checks a plain response's extent against the widened range `[first, end)` of a blob of the
 * proven size, and positions `reader` at `first`: a `206` must say exactly that extent and
 * size in `Content-Range`; a `200` (a cache that ignored `Range`) is the whole blob.
 */
async function seek(
  res: Response,
  reader: ByteReader,
  first: number,
  end: number,
  size: number,
): Promise<void> {
  if (res.status === 200) return await reader.skip(first);
  const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(res.headers.get("Content-Range") ?? "");
  if (res.status !== 206 || m === null) {
    throw new MalformedResponseError(
      `expected 206 with Content-Range bytes ${first}-${end - 1}/${size}, got ${res.status} ` +
        `with ${res.headers.get("Content-Range") ?? "none"}`,
    );
  }
  if (Number(m[3]) !== size) throw new SizeMismatchError(Number(m[3]), size, "Content-Range");
  if (Number(m[1]) !== first || Number(m[2]) !== end - 1) {
    throw new MalformedResponseError(
      `Content-Range says bytes ${m[1]}-${m[2]}; bytes ${first}-${end - 1} were asked for`,
    );
  }
}

/**
 * Verified groups covering bytes `[start, end)` (a satisfiable range of the outboard's
 * proven size) from `res`, the answer to a request with `groupRangeHeader` (or none, for the
 * whole blob). `CorruptDataError` before any byte of a group that does not verify,
 * `TruncatedResponseError` when the body ends early, `MalformedResponseError` when it says
 * or holds more than was asked.
 */
export async function* plainRangePieces(
  res: Response,
  signal: AbortSignal | undefined,
  outboard: MemOutboard,
  start: number,
  end: number,
): AsyncGenerator<VerifiedData, void, undefined> {
  const tree = outboard.tree;
  const first = Math.floor(start / tree.groupBytes) * tree.groupBytes;
  const last = Math.min(Math.ceil(end / tree.groupBytes) * tree.groupBytes, tree.size);
  const reader = new ByteReader(chunksOf(res.body, signal));
  const source: BaoSource = {
    tree,
    root: outboard.root,
    loadPair: (node) => outboard.loadPair(node),
    // The walk reads whole groups in order, so the body is consumed front to back.
    readData: (a, b) => reader.read(b - a),
  };
  try {
    await seek(res, reader, first, last, tree.size);
    for await (
      const step of verifiedSteps(source, ChunkRanges.fromBytes(start, end).truncate(tree.size))
    ) {
      if (step.type === "group") {
        yield { offset: tree.byteRange(step.item.start, step.item.end)[0], data: step.data };
      }
    }
    // A 206 holds just the widened range; a 200 the whole blob, of which the rest is dropped
    // unless the range reached the end.
    if ((res.status === 206 || last === tree.size) && !(await reader.atEnd())) {
      throw new MalformedResponseError(`the body goes on past byte ${last}`);
    }
  } catch (e) {
    throw fromBaoError(e);
  }
}
