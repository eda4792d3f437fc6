/**
 * A load generator in its own process (so it does not share the server's thread): `concurrency`
 * clients each issue random `Range: bytes=a-(a+len-1)` GETs, back to back, for `seconds`.
 * Prints one JSON line: requests, errors, requests/s, latency percentiles (ms).
 *
 * Usage: deno run -A bench/load_client.ts URL SIZE CONCURRENCY SECONDS [RANGE_LEN]
 */

const [url, sizeText, concurrencyText, secondsText, lenText = "16384"] = Deno.args;
const size = Number(sizeText), len = Number(lenText);
const deadline = performance.now() + Number(secondsText) * 1000;
const latencies: number[] = [];
let errors = 0;

async function client() {
  while (performance.now() < deadline) {
    const first = Math.floor(Math.random() * (size - len));
    const t0 = performance.now();
    try {
      const res = await fetch(url, { headers: { Range: `bytes=${first}-${first + len - 1}` } });
      const body = await res.arrayBuffer();
      if (res.status !== 206 || body.byteLength !== len) errors++;
      else latencies.push(performance.now() - t0);
    } catch {
      errors++;
    }
  }
}

const start = performance.now();
await Promise.all(Array.from({ length: Number(concurrencyText) }, client));
const seconds = (performance.now() - start) / 1000;
latencies.sort((a, b) => a - b);
const pct = (p: number) =>
  latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN;
console.log(JSON.stringify({
  requests: latencies.length,
  errors,
  rps: latencies.length / seconds,
  p50: pct(0.5),
  p99: pct(0.99),
}));
