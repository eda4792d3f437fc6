/**
 * A pull reader over a byte stream, for the upload formats (tar, `multipart/form-data`): look
 * ahead as far as a header needs, consume, and hand out file bytes as views of what arrived.
 *
 * Only what a format must look at is ever held: a header, or the few bytes at the end of a piece
 * that might begin a multipart delimiter. File contents pass through as views of the pieces the
 * stream produced, so the producer must not reuse a piece's memory after yielding it (request
 * bodies do not).
 *
 * @module
 */

const EMPTY = new Uint8Array(0);

export class ByteReader {
  readonly #source: AsyncIterator<Uint8Array>;
  #buffer: Uint8Array = EMPTY;
  #offset = 0;
  #ended = false;

  constructor(source: AsyncIterable<Uint8Array>) {
    this.#source = source[Symbol.asyncIterator]();
  }

  /** Bytes read from the stream and not consumed yet (a view; consuming does not change it). */
  get buffered(): Uint8Array {
    return this.#buffer;
  }

  /** Stream offset of `buffered[0]`, for error messages. */
  get offset(): number {
    return this.#offset;
  }

  /** Bytes read from the stream so far. */
  get received(): number {
    return this.#offset + this.#buffer.length;
  }

  /**
   * Appends the stream's next non-empty piece to `buffered`; false at its end. A fresh buffer is
   * made when bytes remain, so views handed out earlier stay valid.
   */
  async pull(): Promise<boolean> {
    while (!this.#ended) {
      const r = await this.#source.next();
      if (r.done) this.#ended = true;
      else if (r.value.length > 0) {
        this.#buffer = this.#buffer.length === 0 ? r.value : concat(this.#buffer, r.value);
        return true;
      }
    }
    return false;
  }

  /** Buffers at least `n` bytes; false if the stream ends first. */
  async fill(n: number): Promise<boolean> {
    while (this.#buffer.length < n) if (!(await this.pull())) return false;
    return true;
  }

  /** The first `n` buffered bytes (a view), consumed. */
  take(n: number): Uint8Array {
    const out = this.#buffer.subarray(0, n);
    this.#buffer = this.#buffer.subarray(n);
    this.#offset += out.length;
    return out;
  }

  /**
   * The next `n` bytes of the stream as they arrive, consumed; `truncated` makes the error to
   * throw if the stream ends first.
   */
  async *stream(n: number, truncated: () => Error): AsyncGenerator<Uint8Array> {
    let left = n;
    while (left > 0) {
      if (this.#buffer.length === 0 && !(await this.pull())) throw truncated();
      const piece = this.take(Math.min(left, this.#buffer.length));
      left -= piece.length;
      yield piece;
    }
  }

  /** Consumes `n` bytes without keeping them. */
  async skip(n: number, truncated: () => Error): Promise<void> {
    for await (const _ of this.stream(n, truncated)) { /* dropped */ }
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
