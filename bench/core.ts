/**
 * Core benchmarks (issue 2): BLAKE3 root hash, k = 4 outboard, full-encoding verification, all
 * on one 64 MiB buffer against hash-wasm's BLAKE3 in the same run; and the peak memory of
 * `bao outboard` on a 1 GiB file.
 */
import { createBLAKE3 } from "hash-wasm";
import { hash } from "../src/blake3/tree.ts";
import { kernel } from "../src/blake3/kernel.ts";
import { BaoDecoder } from "../src/bao/decode.ts";
import { encodeRanges, memorySource, sizeHeader } from "../src/bao/encode.ts";
import { collect } from "../src/bytes.ts";
import { OutboardBuilder, outboardOf } from "../src/bao/outboard.ts";
import { ChunkRanges } from "../src/ranges/chunk_ranges.ts";
import { type Figure, mbps, report, runWithPeakRss, timeMedian } from "./harness.ts";

const SIZE = 64 * 1024 * 1024;

function buffer(size: number): Uint8Array {
  const data = new Uint8Array(size);
  for (let i = 0; i < size; i += 65536) crypto.getRandomValues(data.subarray(i, i + 65536));
  return data;
}

export async function coreBench(): Promise<boolean> {
  const data = buffer(SIZE);
  const reference = await createBLAKE3();
  const baseline = mbps(
    SIZE,
    await timeMedian(() => {
      reference.init();
      reference.update(data);
      reference.digest("binary");
    }),
  );
  const rootHash = mbps(SIZE, await timeMedian(() => hash(data)));
  const outboard = mbps(
    SIZE,
    await timeMedian(() => new OutboardBuilder(4).update(data).finalize()),
  );
  const ob = outboardOf(data, 4);
  const encoded = new Uint8Array([
    ...sizeHeader(SIZE),
    ...await collect(encodeRanges(memorySource(data, ob), ChunkRanges.ALL)),
  ]);
  // Fed in 64 KiB pieces, as a network stream would arrive.
  const verify = mbps(
    SIZE,
    await timeMedian(() => {
      const d = new BaoDecoder(ob.root, ChunkRanges.ALL, 4);
      for (let o = 0; o < encoded.length; o += 65536) d.push(encoded.subarray(o, o + 65536));
      d.finish();
    }),
  );
  const encode = mbps(
    SIZE,
    await timeMedian(async () => {
      for await (const _ of encodeRanges(memorySource(data, ob), ChunkRanges.ALL)) { /* drain */ }
    }),
  );
  const base = { name: "hash-wasm", value: baseline };
  const figures: Figure[] = [
    { name: "hash-wasm BLAKE3 (baseline)", value: baseline, unit: "MB/s" },
    {
      name: `root hash [${kernel().name}]`,
      value: rootHash,
      unit: "MB/s",
      baseline: base,
      target: 1.0,
    },
    { name: "k=4 outboard", value: outboard, unit: "MB/s", baseline: base, target: 0.9 },
    { name: "k=4 full verification", value: verify, unit: "MB/s", baseline: base, target: 0.9 },
    { name: "k=4 validated encoding", value: encode, unit: "MB/s", baseline: base },
  ];
  let ok = report("core: 64 MiB buffer, median of 7 runs", figures);

  const file = await Deno.makeTempFile({ prefix: "bench-1g-" });
  try {
    const f = await Deno.open(file, { write: true });
    const piece = buffer(16 * 1024 * 1024);
    for (let i = 0; i < 64; i++) await f.write(piece);
    f.close();
    const cli = new URL("../cli/bao.ts", import.meta.url).pathname;
    const t0 = performance.now();
    const run = await runWithPeakRss(Deno.execPath(), [
      "run",
      "-A",
      cli,
      "outboard",
      file,
      "/dev/null",
    ]);
    const seconds = (performance.now() - t0) / 1000;
    if (run.code !== 0) throw new Error(`bao outboard failed: ${run.stderr}`);
    ok = report("bao outboard on a 1 GiB file (whole process)", [
      { name: "throughput incl. start-up", value: mbps(2 ** 30, seconds), unit: "MB/s" },
      { name: "peak RSS", value: run.peakMb ?? NaN, unit: "MB", target: 100, lowerIsBetter: true },
    ]) && ok;
  } finally {
    await Deno.remove(file);
  }
  return ok;
}
