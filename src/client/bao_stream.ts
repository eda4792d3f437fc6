/**
 * Verified data out of a `?format=bao` response body: the gateway's iroh-compatible encoding
 * (8-byte LE size, then the pre-order walk of the requested chunks at k = 4; GATEWAY.md "Wire
 * formats") fed to the streaming verifier as it arrives. Only what `BaoDecoder` verified comes
 * out; memory is one 16 KiB group plus the chunk in hand.
 *
 * @module
 */

import type { BaoDecoder, VerifiedData } from "../bao/decode.ts";
import { chunksOf } from "./byte_reader.ts";
import { fromBaoError, MalformedResponseError, SizeMismatchError } from "./errors.ts";

/**
 * Verified pieces of `body`, decoded by `decoder` (built with the requested hash and the very
 * ranges the request named, since the layout depends on both). With `provenSize`, an encoding
 * whose size header says otherwise fails with `SizeMismatchError` before any of its data comes
 * out. Bytes past the encoding fail with `MalformedResponseError`, an early end with
 * `TruncatedResponseError`, a bad pair or chunk with `CorruptDataError`.
 */
export async function* baoPieces(
  body: ReadableStream<Uint8Array> | null,
  signal: AbortSignal | undefined,
  decoder: BaoDecoder,
  provenSize?: number,
): AsyncGenerator<VerifiedData, void, undefined> {
  try {
    for await (const chunk of chunksOf(body, signal)) {
      if (decoder.done) throw trailing(decoder.consumed);
      const pieces = decoder.push(chunk);
      const claimed = decoder.size;
      if (provenSize !== undefined && claimed !== undefined && claimed !== provenSize) {
        throw new SizeMismatchError(claimed, provenSize, "the encoding's size header");
      }
      if (decoder.done && decoder.takeRemainder().length > 0) throw trailing(decoder.consumed);
      yield* pieces;
    }
    decoder.finish();
  } catch (e) {
    throw fromBaoError(e);
  }
}

function trailing(at: number): MalformedResponseError {
  return new MalformedResponseError(`bytes follow the end of the encoding at byte ${at}`);
}
