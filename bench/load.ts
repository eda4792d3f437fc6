/**
 * A load run (issue 3): 200 concurrent clients doing random range GETs on one gateway for 30 s.
 * Passes with zero errors and flat memory (resident memory sampled every second; the last
 * third may not exceed the middle third by more than 10 %).
 */
import { type Figure, report } from "./harness.ts";
import { spawnGateway } from "../tests/processes.ts";
import { randomFile, rssMb, run } from "./processes.ts";

const SIZE = 256 << 20;
const SECONDS = 30;
const here = (p: string) => new URL(p, import.meta.url).pathname;

export async function loadBench(): Promise<boolean> {
  const dir = await Deno.makeTempDir({ prefix: "bench-load-" });
  const file = `${dir}/blob.bin`;
  await randomFile(file, SIZE);
  const gateway = await spawnGateway(`${dir}/gateway.kv`, { GATEWAY_MAX_INFLIGHT: "4096" });
  try {
    const up = JSON.parse(
      await run("curl", ["-s", "-f", "-X", "POST", "-T", file, `${gateway.url}/blobs`]),
    );
    const samples: number[] = [];
    const sampler = setInterval(async () => samples.push(await rssMb(gateway.child.pid)), 1000);
    const out = await run(Deno.execPath(), [
      "run",
      "-A",
      here("./load_client.ts"),
      `${gateway.url}/blobs/${up.hash}`,
      String(SIZE),
      "200",
      String(SECONDS),
    ]);
    clearInterval(sampler);
    const result = JSON.parse(out);
    const third = Math.floor(samples.length / 3);
    const middle = Math.max(...samples.slice(third, 2 * third));
    const last = Math.max(...samples.slice(2 * third));
    const growth = (last / middle - 1) * 100;
    const figures: Figure[] = [
      { name: "requests/s (200 clients, 16 KiB random ranges)", value: result.rps, unit: "req/s" },
      { name: "p99 latency", value: result.p99, unit: "ms" },
      { name: "errors", value: result.errors, unit: "", target: 0, lowerIsBetter: true },
      { name: "RSS, middle third (max)", value: middle, unit: "MB" },
      { name: "RSS, last third (max)", value: last, unit: "MB" },
      {
        name: "RSS growth, last vs middle third",
        value: growth,
        unit: "%",
        target: 10,
        lowerIsBetter: true,
      },
    ];
    return report(`load: ${SECONDS} s, 200 concurrent clients on a 256 MiB blob`, figures);
  } finally {
    await gateway.stop();
    await Deno.remove(dir, { recursive: true });
  }
}
