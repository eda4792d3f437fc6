/**
 * The body of an entry submission (`POST /willow/:namespace/entries`): the entry, its
 * authorisation token and optionally its payload, as one binary stream:
 *
 *     EncodeEntry(entry) ‖ EncodeMcCapability(capability) ‖ signature (64 bytes) ‖ payload
 *
 * Willow's encodings are prefix codes, so the parts need no lengths or separators; the payload is
 * whatever follows the signature (nothing: no payload) and streams straight into the blob store,
 * at any size, without the base64 a JSON body would need. The encodings are the Willow'25 ones
 * (willowprotocol.org `encodings.tsx`); any code of each relation is accepted.
 *
 * @module
 */

import { concatBytes } from "../bytes.ts";
import { decodePrefix, encode, type Reader } from "./codec.ts";
import { readMcCapability, writeMcCapability } from "./capability_encoding.ts";
import type { Entry } from "./entry.ts";
import { readEntry, writeEntry } from "./entry_encoding.ts";
import { WillowDecodeError } from "./errors.ts";
import { readSignature } from "./id_encoding.ts";
import type { Signature } from "./keys.ts";
import { checkChainLength, type McCapability } from "./meadowcap.ts";

/** The media type of submissions. */
export const SUBMISSION_TYPE = "application/x-willow-entry";

/** The head (entry, capability, signature) is at most this long. */
export const MAX_SUBMISSION_HEAD = 64 * 1024;

export interface Submission {
  readonly entry: Entry;
  readonly capability: McCapability;
  readonly signature: Signature;
  /** The rest of the body: the payload, or an empty stream. */
  readonly payload: ReadableStream<Uint8Array>;
  /** Whether any payload byte follows the head. */
  readonly hasPayload: boolean;
}

function readHead(r: Reader): Omit<Submission, "payload" | "hasPayload"> {
  return r.relation(() => ({
    entry: readEntry(r),
    capability: checkChainLength(readMcCapability(r)),
    signature: readSignature(r),
  }));
}

/** Encodes a submission's head; append the payload to make a body. */
export function encodeSubmissionHead(
  entry: Entry,
  capability: McCapability,
  signature: Signature,
): Uint8Array {
  return encode((w) => {
    writeEntry(w, entry);
    writeMcCapability(w, capability);
    w.bytes(signature);
  });
}

/**
 * Reads a submission from a body stream: the head is decoded as soon as it has arrived (strictly:
 * `WillowDecodeError` for anything else, "truncated" if the body ends first), the rest is left
 * unread in `payload`.
 */
export async function readSubmission(body: ReadableStream<Uint8Array>): Promise<Submission> {
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let length = 0;
  let ended = false;
  // Decoding again only once the buffer has doubled keeps a head that trickles in byte by byte
  // from costing quadratic time.
  let retryAt = 1;
  for (;;) {
    if (length >= retryAt || ended) {
      const buffered = chunks.length === 1 ? chunks[0] : concatBytes(chunks);
      chunks.splice(0, chunks.length, buffered);
      try {
        const head = decodePrefix(buffered, readHead, { canonic: false });
        return await payloadAfter(head.value, buffered.subarray(head.length), reader);
      } catch (e) {
        if (!(e instanceof WillowDecodeError) || e.kind !== "truncated" || ended) throw e;
        if (length >= MAX_SUBMISSION_HEAD) {
          throw new WillowDecodeError(
            "invalid",
            `the head is longer than ${MAX_SUBMISSION_HEAD} bytes`,
          );
        }
        retryAt = Math.min(2 * length, MAX_SUBMISSION_HEAD);
      }
    }
    const { done, value } = await reader.read();
    if (done) ended = true;
    else {
      chunks.push(value);
      length += value.length;
    }
  }
}

/** The submission whose head is `head`, with `rest` and what `reader` still has as payload. */
async function payloadAfter(
  head: Omit<Submission, "payload" | "hasPayload">,
  rest: Uint8Array,
  reader: ReadableStreamDefaultReader<Uint8Array>,
): Promise<Submission> {
  const first = rest.length > 0 ? rest : await firstChunk(reader);
  return {
    ...head,
    hasPayload: first !== undefined,
    payload: new ReadableStream<Uint8Array>({
      start(controller) {
        if (first !== undefined) controller.enqueue(first);
      },
      async pull(controller) {
        const { done, value } = await reader.read();
        if (done) controller.close();
        else controller.enqueue(value);
      },
      cancel(reason) {
        return reader.cancel(reason);
      },
    }),
  };
}

/** The next non-empty chunk, or `undefined` at the end. */
async function firstChunk(
  reader: ReadableStreamDefaultReader<Uint8Array>,
): Promise<Uint8Array | undefined> {
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return undefined;
    if (value.length > 0) return value;
  }
}
