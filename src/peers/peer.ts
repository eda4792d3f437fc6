/**
 * A peer gateway and what this gateway has seen of it: successes, failures by reason, latency.
 * A peer that keeps failing is rested for a while (exponential back-off) so that requests do
 * not wait on it, and is tried again afterwards: peers come back.
 *
 * @module
 */

/** How a request to a peer went wrong. */
export type FailureReason =
  | "unreachable"
  | "timeout"
  | "status"
  | "bad-data"
  | "truncated"
  | "protocol";

/** Longest rest after repeated failures. */
const MAX_BACKOFF_MS = 60_000;

export interface PeerStatus {
  url: string;
  healthy: boolean;
  successes: number;
  failures: number;
  failuresByReason: Partial<Record<FailureReason, number>>;
  consecutiveFailures: number;
  lastError?: { reason: FailureReason; detail: string; at: string };
  latencyMs?: number;
  bytesReceived: number;
  restingUntil?: string;
}

export class Peer {
  #successes = 0;
  #failures = 0;
  #consecutive = 0;
  #byReason: Partial<Record<FailureReason, number>> = {};
  #lastError: PeerStatus["lastError"];
  #latencyMs: number | undefined;
  #bytes = 0;
  #restUntil = 0;
  /** Every failure since the last success was "unreachable" (see `recordAnswer`). */
  #onlyUnreachable = true;

  constructor(readonly url: string) {}

  /** Whether the peer should be asked now (not resting after failures). */
  get available(): boolean {
    return Date.now() >= this.#restUntil;
  }

  get healthy(): boolean {
    return this.#consecutive === 0;
  }

  /** Lower is better: failing peers last, then by latency. */
  get rank(): number {
    return this.#consecutive * 1e6 + (this.#latencyMs ?? 1000);
  }

  recordSuccess(latencyMs: number, bytes = 0): void {
    this.#successes++;
    this.#onlyUnreachable = true;
    this.#consecutive = 0;
    this.#restUntil = 0;
    this.#bytes += bytes;
    // A smoothed latency: one slow answer does not reorder the peers.
    this.#latencyMs = this.#latencyMs === undefined
      ? latencyMs
      : 0.8 * this.#latencyMs + 0.2 * latencyMs;
  }

  /**
   * A well-formed answer that moved no data (discovery): a peer that was unreachable is back.
   * Nothing else is forgiven by it: a peer that answers discovery and then lies, stalls or
   * cuts its streams must still rest.
   */
  recordAnswer(): void {
    if (!this.#onlyUnreachable) return;
    this.#consecutive = 0;
    this.#restUntil = 0;
  }

  recordBytes(bytes: number): void {
    this.#bytes += bytes;
  }

  recordFailure(reason: FailureReason, detail: string): void {
    this.#failures++;
    this.#consecutive++;
    if (reason !== "unreachable") this.#onlyUnreachable = false;
    this.#byReason[reason] = (this.#byReason[reason] ?? 0) + 1;
    this.#lastError = { reason, detail, at: new Date().toISOString() };
    if (this.#consecutive >= 3) {
      this.#restUntil = Date.now() + Math.min(MAX_BACKOFF_MS, 1000 * 2 ** (this.#consecutive - 3));
    }
  }

  status(): PeerStatus {
    return {
      url: this.url,
      healthy: this.healthy,
      successes: this.#successes,
      failures: this.#failures,
      failuresByReason: { ...this.#byReason },
      consecutiveFailures: this.#consecutive,
      ...(this.#lastError ? { lastError: this.#lastError } : {}),
      ...(this.#latencyMs === undefined
        ? {}
        : { latencyMs: Math.round(this.#latencyMs * 10) / 10 }),
      bytesReceived: this.#bytes,
      ...(this.#restUntil > Date.now()
        ? { restingUntil: new Date(this.#restUntil).toISOString() }
        : {}),
    };
  }
}

/** The configured peers, best first. */
export class PeerSet {
  readonly peers: readonly Peer[];

  constructor(urls: readonly string[]) {
    this.peers = urls.map((u) => new Peer(u));
  }

  /** Peers to ask now, best first. */
  available(): Peer[] {
    return this.peers.filter((p) => p.available).sort((a, b) => a.rank - b.rank);
  }
}
