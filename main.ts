/** Entry point: reads the configuration, opens Deno KV, builds the app, serves. */
import { ConfigError, loadConfig } from "./src/config.ts";
import { Metrics } from "./src/metrics.ts";
import { BlobStore } from "./src/store/blob_store.ts";
import { claimGcTurn } from "./src/store/gc_turn.ts";
import { openKv, openReaders } from "./src/store/open_kv.ts";
import { verifyOn } from "./src/willow/keys.ts";
import { verifyPoolForThisMachine } from "./src/willow/verify_pool.ts";
import { createApp } from "./routes/app.ts";
import { stopGracefullyOnSignals } from "./src/http/graceful_stop.ts";

let config;
try {
  config = loadConfig(Deno.env.toObject());
} catch (e) {
  if (!(e instanceof ConfigError)) throw e;
  console.error(`configuration: ${e.message}`);
  Deno.exit(2);
}
for (const why of config.ignored) console.error(`configuration: ${why}`);

/** Runs a start-up step; a failure stops the gateway with one line naming the setting. */
async function starting<T>(setting: string, step: () => Promise<T> | T): Promise<T> {
  try {
    return await step();
  } catch (e) {
    console.error(`configuration: ${setting}: ${e instanceof Error ? e.message : e}`);
    Deno.exit(2);
  }
}

const kvSetting = `KV_PATH=${config.kvPath ?? "(the platform's KV)"}`;
const kv = await starting(kvSetting, () => openKv(config.kvPath));
const store = new BlobStore(kv, {
  uploadStaleMs: config.uploadStaleMs,
  cacheBytes: config.cacheBytes,
  readers: await starting(kvSetting, () => openReaders(config.kvPath)),
});
// Entry and capability signatures are verified on worker threads, off the thread that serves.
verifyOn(verifyPoolForThisMachine());
const metrics = new Metrics();
const app = createApp({ config, store, metrics, log: (line) => console.log(line) });

// Listening before collecting: a port in use or a bad HOSTNAME stops the gateway before it changes
// anything in the store.
const host = config.hostname.includes(":") ? `[${config.hostname}]` : config.hostname;
const server = await starting(`HOSTNAME=${config.hostname} PORT=${config.port}`, () =>
  Deno.serve(
    {
      port: config.port,
      hostname: config.hostname,
      onListen: ({ port }) =>
        console.log(
          JSON.stringify({ listening: `http://${host}:${port}`, kv: config.kvPath ?? "default" }),
        ),
    },
    (request, info) => app.fetch(request, info),
  ));
stopGracefullyOnSignals(server, {
  graceMs: config.shutdownGraceMs,
  log: (line) => console.log(line),
  exit: (code) => Deno.exit(code),
});

if (config.gcIntervalMs > 0) {
  // The next collection is timed from the end of the last: on a large store one can outlast the
  // interval, and overlapping walks would only compete for the KV. Instances on one KV take
  // turns, so a cold start or a restart does not walk the store again so soon.
  const collect = async () => {
    try {
      if (await claimGcTurn(kv, config.gcIntervalMs)) {
        const report = await store.gc();
        console.log(JSON.stringify({ time: new Date().toISOString(), gc: report }));
      }
    } catch (e) {
      console.error("gc failed:", e);
    }
    setTimeout(collect, config.gcIntervalMs);
  };
  collect();
}
