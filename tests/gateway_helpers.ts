/** Real gateways for tests: the real app on `Deno.serve` over loopback, real Deno KV. */
import { type Config, loadConfig } from "../src/config.ts";
import { Metrics } from "../src/metrics.ts";
import { BlobStore, type StoreTimings } from "../src/store/blob_store.ts";
import { createApp } from "../routes/app.ts";

export interface TestGateway {
  url: string;
  kv: Deno.Kv;
  store: BlobStore;
  metrics: Metrics;
  config: Config;
  close(): Promise<void>;
}

export interface GatewayOptions {
  env?: Record<string, string>;
  /** An existing KV to serve from (not closed by `close`). */
  kv?: Deno.Kv;
  timings?: Partial<StoreTimings>;
  hostname?: string;
  /** Where the request log goes (nowhere by default). */
  log?: (line: string) => void;
}

export async function startGateway(options: GatewayOptions = {}): Promise<TestGateway> {
  const config = loadConfig({ KV_PATH: ":memory:", GATEWAY_GC_INTERVAL: "0", ...options.env });
  const kv = options.kv ?? await Deno.openKv(":memory:");
  const store = new BlobStore(kv, {
    unpinnedGraceMs: 0,
    cacheBytes: config.cacheBytes,
    ...options.timings,
  });
  const metrics = new Metrics();
  const app = createApp({ config, store, metrics, log: options.log ?? (() => {}) });
  const hostname = options.hostname ?? "127.0.0.1";
  const server = Deno.serve(
    { port: 0, hostname, onListen: () => {} },
    (request, info) => app.fetch(request, info),
  );
  const host = hostname.includes(":") ? `[${hostname}]` : hostname;
  return {
    url: `http://${host}:${server.addr.port}`,
    kv,
    store,
    metrics,
    config,
    async close() {
      await server.shutdown();
      // Eviction runs behind writes: let it finish, and start no more, before its KV goes.
      await store.close();
      if (!options.kv) kv.close();
    },
  };
}

/** POSTs bytes as a blob; returns the parsed JSON and the status. */
export async function upload(
  url: string,
  data: Uint8Array<ArrayBuffer> | ReadableStream<Uint8Array>,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: { hash?: string; size?: number; error?: string } }> {
  const res = await fetch(`${url}/blobs`, { method: "POST", body: data, headers });
  return { status: res.status, body: await res.json() };
}

/** Reads a metric's value from `/metrics` text. */
export function metricValue(text: string, name: string, labels = ""): number {
  const line = text.split("\n").find((l) => l.startsWith(`${name}${labels} `));
  return line ? Number(line.split(" ").pop()) : 0;
}

/** Runs `fn` against a fresh gateway (configured by `env`), closed afterwards whatever happens. */
export async function withGateway(
  fn: (gw: TestGateway) => Promise<void>,
  env: Record<string, string> = {},
): Promise<void> {
  const gw = await startGateway({ env });
  try {
    await fn(gw);
  } finally {
    await gw.close();
  }
}
