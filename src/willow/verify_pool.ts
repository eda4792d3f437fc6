/**
 * Ed25519 verification on worker threads. Deno's WebCrypto verifies synchronously on the
 * calling thread (~45 µs a signature here), so a gateway ingesting entries spent over a third of
 * its main thread on signatures while storage waited (measured with a CPU profile of the Willow
 * benchmark). The pool gathers the verifications asked for in one turn of the event loop into
 * batches (one message each way per batch, not per signature) and spreads them over its workers.
 *
 * `keys.ts` sends its WebCrypto verifications here once a pool is installed (`verifyOn`); the
 * strict checks of Willow'25 stay there, so the answers do not change. Workers start with the
 * first verification (a gateway that only serves blobs never pays their memory), and a pool
 * whose workers cannot run (no `Worker` where the gateway is deployed, a worker that crashed)
 * fails with `VerifyPoolError`, on which `keys.ts` goes back to verifying on its own thread.
 *
 * @module
 */

/** The pool cannot verify (closed, or its workers could not start or died). */
export class VerifyPoolError extends Error {
  override name = "VerifyPoolError";
}

/** A batch sent to a worker: the i-th signature over the i-th message, by the i-th key. */
export interface VerifyBatch {
  readonly id: number;
  readonly publicKeys: Uint8Array<ArrayBuffer>[];
  readonly signatures: Uint8Array<ArrayBuffer>[];
  readonly messages: Uint8Array<ArrayBuffer>[];
}

/** A worker's answer for one signature. */
export const INVALID = 0, VALID = 1, UNANSWERED = 2;

/** A worker's answer: `valid[i]` is `VALID`, `INVALID` or `UNANSWERED` (WebCrypto threw). */
export interface VerifyResults {
  readonly id: number;
  readonly valid: Uint8Array;
}

interface Waiting {
  readonly publicKey: Uint8Array<ArrayBuffer>;
  readonly signature: Uint8Array<ArrayBuffer>;
  readonly message: Uint8Array<ArrayBuffer>;
  readonly resolve: (valid: boolean | undefined) => void;
  readonly reject: (e: unknown) => void;
}

/** Most signatures in one message to a worker. */
const BATCH = 256;

/** A copy whose buffer can be sent (and is not shared with the caller's larger buffer). */
function own(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return new Uint8Array(bytes) as Uint8Array<ArrayBuffer>;
}

export class VerifyPool {
  readonly #size: number;
  #workers: Worker[] | undefined;
  #next = 0;
  #batchId = 0;
  #queue: Waiting[] = [];
  #flushTimer: ReturnType<typeof setTimeout> | undefined;
  readonly #sent = new Map<number, Waiting[]>();
  #closed = false;

  /** A pool of `size` workers (at least one), started when first needed. */
  constructor(size: number) {
    this.#size = Math.max(1, size);
  }

  #start(): Worker[] {
    const url = new URL("./verify_worker.ts", import.meta.url);
    const workers: Worker[] = [];
    try {
      for (let i = 0; i < this.#size; i++) {
        const worker = new Worker(url, { type: "module" });
        worker.onmessage = (e: MessageEvent<VerifyResults>) => this.#settle(e.data);
        worker.onerror = (e) => {
          e.preventDefault();
          this.#fail(new VerifyPoolError(`a verification worker failed: ${e.message}`));
        };
        workers.push(worker);
      }
    } catch (e) {
      for (const w of workers) w.terminate();
      this.#closed = true;
      throw new VerifyPoolError(`verification workers cannot start here: ${e}`);
    }
    return workers;
  }

  /**
   * Whether `signature` is a valid Ed25519 signature of `message` by `publicKey`; `undefined`
   * when WebCrypto threw in the worker (the caller verifies that one itself, to see the same
   * exception); rejects with `VerifyPoolError` when the pool cannot answer at all.
   */
  verify(
    publicKey: Uint8Array,
    signature: Uint8Array,
    message: Uint8Array,
  ): Promise<boolean | undefined> {
    if (this.#closed) return Promise.reject(new VerifyPoolError("the pool is closed"));
    try {
      this.#workers ??= this.#start();
    } catch (e) {
      return Promise.reject(e);
    }
    return new Promise((resolve, reject) => {
      this.#queue.push({
        publicKey: own(publicKey),
        signature: own(signature),
        message: own(message),
        resolve,
        reject,
      });
      if (this.#queue.length >= BATCH) this.#flush();
      // Whatever else is asked for in this turn joins the batch.
      else this.#flushTimer ??= setTimeout(() => this.#flush(), 0);
    });
  }

  /** Stops the workers; verifications still waiting are rejected. */
  close(): void {
    this.#fail(new VerifyPoolError("the pool is closed"));
  }

  #flush(): void {
    clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0, BATCH);
      const id = this.#batchId++;
      this.#sent.set(id, batch);
      const workers = this.#workers!;
      const worker = workers[this.#next];
      this.#next = (this.#next + 1) % workers.length;
      worker.postMessage(
        {
          id,
          publicKeys: batch.map((w) => w.publicKey),
          signatures: batch.map((w) => w.signature),
          messages: batch.map((w) => w.message),
        } satisfies VerifyBatch,
      );
    }
  }

  #settle({ id, valid }: VerifyResults): void {
    const batch = this.#sent.get(id);
    if (batch === undefined) return;
    this.#sent.delete(id);
    batch.forEach((w, i) => w.resolve(valid[i] === UNANSWERED ? undefined : valid[i] === VALID));
  }

  #fail(error: VerifyPoolError): void {
    this.#closed = true;
    clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    for (const w of this.#workers ?? []) w.terminate();
    for (const batch of this.#sent.values()) for (const w of batch) w.reject(error);
    this.#sent.clear();
    for (const w of this.#queue.splice(0)) w.reject(error);
  }
}

/**
 * A pool with a worker per core beyond the first, or `undefined` on a single core (where a
 * worker would only compete with the thread it is meant to relieve).
 */
export function verifyPoolForThisMachine(): VerifyPool | undefined {
  const cores = navigator.hardwareConcurrency ?? 1;
  return cores > 1 ? new VerifyPool(cores - 1) : undefined;
}
