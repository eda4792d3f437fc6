/**
 * Blob HTTP benchmarks (issue 3), the gateway and a plain `Deno.serve` file server each in its
 * own process, driven from outside (curl; a separate load-client process), in the same run:
 * full GET of a 1 GiB blob, random 16 KiB ranges over 16 connections, POST of 1 GiB, and the
 * gateway's peak memory through all of it. Random ranges are also served by a bare server doing
 * nothing but the KV reads (`kv_page_server.ts`), the ceiling that storage in Deno KV sets.
 */
import { type Figure, report } from "./harness.ts";
import { spawnGateway, spawnServer } from "../tests/processes.ts";
import { curlSpeed, median, randomFile, rssMb, run } from "./processes.ts";

const SIZE = 1 << 30;
const here = (p: string) => new URL(p, import.meta.url).pathname;

async function rangeLoad(url: string, seconds: number) {
  const out = await run(Deno.execPath(), [
    "run",
    "-A",
    here("./load_client.ts"),
    url,
    String(SIZE),
    "16",
    String(seconds),
  ]);
  return JSON.parse(out) as { requests: number; errors: number; rps: number; p99: number };
}

export async function httpBench(): Promise<boolean> {
  const dir = await Deno.makeTempDir({ prefix: "bench-http-" });
  const file = `${dir}/blob.bin`;
  await randomFile(file, SIZE);
  const files = await spawnServer(here("./file_server.ts"), {
    args: (port) => [file, String(port), dir],
  });
  const gateway = await spawnGateway(`${dir}/gateway.kv`, { GATEWAY_MAX_INFLIGHT: "4096" });
  try {
    const postBase = await curlSpeed(`${files.url}/`, file);
    const post = await curlSpeed(`${gateway.url}/blobs`, file);
    const hash = (await run(Deno.execPath(), ["run", "-A", here("../cli/bao.ts"), "hash", file]))
      .trim();
    const blobUrl = `${gateway.url}/blobs/${hash}`;
    const getBase: number[] = [], get: number[] = [];
    for (let i = 0; i < 3; i++) {
      getBase.push(await curlSpeed(`${files.url}/`));
      get.push(await curlSpeed(blobUrl));
    }
    const rangesBase = await rangeLoad(`${files.url}/`, 10);
    const ranges = await rangeLoad(blobUrl, 10);
    const kvPages = await spawnServer(here("./kv_page_server.ts"), {
      args: (port) => [`${dir}/gateway.kv`, hash, String(port)],
    });
    const rangesKv = await rangeLoad(kvPages.url, 10).finally(() => kvPages.stop());
    const peak = await rssMb(gateway.child.pid, true);
    const fileServer = "file server";
    const figures: Figure[] = [
      { name: "file server: GET 1 GiB (baseline)", value: median(getBase), unit: "MB/s" },
      {
        name: "gateway: GET 1 GiB, verified",
        value: median(get),
        unit: "MB/s",
        baseline: { name: fileServer, value: median(getBase) },
        target: 0.5,
      },
      {
        name: "file server: 16 KiB ranges × 16 conn (baseline)",
        value: rangesBase.rps,
        unit: "req/s",
      },
      {
        name: "gateway: 16 KiB ranges × 16 conn",
        value: ranges.rps,
        unit: "req/s",
        baseline: { name: fileServer, value: rangesBase.rps },
        target: 0.5,
        note: `p99 ${ranges.p99.toFixed(1)} ms (file server ${rangesBase.p99.toFixed(1)} ms), ` +
          `errors ${ranges.errors}`,
      },
      {
        name: "bare Deno.serve + 1 KV get per page (ceiling)",
        value: rangesKv.rps,
        unit: "req/s",
        baseline: { name: fileServer, value: rangesBase.rps },
        note: "what Deno KV point reads alone allow; the gateway's range figure cannot pass it",
      },
      { name: "file server: POST 1 GiB to disk (baseline)", value: postBase, unit: "MB/s" },
      {
        name: "gateway: POST 1 GiB (hash + outboard + KV)",
        value: post,
        unit: "MB/s",
        baseline: { name: fileServer, value: postBase },
      },
      {
        name: "gateway peak RSS (upload + downloads + ranges)",
        value: peak,
        unit: "MB",
        target: 200,
        lowerIsBetter: true,
      },
    ];
    return report("http: gateway vs plain Deno.serve file server, separate processes", figures) &&
      ranges.errors === 0;
  } finally {
    await gateway.stop();
    await files.stop();
    await Deno.remove(dir, { recursive: true });
  }
}
