/**
 * A blob's pre-order outboard (`GET /blobs/:hash/outboard`: 64-byte pairs above the 16 KiB
 * groups, no header; GATEWAY.md "Wire formats"), verified before use so that plain range
 * responses can be checked against it.
 *
 * The outboard does not prove the size. A pair does not say how many chunks lie under it, and
 * the CV of a whole group is itself the parent CV of its two halves, so an outboard built for
 * one more group than the blob has can hash up to the root just as well; only data decides.
 * Hence the size comes from a last-chunk proof (size_proof.ts), the outboard must have exactly
 * the length that size implies, and every pair is checked from the root down under that tree
 * (`verifiedPreOrder`) before the outboard is cached. The `X-Blob-Size` header, a claim, must
 * agree with the proof.
 *
 * @module
 */

import { type Hash, toHex } from "../blake3/hash.ts";
import { MemOutboard, verifiedPreOrder } from "../bao/outboard.ts";
import { BaoTree, IROH_K } from "../bao/tree.ts";
import { ByteReader, chunksOf } from "./byte_reader.ts";
import { fromBaoError, MalformedResponseError, SizeMismatchError } from "./errors.ts";
import type { GatewayContext, PendingGet } from "./gateway_request.ts";

/**
 * The verified outboard of `hash`, whose size `size` is proven, read from `pending` (a request
 * for `/blobs/:hash/outboard`), and cached. Throws `SizeMismatchError` when `X-Blob-Size`
 * disagrees, `TruncatedResponseError` or `MalformedResponseError` when the body is shorter or
 * longer than the size implies, `CorruptDataError` at the first pair that does not verify.
 */
export async function verifiedOutboard(
  ctx: GatewayContext,
  hash: Hash,
  size: number,
  pending: PendingGet,
): Promise<MemOutboard> {
  const res = await pending.response;
  const reader = new ByteReader(chunksOf(res.body, ctx.signal));
  try {
    const claimed = res.headers.get("X-Blob-Size");
    if (claimed !== null && Number(claimed) !== size) {
      throw new SizeMismatchError(Number(claimed), size, "the X-Blob-Size header");
    }
    const tree = new BaoTree(size, IROH_K);
    const pairs = await reader.read(tree.outboardSize);
    if (!(await reader.atEnd())) {
      throw new MalformedResponseError(
        `the outboard is longer than the ${tree.outboardSize} bytes a ${size}-byte blob has`,
      );
    }
    const outboard = new MemOutboard(hash, tree, "pre", pairs);
    for await (const _ of verifiedPreOrder(outboard));
    ctx.cache.outboards.set(toHex(hash), outboard);
    return outboard;
  } catch (e) {
    throw fromBaoError(e);
  } finally {
    pending.close();
  }
}
