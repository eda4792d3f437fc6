/**
 * A gateway that goes silent must not hang a command for ever: a request gives up when the
 * network makes no progress for the idle limit: no answer to a request without a body, or no
 * next piece of a response body. Only time spent waiting on the network counts: a slow but
 * moving download is never cut, however long it takes, nor one whose reader (a pipe, a pager)
 * takes its time.
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

/** The stall behind `e`, however deep it surfaced (a body read, a cut response), if any. */
export function idleTimeoutOf(e: unknown): IdleTimeoutError | undefined {
  if (e instanceof IdleTimeoutError) return e;
  return e instanceof Error && e.cause instanceof IdleTimeoutError ? e.cause : undefined;
}

/** A timer that fails a request after `ms` without progress, while armed. */
class Watchdog {
  readonly controller = new AbortController();
  readonly error: IdleTimeoutError;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #onFire: (() => void) | undefined;

  constructor(readonly ms: number) {
    this.error = new IdleTimeoutError(ms);
  }

  get fired(): boolean {
    return this.controller.signal.aborted;
  }

  /** (Re)starts the wait; `onFire` also runs if it elapses (to fail a pending read). */
  arm(onFire?: () => void): void {
    this.disarm();
    this.#onFire = onFire;
    const timer = setTimeout(() => {
      this.controller.abort(this.error);
      this.#onFire?.();
    }, this.ms);
    // A request whose body nobody reads to the end must not keep the command alive.
    Deno.unrefTimer(timer);
    this.#timer = timer;
  }

  disarm(): void {
    clearTimeout(this.#timer);
    this.#onFire = undefined;
  }
}

/**
 * `inner`, with a request failed (`IdleTimeoutError`) when the network makes no progress for
 * `ms`; `ms` of 0 means never.
 */
export function withIdleTimeout(inner: FetchLike, ms: number): FetchLike {
  if (ms === 0) return inner;
  return async (input, init = {}) => {
    const dog = new Watchdog(ms);
    const signals = [dog.controller.signal, ...(init.signal ? [init.signal] : [])];
    // An upload's answer comes once the gateway has stored it all, which takes what it takes,
    // and the runtime takes the body from us faster than the network does: not timed.
    if (init.body === undefined || init.body === null) dog.arm();
    let res: Response;
    try {
      res = await inner(input, { ...init, signal: AbortSignal.any(signals) });
    } catch (e) {
      throw dog.fired ? dog.error : e;
    } finally {
      dog.disarm();
    }
    if (res.body === null) return res;
    const reader = res.body.getReader();
    const watched = new ReadableStream<Uint8Array>({
      async pull(out) {
        // Timed while the network is awaited, not while the reader of this stream dawdles.
        dog.arm(() => reader.cancel(dog.error).catch(() => {}));
        try {
          const next = await reader.read();
          // A read cut by the watchdog ends as if done: it is a failure.
          if (dog.fired) throw dog.error;
          if (next.done) out.close();
          else out.enqueue(next.value);
        } catch (e) {
          throw dog.fired ? dog.error : e;
        } finally {
          dog.disarm();
        }
      },
      cancel: (reason) => reader.cancel(reason),
    }, { highWaterMark: 0 });
    return new Response(watched, res);
  };
}
