/**
 * Response bodies read chunk by chunk or a counted number of bytes at a time, with the
 * failures of reading turned into the client's errors: the caller's abort passes through as
 * fetch gives it, anything else (a cut connection) is a `TruncatedResponseError`. Uses
 * `getReader`, not async iteration of `ReadableStream`, which not every browser has.
 *
 * @module
 */

import { TruncatedResponseError } from "./errors.ts";

const EMPTY = new Uint8Array(0);

/**
 * The non-empty chunks of `body`. Leaving the loop early (or an error in it) cancels the body,
 * which ends the connection's transfer.
 */
export async function* chunksOf(
  body: ReadableStream<Uint8Array> | null,
  signal: AbortSignal | undefined,
): AsyncGenerator<Uint8Array, void, undefined> {
  if (body === null) return;
  const reader = body.getReader();
  try {
    while (true) {
      let r: ReadableStreamReadResult<Uint8Array>;
      try {
        r = await reader.read();
      } catch (e) {
        if (signal?.aborted) throw signal.reason;
        throw new TruncatedResponseError("the connection broke before the response ended", {
          cause: e,
        });
      }
      if (r.done) return;
      if (r.value.length > 0) yield r.value;
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}

/** Exact-length reads from a stream of chunks, holding at most one chunk beyond the request. */
export class ByteReader {
  readonly #chunks: AsyncGenerator<Uint8Array, void, undefined>;
  #buf: Uint8Array = EMPTY;
  /** Bytes taken so far, skipped ones included. */
  #position = 0;

  constructor(chunks: AsyncGenerator<Uint8Array, void, undefined>) {
    this.#chunks = chunks;
  }

  get position(): number {
    return this.#position;
  }

  /** Whether another byte can be read; false means the stream ended. */
  async #fill(): Promise<boolean> {
    while (this.#buf.length === 0) {
      const r = await this.#chunks.next();
      if (r.done) return false;
      this.#buf = r.value;
    }
    return true;
  }

  /** Exactly the next `n` bytes; `TruncatedResponseError` when the stream ends first. */
  async read(n: number): Promise<Uint8Array> {
    if (n === 0) return EMPTY;
    await this.#fill();
    if (this.#buf.length >= n) return this.#take(n);
    const out = new Uint8Array(n);
    let o = 0;
    while (o < n) {
      if (!(await this.#fill())) {
        throw new TruncatedResponseError(
          `the response ends after ${this.#position} bytes; ${this.#position - o + n} were due`,
        );
      }
      const part = this.#take(Math.min(n - o, this.#buf.length));
      out.set(part, o);
      o += part.length;
    }
    return out;
  }

  /** Reads and drops `n` bytes. */
  async skip(n: number): Promise<void> {
    let left = n;
    while (left > 0) {
      if (!(await this.#fill())) {
        throw new TruncatedResponseError(`the response ends after ${this.#position} bytes`);
      }
      left -= this.#take(Math.min(left, this.#buf.length)).length;
    }
  }

  /** Whether the stream has ended (no byte left). */
  async atEnd(): Promise<boolean> {
    return !(await this.#fill());
  }

  #take(n: number): Uint8Array {
    const part = this.#buf.subarray(0, n);
    this.#buf = this.#buf.subarray(n);
    this.#position += n;
    return part;
  }
}
