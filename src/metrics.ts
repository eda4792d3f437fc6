/**
 * Counters and gauges in the Prometheus text exposition format (version 0.0.4), kept in
 * process: each gateway instance reports its own, as Prometheus expects to scrape each one.
 *
 * @module
 */

type Labels = Record<string, string>;

function labelText(labels: Labels): string {
  const parts = Object.entries(labels).map(([k, v]) =>
    `${k}="${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`
  );
  return parts.length > 0 ? `{${parts.join(",")}}` : "";
}

class Metric {
  readonly #values = new Map<string, number>();
  constructor(readonly name: string, readonly help: string, readonly type: "counter" | "gauge") {}

  add(value: number, labels: Labels = {}): void {
    const key = labelText(labels);
    this.#values.set(key, (this.#values.get(key) ?? 0) + value);
  }

  /** A gauge's value, as its owner counts it. */
  set(value: number, labels: Labels = {}): void {
    this.#values.set(labelText(labels), value);
  }

  get(labels: Labels = {}): number {
    return this.#values.get(labelText(labels)) ?? 0;
  }

  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} ${this.type}`];
    if (this.#values.size === 0 && this.type === "gauge") lines.push(`${this.name} 0`);
    for (const [labels, value] of this.#values) lines.push(`${this.name}${labels} ${value}`);
    return lines.join("\n");
  }
}

/** The gateway's metrics. */
export class Metrics {
  readonly requests = new Metric(
    "gateway_requests_total",
    "HTTP requests by route pattern, method and status.",
    "counter",
  );
  readonly bytesIn = new Metric(
    "gateway_received_bytes_total",
    "Request body bytes read, whatever became of the request.",
    "counter",
  );
  readonly bytesOut = new Metric(
    "gateway_sent_bytes_total",
    "Response body bytes sent.",
    "counter",
  );
  readonly verificationFailures = new Metric(
    "gateway_verification_failures_total",
    "Data or hashes that failed verification, by where they came from (store, peer).",
    "counter",
  );
  readonly inFlight = new Metric("gateway_requests_in_flight", "Requests being served.", "gauge");
  readonly peerFailures = new Metric(
    "gateway_peer_failures_total",
    "Failed requests to peer gateways, by peer and reason (timeout, bad-data, truncated, …).",
    "counter",
  );
  readonly peerBytes = new Metric(
    "gateway_peer_received_bytes_total",
    "Verified bytes received from each peer gateway.",
    "counter",
  );
  readonly peerUnstored = new Metric(
    "gateway_peer_unstored_bytes_total",
    "Verified peer bytes served but not kept, because storage was too far behind.",
    "counter",
  );
  readonly peerAnswers = new Metric(
    "gateway_peer_answers_remembered",
    "Peers' discovery answers about blobs, remembered for a while (expired ones are swept out).",
    "gauge",
  );
  readonly rejected = new Metric(
    "gateway_requests_rejected_total",
    "Requests turned away with 429 because too many were in flight.",
    "counter",
  );

  render(): string {
    const all = [
      this.requests,
      this.bytesIn,
      this.bytesOut,
      this.verificationFailures,
      this.inFlight,
      this.rejected,
      this.peerFailures,
      this.peerBytes,
      this.peerUnstored,
      this.peerAnswers,
    ];
    return all.map((m) => m.render()).join("\n") + "\n";
  }
}
