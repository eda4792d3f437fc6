/**
 * The `Response` a verified fetch returns. Its status and length headers are built only from
 * facts already proven (the size, by its last chunk) before it is constructed; its body hands
 * out bytes as each piece verifies and stops at the first failure, with the client's typed
 * error. The body is pulled, never pushed: a piece is verified only when the reader asks for
 * one, so memory stays at a piece however large the blob, and an error never discards bytes
 * already queued (there are none).
 *
 * @module
 */

import type { VerifiedData } from "../bao/decode.ts";

/** Progress of a verified body, for progress bars. */
export interface Progress {
  /** Bytes of the body verified and handed out so far. */
  readonly verified: number;
  /** Bytes the body will hold: proven before the first byte, so known from the first report. */
  readonly total: number;
}

/** What a verified response delivers, decided from the proven size. */
export interface BodyPlan {
  /** The blob's size, proven. */
  readonly size: number;
  /** The bytes `[start, end)` of the blob to deliver, within the size. */
  readonly start: number;
  readonly end: number;
  /** Whether a range was asked for: `206` with `Content-Range`, else `200`. */
  readonly partial: boolean;
}

export interface ResponseOptions {
  readonly hexHash: string;
  readonly contentType: string;
  readonly onProgress?: (progress: Progress) => void;
  /** The caller's signal: once it aborts, the next read fails with its reason, as fetch's do. */
  readonly signal?: AbortSignal;
  /** Ends the data request; called once when the body ends, fails or is cancelled. */
  readonly close: () => void;
}

/** The part of a verified piece inside `[start, end)`. */
function trim({ offset, data }: VerifiedData, start: number, end: number): Uint8Array {
  return data.subarray(
    Math.max(start - offset, 0),
    Math.max(Math.min(end - offset, data.length), 0),
  );
}

/**
 * A `Response` whose body is `pieces` (verified, in order, covering `[plan.start, plan.end)`)
 * trimmed to the plan. Headers: `Content-Length`, `Content-Range` for a range, the strong
 * `ETag` of the hash (what the bytes were verified against), and `Content-Type` as given (the
 * hash says nothing about a type).
 */
export function verifiedResponse(
  plan: BodyPlan,
  pieces: AsyncGenerator<VerifiedData, void, undefined>,
  options: ResponseOptions,
): Response {
  const total = plan.end - plan.start;
  const headers = new Headers({
    "Content-Length": String(total),
    "Content-Type": options.contentType,
    "ETag": `"${options.hexHash}"`,
  });
  if (plan.partial) {
    headers.set("Content-Range", `bytes ${plan.start}-${plan.end - 1}/${plan.size}`);
  }
  let verified = 0;
  let ended = false;
  const end = () => {
    if (!ended) options.close();
    ended = true;
  };
  options.onProgress?.({ verified, total });
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        options.signal?.throwIfAborted();
        while (true) {
          const r = await pieces.next();
          if (r.done) {
            end();
            controller.close();
            return;
          }
          const bytes = trim(r.value, plan.start, plan.end);
          if (bytes.length === 0) continue;
          controller.enqueue(bytes);
          verified += bytes.length;
          options.onProgress?.({ verified, total });
          return;
        }
      } catch (e) {
        end();
        throw e;
      }
    },
    async cancel() {
      end();
      await pieces.return();
    },
  }, { highWaterMark: 0 });
  return new Response(body, { status: plan.partial ? 206 : 200, headers });
}
