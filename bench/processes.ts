/**
 * Measurements of server processes (see `tests/processes.ts`) taken from outside: memory, curl
 * transfers, and the inputs they need.
 */

/** A process's resident memory in MB: the current value, or the peak so far (`VmHWM`). */
export async function rssMb(pid: number, peak = false): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const m = new RegExp(`${peak ? "VmHWM" : "VmRSS"}:\\s+(\\d+) kB`).exec(status);
  return m ? Number(m[1]) / 1024 : NaN;
}

/**
 * CPU time (user + system, seconds) a process has used so far, from `/proc/PID/stat` (fields 14
 * and 15, in clock ticks of 1/100 s on Linux).
 */
export async function cpuSeconds(pid: number): Promise<number> {
  const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
  // The command name (field 2) may hold spaces; the fields after its ")" are fixed.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Runs a command to completion and returns its stdout as text; throws on failure. */
export async function run(cmd: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
  return new TextDecoder().decode(out.stdout);
}

/** Transfer speed in MB/s of `curl` GETting `url` (body discarded) or POSTing `file` to it. */
export async function curlSpeed(url: string, upload?: string): Promise<number> {
  const args = upload
    ? ["-s", "-f", "-o", "/dev/null", "-w", "%{speed_upload}", "-X", "POST", "-T", upload, url]
    : ["-s", "-f", "-o", "/dev/null", "-w", "%{speed_download}", url];
  return Number(await run("curl", args)) / 1e6;
}

/** A file of `size` random bytes. */
export async function randomFile(path: string, size: number): Promise<void> {
  const f = await Deno.open(path, { write: true, create: true, truncate: true });
  const piece = new Uint8Array(1 << 20);
  for (let written = 0; written < size; written += piece.length) {
    for (let i = 0; i < piece.length; i += 65536) {
      crypto.getRandomValues(piece.subarray(i, i + 65536));
    }
    await f.write(piece.subarray(0, Math.min(piece.length, size - written)));
  }
  f.close();
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}
