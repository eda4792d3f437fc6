/**
 * Writing a stream of bytes to Deno KV as fixed-size pages, in batched atomic commits that run
 * while the next bytes are hashed. Batches stay well under the 800 KiB / 1,000-mutation limits
 * of one commit, and at most `maxInFlight` commits are pending, which bounds memory.
 *
 * @module
 */

/** Bytes per atomic commit: 8 full pages, under the 819,200-byte payload limit with keys. */
const BATCH_BYTES = 8 * 65536;

export class PageWriter {
  readonly #kv: Deno.Kv;
  readonly #maxInFlight: number;
  #batch: [Deno.KvKey, Uint8Array][] = [];
  #batchBytes = 0;
  readonly #inFlight: Promise<unknown>[] = [];
  /**
   * Full-size page buffers whose commit has completed, to be filled again: a 1 GiB upload then
   * reuses a few dozen buffers instead of allocating sixteen thousand, which keeps the process's
   * memory from fragmenting.
   */
  readonly #free: Uint8Array[] = [];

  constructor(kv: Deno.Kv, maxInFlight = 2) {
    this.#kv = kv;
    this.#maxInFlight = maxInFlight;
  }

  /** A page buffer of `size` bytes to fill: a recycled one when there is one. */
  buffer(size: number): Uint8Array {
    const free = this.#free.pop();
    return free !== undefined && free.length === size ? free : new Uint8Array(size);
  }

  /** Queues `value` at `key`; waits only when too many commits are pending. */
  async put(key: Deno.KvKey, value: Uint8Array): Promise<void> {
    this.#batch.push([key, value]);
    this.#batchBytes += value.length + 64;
    if (this.#batchBytes >= BATCH_BYTES) await this.#commit();
  }

  /** Commits everything queued and waits for every pending commit. */
  async flush(): Promise<void> {
    if (this.#batch.length > 0) await this.#commit();
    while (this.#inFlight.length > 0) await this.#inFlight.shift();
  }

  async #commit(): Promise<void> {
    const op = this.#kv.atomic();
    for (const [key, value] of this.#batch) op.set(key, value);
    const values = this.#batch.map(([, v]) => v);
    this.#batch = [];
    this.#batchBytes = 0;
    // Once committed, KV holds its own copy: the buffers can take the next pages.
    this.#inFlight.push(
      op.commit().then((r) => {
        for (const v of values) {
          if (v.byteOffset === 0 && v.length === v.buffer.byteLength) this.#free.push(v);
        }
        return r;
      }),
    );
    while (this.#inFlight.length > this.#maxInFlight) await this.#inFlight.shift();
  }
}

/** Cuts a byte stream into pages of `pageSize`, handing each full page to `onPage`. */
export class PageAssembler {
  readonly #pageSize: number;
  readonly #onPage: (index: number, page: Uint8Array) => Promise<void>;
  readonly #allocate: (size: number) => Uint8Array;
  #page: Uint8Array;
  #fill = 0;
  #index = 0;

  /** `allocate` gives each new page buffer (a writer's recycled ones, say). */
  constructor(
    pageSize: number,
    onPage: (index: number, page: Uint8Array) => Promise<void>,
    allocate: (size: number) => Uint8Array = (size) => new Uint8Array(size),
  ) {
    this.#pageSize = pageSize;
    this.#onPage = onPage;
    this.#allocate = allocate;
    this.#page = allocate(pageSize);
  }

  /** Pages handed out so far. */
  get count(): number {
    return this.#index;
  }

  async write(bytes: Uint8Array): Promise<void> {
    let off = 0;
    while (off < bytes.length) {
      const n = Math.min(bytes.length - off, this.#pageSize - this.#fill);
      this.#page.set(bytes.subarray(off, off + n), this.#fill);
      this.#fill += n;
      off += n;
      if (this.#fill === this.#pageSize) await this.#emit();
    }
  }

  /** Emits the last, partial page (if any). */
  async close(): Promise<void> {
    if (this.#fill > 0) await this.#emit();
  }

  async #emit(): Promise<void> {
    const page = this.#fill === this.#pageSize ? this.#page : this.#page.slice(0, this.#fill);
    // Each page is its own buffer until its commit completes.
    this.#page = this.#allocate(this.#pageSize);
    this.#fill = 0;
    await this.#onPage(this.#index++, page);
  }
}
