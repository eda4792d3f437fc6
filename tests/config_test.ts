/** Configuration from the environment: documented defaults, and loud failures for typos. */
import { assert, assertEquals, assertThrows } from "./assert.ts";
import { ConfigError, DEFAULTS, loadConfig, parseByteSize } from "../src/config.ts";

Deno.test("config: the documented defaults", () => {
  const c = loadConfig({});
  assertEquals([c.port, c.hostname, c.kvPath], [8080, "127.0.0.1", "./data/gateway.kv"]);
  assertEquals([c.token, c.peers, c.maxUpload], [undefined, [], DEFAULTS.maxUpload]);
  assertEquals(c.cacheBytes, DEFAULTS.cacheBytes);
  assertEquals(c.shutdownGraceMs, 10_000);
  assertEquals(c.ignored, []);
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
  assertEquals(parseByteSize("1.1 KB", "X"), 1100, "a fraction of a unit is rounded, not floored");
  assertEquals(loadConfig({ GATEWAY_GC_INTERVAL: "2147483" }).gcIntervalMs, 2_147_483_000);
  assertEquals(loadConfig({ KV_PATH: "https://kv.example/db" }).kvPath, "https://kv.example/db");
  assertEquals(loadConfig({ GATEWAY_PEERS: "http://a:1/gw/" }).peers, ["http://a:1/gw"]);
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
      { GATEWAY_GC_INTERVAL: "2147484" }, // past what a timer takes: it would fire at once
      { GATEWAY_MAX_UPLOAD: "1.9b" },
      { GATEWAY_PEERS: "http://a:1#main" },
      { GATEWAY_PEERS: "http://a:1/?x=1" },
      { GATEWAY_PEERS: "http://u:p@a:1" },
      { KV_PATH: "ftp://x/kv" },
      { GATEWAY_SECRET_KEY: "abc" },
    ]
  ) {
    const e = assertThrows(() => loadConfig(env), ConfigError, JSON.stringify(env));
    assert(e.message.includes(Object.keys(env)[0]), e.message);
  }
});

Deno.test("config: a HOSTNAME that is a name (Docker sets the container's) is ignored, and said so", () => {
  for (const address of ["0.0.0.0", "::", "::1", "192.168.1.20", "localhost"]) {
    const c = loadConfig({ HOSTNAME: address });
    assertEquals([c.hostname, c.ignored], [address, []]);
  }
  // As written in a URL: the address inside the brackets (it was logged as `[[::1]]`).
  assertEquals(loadConfig({ HOSTNAME: "[::1]" }).hostname, "::1");
  const c = loadConfig({ HOSTNAME: "3f4e5a6b7c8d" });
  assertEquals(c.hostname, "127.0.0.1");
  assertEquals(c.ignored.length, 1);
  assert(c.ignored[0].startsWith("HOSTNAME=3f4e5a6b7c8d is a name"), c.ignored[0]);
});
