/** Configuration from the environment: documented defaults, and loud failures for typos. */
import { assert, assertEquals, assertThrows } from "./assert.ts";
import { ConfigError, DEFAULTS, loadConfig, parseByteSize } from "../src/config.ts";

Deno.test("config: the documented defaults", () => {
  const c = loadConfig({});
  assertEquals([c.port, c.hostname, c.kvPath], [8080, "127.0.0.1", "./data/gateway.kv"]);
  assertEquals([c.token, c.peers, c.maxUpload], [undefined, [], DEFAULTS.maxUpload]);
  assertEquals(c.cacheBytes, DEFAULTS.cacheBytes);
  assertEquals(c.shutdownGraceMs, 10_000);
});

Deno.test("config: values are parsed; Deno Deploy uses its own KV", () => {
  const c = loadConfig({
    PORT: "9000",
    GATEWAY_PEERS: " http://a:1/ , https://b ",
    GATEWAY_MAX_UPLOAD: "512MiB",
    GATEWAY_CACHE_BYTES: "2GB",
    GATEWAY_GC_INTERVAL: "0",
    GATEWAY_SHUTDOWN_GRACE: "0",
  });
  assertEquals([c.port, c.peers, c.maxUpload, c.cacheBytes], [
    9000,
    ["http://a:1", "https://b"],
    512 * 2 ** 20,
    2e9,
  ]);
  assertEquals([c.gcIntervalMs, c.shutdownGraceMs], [0, 0]);
  assertEquals(loadConfig({ DENO_DEPLOYMENT_ID: "x" }).kvPath, undefined);
  assertEquals(loadConfig({ KV_PATH: ":memory:" }).kvPath, ":memory:");
  assertEquals(loadConfig({ KV_PATH: " " }).kvPath, "./data/gateway.kv", "empty is unset");
  assertEquals(loadConfig({ DENO_DEPLOYMENT_ID: "x" }).kvPath, undefined, "Deploy's own KV");
  assertEquals(parseByteSize("1.5 KiB", "X"), 1536);
});

Deno.test("config: a bad value fails loudly, naming the variable", () => {
  for (
    const env of [
      { PORT: "80a" },
      { PORT: "70000" },
      { GATEWAY_PEERS: "ftp://x" },
      { GATEWAY_MAX_UPLOAD: "lots" },
      { GATEWAY_MAX_INFLIGHT: "0" },
      { GATEWAY_SHUTDOWN_GRACE: "-1" },
      { GATEWAY_SECRET_KEY: "abc" },
    ]
  ) {
    const e = assertThrows(() => loadConfig(env), ConfigError, JSON.stringify(env));
    assert(e.message.includes(Object.keys(env)[0]), e.message);
  }
});
