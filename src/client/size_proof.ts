/**
 * The proven size of a blob. A size header or `Content-Length` is only a claim; what proves a
 * size is the last chunk verifying under the tree that size implies (bao spec "Decoder
 * security"; bao-tree `ChunkRanges::last_chunk`). So the client asks for the encoding of just
 * the last chunk, `?format=bao&chunks=<2^53>..`: the size, the pairs on the path to the last
 * group, the pairs inside it and one chunk, a few hundred bytes for any blob.
 *
 * @module
 */

import { type Hash, toHex } from "../blake3/hash.ts";
import { BaoDecoder } from "../bao/decode.ts";
import { ChunkRanges } from "../ranges/chunk_ranges.ts";
import { baoPieces } from "./bao_stream.ts";
import { type GatewayContext, startGet } from "./gateway_request.ts";

/** The size of `hash`, from the cache or proven by its last chunk, and cached. */
export async function provenSize(ctx: GatewayContext, hash: Hash): Promise<number> {
  const key = toHex(hash);
  const cached = ctx.cache.sizes.get(key);
  if (cached !== undefined) return cached;
  const pending = startGet(ctx, `/blobs/${key}?format=bao&chunks=${ChunkRanges.LAST}`);
  const res = await pending.response;
  try {
    const decoder = new BaoDecoder(hash, ChunkRanges.LAST);
    // The last chunk's bytes are not wanted here, only that they verify.
    for await (const _ of baoPieces(res.body, ctx.signal, decoder));
    // The walk of LAST ends with the last chunk, so a finished decoder has verified it: the
    // size is proven (`decoder.sizeVerified`).
    const size = decoder.size!;
    ctx.cache.sizes.set(key, size);
    return size;
  } finally {
    pending.close();
  }
}
