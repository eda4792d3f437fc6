/**
 * Scripts run as their own Deno processes on loopback, for the tests that need a real process
 * (a SIGKILL, two gateways on one KV file) and for the benchmarks, which drive servers from
 * outside so that the client's work is not counted against them.
 *
 * @module
 */

export interface ServerProcess {
  url: string;
  child: Deno.ChildProcess;
  /** SIGTERM, then waits for the exit; a process that is already gone is fine. */
  stop(): Promise<void>;
}

export interface ServerOptions {
  /** Arguments after the script, given the port it is to listen on. */
  args?: (port: number) => string[];
  /** Environment besides `PORT`. */
  env?: Record<string, string>;
  /** What answers once the server is up (any status counts: it is listening). */
  readyPath?: string;
}

/** How long a server may take to answer its first request. */
const START_TIMEOUT_MS = 10_000;

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/**
 * Runs `deno run -A script` with `PORT` set and the gateway's V8 settings (the `start` task in
 * deno.json, so servers compared in a benchmark run alike), and resolves once it answers. Throws
 * if it exits first or does not answer in time.
 */
export async function spawnServer(
  script: string,
  options: ServerOptions = {},
): Promise<ServerProcess> {
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--v8-flags=--max-semi-space-size=8",
      script,
      ...options.args?.(port) ?? [],
    ],
    env: { ...options.env, PORT: String(port) },
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  const url = `http://127.0.0.1:${port}`;
  const server: ServerProcess = {
    url,
    child,
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch { /* already gone */ }
      await child.status;
    },
  };
  let exited = false;
  child.status.then(() => exited = true);
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!exited && Date.now() < deadline) {
    try {
      const res = await fetch(`${url}${options.readyPath ?? "/"}`, { method: "HEAD" });
      await res.body?.cancel();
      return server;
    } catch {
      await new Promise((r) => setTimeout(r, 25));
    }
  }
  await server.stop();
  throw new Error(`${script} ${exited ? "exited" : "did not answer"} before it was ready`);
}

/**
 * The gateway (`main.ts`, as `deno task start` runs it) on the KV file at `kvPath`, with garbage
 * collection left to the caller (`POST /admin/gc`) unless `env` says otherwise.
 */
export function spawnGateway(
  kvPath: string,
  env: Record<string, string> = {},
): Promise<ServerProcess> {
  return spawnServer(new URL("../main.ts", import.meta.url).pathname, {
    env: { KV_PATH: kvPath, GATEWAY_GC_INTERVAL: "0", ...env },
    readyPath: "/health",
  });
}
