/**
 * Peer bridge benchmark (issue 5): gateway B serving a 256 MiB blob that only A holds (so B
 * fetches it from A while it serves it), against the same GET straight from A, in the same run.
 * Each B starts with an empty store so that every run is a real miss.
 */
import { type Figure, report } from "./harness.ts";
import { spawnGateway } from "../tests/processes.ts";
import { cpuSeconds, median, randomFile, run } from "./processes.ts";

const SIZE = 256 << 20;
const RUNS = 3;

interface Timed {
  ttfbMs: number;
  mbps: number;
  /** Cores the gateways kept busy on average during the transfer (CPU seconds / wall seconds). */
  cores: number;
}

/**
 * curl's time to first byte (ms) and download speed (MB/s), and the CPU that the gateway
 * processes `pids` used meanwhile.
 */
async function timedGet(url: string, pids: number[]): Promise<Timed> {
  const cpu = async () => (await Promise.all(pids.map(cpuSeconds))).reduce((a, b) => a + b, 0);
  const cpu0 = await cpu(), t0 = performance.now();
  const out = await run("curl", [
    "-s",
    "-f",
    "-o",
    "/dev/null",
    "-w",
    "%{time_starttransfer} %{speed_download}",
    url,
  ]);
  const cores = (await cpu() - cpu0) / ((performance.now() - t0) / 1000);
  const [ttfb, speed] = out.trim().split(" ").map(Number);
  return { ttfbMs: ttfb * 1000, mbps: speed / 1e6, cores };
}

export async function peersBench(): Promise<boolean> {
  const dir = await Deno.makeTempDir({ prefix: "bench-peers-" });
  const file = `${dir}/blob.bin`;
  await randomFile(file, SIZE);
  const a = await spawnGateway(`${dir}/a.kv`);
  try {
    const up = JSON.parse(
      await run("curl", ["-s", "-f", "-X", "POST", "-T", file, `${a.url}/blobs`]),
    );
    const direct: Timed[] = [];
    const bridged: Timed[] = [];
    for (let i = 0; i < RUNS; i++) {
      direct.push(await timedGet(`${a.url}/blobs/${up.hash}`, [a.child.pid]));
      const b = await spawnGateway(`${dir}/b${i}.kv`, { GATEWAY_PEERS: a.url });
      try {
        bridged.push(await timedGet(`${b.url}/blobs/${up.hash}`, [a.child.pid, b.child.pid]));
      } finally {
        await b.stop();
      }
    }
    const aSpeed = median(direct.map((d) => d.mbps));
    const figures: Figure[] = [
      { name: "GET 256 MiB straight from A (baseline)", value: aSpeed, unit: "MB/s" },
      {
        name: "GET 256 MiB from B, fetched from A meanwhile",
        value: median(bridged.map((d) => d.mbps)),
        unit: "MB/s",
        baseline: { name: "A direct", value: aSpeed },
        target: 0.7,
      },
      {
        name: "cores busy in the gateways, A direct",
        value: median(direct.map((d) => d.cores)),
        unit: "cores",
        note: `of ${navigator.hardwareConcurrency} on this machine, curl not counted`,
      },
      {
        name: "cores busy in the gateways, A + B bridging",
        value: median(bridged.map((d) => d.cores)),
        unit: "cores",
      },
      {
        name: "time to first byte, A direct",
        value: median(direct.map((d) => d.ttfbMs)),
        unit: "ms",
      },
      {
        name: "time to first byte, B (miss: discovery + first fetch)",
        value: median(bridged.map((d) => d.ttfbMs)),
        unit: "ms",
      },
    ];
    return report(`peers: B bridging a 256 MiB blob from A, median of ${RUNS} cold runs`, figures);
  } finally {
    await a.stop();
    await Deno.remove(dir, { recursive: true });
  }
}
