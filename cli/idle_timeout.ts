/**
 * A gateway that goes silent must not hang a command for ever: a request gives up when its
 * answer's headers, or the next piece of its body, take longer than the idle limit. A slow but
 * moving download is never cut, however long it takes.
 *
 * @module
 */

import type { FetchLike } from "../src/client/mod.ts";

/** The error a request fails with when the gateway stays silent (the CLI exits 4). */
export class IdleTimeoutError extends Error {
  override name = "IdleTimeoutError";
  constructor(ms: number) {
    super(`the gateway sent nothing for ${ms / 1000} s`);
  }
}

/** `inner`, with every request aborted after `ms` without headers or a byte of its body. */
export function withIdleTimeout(inner: FetchLike, ms: number): FetchLike {
  return async (input, init = {}) => {
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const arm = () => {
      clearTimeout(timer);
      const next = setTimeout(() => controller.abort(new IdleTimeoutError(ms)), ms);
      // A request whose body nobody reads to the end must not keep the command alive.
      Deno.unrefTimer(next);
      timer = next;
    };
    const signals = [controller.signal, ...(init.signal ? [init.signal] : [])];
    arm();
    let res: Response;
    try {
      res = await inner(input, { ...init, signal: AbortSignal.any(signals) });
    } catch (e) {
      clearTimeout(timer);
      throw controller.signal.aborted ? controller.signal.reason : e;
    }
    if (res.body === null) {
      clearTimeout(timer);
      return res;
    }
    arm();
    const reader = res.body.getReader();
    const body = new ReadableStream<Uint8Array>({
      async pull(out) {
        try {
          const next = await reader.read();
          if (next.done) {
            clearTimeout(timer);
            out.close();
          } else {
            arm();
            out.enqueue(next.value);
          }
        } catch (e) {
          clearTimeout(timer);
          throw controller.signal.aborted ? controller.signal.reason : e;
        }
      },
      cancel(reason) {
        clearTimeout(timer);
        return reader.cancel(reason);
      },
    }, { highWaterMark: 0 });
    return new Response(body, res);
  };
}
