/**
 * Talking to one peer gateway: what it holds of a blob (`POST /discovery` with a Get for the
 * blob: a binary RangeSpecSeq), and a verified stream of ranges of a blob (`POST /get`,
 * iroh-blobs request and response bytes). Everything a peer sends is untrusted: the availability
 * is only a hint, and the data goes through the Bao verifier before anyone sees a byte of it.
 *
 * @module
 */

import type { Hash } from "../blake3/hash.ts";
import { collect } from "../bytes.ts";
import { BaoDecoder, type VerifiedData } from "../bao/decode.ts";
import { HashMismatchError, TruncatedError } from "../bao/errors.ts";
import type { TreeNode } from "../bao/tree.ts";
import { encodeRequest, getBlob, getBlobRanges } from "../protocol/request.ts";
import type { ChunkRanges } from "../ranges/chunk_ranges.ts";
import { ChunkRangesSeq } from "../ranges/range_spec.ts";
import type { FailureReason, Peer } from "./peer.ts";

/** A request to a peer that failed, and why (which decides how the peer's health suffers). */
export class PeerRequestError extends Error {
  override name = "PeerRequestError";
  constructor(readonly peer: string, readonly reason: FailureReason, detail: string) {
    super(`${peer}: ${reason}: ${detail}`);
  }
}

export interface PeerTimeouts {
  /** Until the response headers and its first byte. */
  firstByteMs: number;
  /** Between two pieces of a response once it flows. */
  stallMs: number;
}

/** Largest discovery answer read from a peer (one blob's RangeSpecSeq: a few hundred bytes). */
const MAX_DISCOVERY_BYTES = 64 * 1024;

/** A request to a peer under a deadline (see `fetchWithin`). */
interface PeerResponse {
  readonly res: Response;
  readonly controller: AbortController;
  /** Ends the deadline: the caller watches the rest of the response itself. */
  readonly clear: () => void;
}

/**
 * `fetch` with a deadline that runs until `clear` (the caller decides whether it covers the
 * body too): aborts, and says it was our timer, if `ms` pass first. Redirects are not followed:
 * a peer must not make this gateway send requests elsewhere, to its own loopback-only
 * endpoints least of all.
 */
async function fetchWithin(
  url: string,
  init: RequestInit,
  ms: number,
  peer: string,
): Promise<PeerResponse> {
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new PeerRequestError(peer, "timeout", `no answer in ${ms} ms`)),
    ms,
  );
  const clear = () => clearTimeout(timer);
  try {
    const res = await fetch(url, { ...init, redirect: "manual", signal: controller.signal });
    return { res, controller, clear };
  } catch (e) {
    clear();
    if (controller.signal.aborted) throw controller.signal.reason;
    throw new PeerRequestError(peer, "unreachable", e instanceof Error ? e.message : String(e));
  }
}

/** What `peer` says it holds of blob `hash` (chunk ranges; a hint, never trusted for data). */
export async function peerAvailability(
  peer: Peer,
  hash: Hash,
  timeoutMs: number,
): Promise<ChunkRanges> {
  // The deadline covers the whole answer, body included: a peer that sends its headers and
  // then trickles must not hold every miss (and its in-flight place) for ever. A Get for the
  // blob alone, not `GET /discovery/:hash`: for a hash sequence that would list its children
  // too, an answer that grows with them (past the cap below) when only the blob is wanted.
  const { res, controller, clear } = await fetchWithin(
    `${peer.url}/discovery`,
    {
      method: "POST",
      headers: { "Content-Type": "application/octet-stream" },
      body: encodeRequest(getBlob(hash)) as Uint8Array<ArrayBuffer>,
    },
    timeoutMs,
    peer.url,
  );
  let bytes: Uint8Array;
  try {
    if (res.status !== 200 || res.body === null) {
      throw new PeerRequestError(peer.url, "status", `discovery answered ${res.status}`);
    }
    bytes = await collect(
      res.body,
      MAX_DISCOVERY_BYTES,
      () =>
        new PeerRequestError(peer.url, "protocol", `an answer over ${MAX_DISCOVERY_BYTES} bytes`),
    );
  } catch (e) {
    await res.body?.cancel().catch(() => {});
    if (controller.signal.aborted) throw controller.signal.reason;
    if (e instanceof PeerRequestError) throw e;
    throw new PeerRequestError(peer.url, "truncated", e instanceof Error ? e.message : String(e));
  } finally {
    clear();
  }
  let ranges: ChunkRanges;
  try {
    ranges = ChunkRangesSeq.decode(bytes).get(0);
  } catch (e) {
    throw new PeerRequestError(peer.url, "protocol", `bad discovery answer: ${e}`);
  }
  peer.recordAnswer();
  return ranges;
}

export interface StreamHandlers {
  /** Verified data, in order. */
  onData(data: VerifiedData): void;
  /** A verified pair. */
  onPair(node: TreeNode, pair: Uint8Array): void;
}

/**
 * Streams `ranges` of blob `hash` from `peer`, verifying every item, and returns the blob's
 * size as the stream claimed it and whether the last chunk proved it. With `expectedSize`, a
 * different claim fails at once. Throws `PeerRequestError` on any failure: nothing after the
 * first bad byte reaches the handlers.
 */
export async function streamFromPeer(
  peer: Peer,
  hash: Hash,
  ranges: ChunkRanges,
  handlers: StreamHandlers,
  timeouts: PeerTimeouts,
  expectedSize?: number,
): Promise<{ size: number; sizeVerified: boolean }> {
  const started = performance.now();
  const body = encodeRequest(getBlobRanges(hash, ranges));
  const { res, controller, clear } = await fetchWithin(
    `${peer.url}/get`,
    {
      method: "POST",
      body: body as Uint8Array<ArrayBuffer>,
      headers: { "Content-Type": "application/octet-stream" },
    },
    timeouts.firstByteMs,
    peer.url,
  );
  // From here on the watchdog below keeps the time.
  clear();
  if (res.status !== 200 || res.body === null) {
    await res.body?.cancel();
    throw new PeerRequestError(peer.url, "status", `POST /get answered ${res.status}`);
  }
  // One watchdog per response instead of a timer per piece: the first piece must come within
  // the first-byte deadline, and after it each verified item (a pair or a 16 KiB group) within
  // the stall deadline of the one before. Counting bytes instead would let a peer that drips
  // a byte now and then hold a reader for hours.
  let lastProgress = performance.now();
  const decoder = new BaoDecoder(hash, ranges, 4, {
    onPair: (node, pair) => {
      lastProgress = performance.now();
      handlers.onPair(node, pair);
    },
  });
  const reader = res.body.getReader();
  let received = 0;
  let timedOut: string | undefined;
  const watchdog = setInterval(() => {
    const limit = received === 0
      ? timeouts.firstByteMs - (lastProgress - started)
      : timeouts.stallMs;
    if (performance.now() - lastProgress < limit) return;
    timedOut = received === 0 ? "no first byte in time" : "stalled";
    reader.cancel().catch(() => {});
    controller.abort();
  }, Math.max(10, Math.min(timeouts.firstByteMs, timeouts.stallMs) / 4));
  try {
    while (true) {
      let next: ReadableStreamReadResult<Uint8Array>;
      try {
        next = await reader.read();
      } catch (e) {
        if (timedOut !== undefined) throw new PeerRequestError(peer.url, "timeout", timedOut);
        // The connection broke mid-response: the peer stopped sending.
        throw new PeerRequestError(
          peer.url,
          "truncated",
          e instanceof Error ? e.message : String(e),
        );
      }
      if (timedOut !== undefined) throw new PeerRequestError(peer.url, "timeout", timedOut);
      if (next.done) break;
      if (received === 0) lastProgress = performance.now();
      received += next.value.length;
      for (const v of decoder.push(next.value)) {
        lastProgress = performance.now();
        handlers.onData(v);
      }
      if (
        expectedSize !== undefined && decoder.size !== undefined && decoder.size !== expectedSize
      ) {
        throw new PeerRequestError(
          peer.url,
          "bad-data",
          `claims ${decoder.size} bytes, the blob has ${expectedSize}`,
        );
      }
    }
    decoder.finish();
    if (decoder.takeRemainder().length > 0) {
      throw new PeerRequestError(peer.url, "protocol", "bytes after the end of the response");
    }
  } catch (e) {
    controller.abort();
    if (e instanceof PeerRequestError) throw e;
    if (e instanceof HashMismatchError) throw new PeerRequestError(peer.url, "bad-data", e.message);
    if (e instanceof TruncatedError) throw new PeerRequestError(peer.url, "truncated", e.message);
    throw new PeerRequestError(peer.url, "protocol", e instanceof Error ? e.message : String(e));
  } finally {
    clearInterval(watchdog);
    reader.releaseLock();
  }
  peer.recordSuccess(performance.now() - started, received);
  return { size: decoder.size!, sizeVerified: decoder.sizeVerified };
}
