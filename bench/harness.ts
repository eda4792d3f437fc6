/**
 * A small benchmark harness: every figure is printed beside a baseline measured in the same run,
 * as a ratio against the target the issue names, so numbers from different machines or days
 * are never compared with each other.
 *
 * @module
 */

export interface Figure {
  name: string;
  value: number;
  unit: string;
  /** The same-run baseline this figure is compared with. */
  baseline?: { name: string; value: number };
  /** Minimum ratio to the baseline (or, without one, maximum value) that counts as met. */
  target?: number;
  /** For figures where lower is better (latency, memory). */
  lowerIsBetter?: boolean;
  note?: string;
}

/** Median of `runs` timings (seconds) of `fn`, after `warmup` untimed runs. */
export async function timeMedian(
  fn: () => unknown | Promise<unknown>,
  runs = 7,
  warmup = 2,
): Promise<number> {
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    times.push((performance.now() - t0) / 1000);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

/** Megabytes (10^6 bytes) per second. */
export function mbps(bytes: number, seconds: number): number {
  return bytes / seconds / 1e6;
}

function fmt(v: number): string {
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
}

/** Prints a titled table; returns whether every target was met. */
export function report(title: string, figures: Figure[]): boolean {
  console.log(`\n${title}`);
  let allMet = true;
  const width = Math.max(...figures.map((f) => f.name.length)) + 2;
  for (const f of figures) {
    let line = `  ${f.name.padEnd(width)}${fmt(f.value).padStart(9)} ${f.unit.padEnd(6)}`;
    if (f.baseline) {
      const ratio = f.lowerIsBetter ? f.baseline.value / f.value : f.value / f.baseline.value;
      line += `  ${ratio.toFixed(2)}× ${f.baseline.name}`;
      if (f.target !== undefined) {
        const met = ratio >= f.target;
        allMet &&= met;
        line += `  (target ≥ ${f.target.toFixed(2)}×: ${met ? "met" : "MISSED"})`;
      }
    } else if (f.target !== undefined) {
      const met = f.lowerIsBetter ? f.value <= f.target : f.value >= f.target;
      allMet &&= met;
      line += `  (target ${f.lowerIsBetter ? "≤" : "≥"} ${fmt(f.target)} ${f.unit}: ${
        met ? "met" : "MISSED"
      })`;
    }
    if (f.note) line += `  ${f.note}`;
    console.log(line);
  }
  return allMet;
}

/**
 * Peak resident memory (MB) of a child process, read from Linux's VmHWM while it runs; returns
 * the exit status too. `undefined` peak where /proc is not available.
 */
export async function runWithPeakRss(
  cmd: string,
  args: string[],
): Promise<{ code: number; peakMb: number | undefined; stderr: string }> {
  const child = new Deno.Command(cmd, { args, stdout: "null", stderr: "piped" }).spawn();
  let peak: number | undefined;
  const poll = setInterval(async () => {
    try {
      const status = await Deno.readTextFile(`/proc/${child.pid}/status`);
      const m = /VmHWM:\s+(\d+) kB/.exec(status);
      if (m) peak = Math.max(peak ?? 0, Number(m[1]) / 1024);
    } catch {
      // The process has exited between polls.
    }
  }, 20);
  const out = await child.output();
  clearInterval(poll);
  return { code: out.code, peakMb: peak, stderr: new TextDecoder().decode(out.stderr) };
}
