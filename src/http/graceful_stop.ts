/**
 * Stopping the way service managers ask a server to stop (systemd, Docker and Kubernetes send
 * SIGTERM, a terminal sends SIGINT): without it the runtime dies at once, and every download in
 * flight, however nearly done, is cut. Instead the listener closes (new connections are refused,
 * so a load balancer moves on), requests in flight finish, downloads included, and the process
 * exits. A client too slow to finish within the grace period is cut then, and a second signal
 * stops at once: an operator who presses Ctrl-C twice means it.
 *
 * The store needs nothing from this: every change is one atomic KV commit, and an upload cut here
 * is reclaimed like any other aborted one.
 *
 * @module
 */

export interface GracefulStopOptions {
  /** How long requests in flight may take to finish (ms; 0: exit at once). */
  readonly graceMs: number;
  /** One structured line per event. */
  readonly log: (line: string) => void;
  /** Ends the process. */
  readonly exit: (code: number) => void;
}

const SIGNALS: readonly Deno.Signal[] = ["SIGTERM", "SIGINT"];

/**
 * Installs the handlers. Where signals cannot be listened for (Deno Deploy stops isolates its
 * own way, Windows has no SIGTERM), that signal is left to the runtime.
 */
export function stopGracefullyOnSignals(
  server: Pick<Deno.HttpServer, "shutdown">,
  options: GracefulStopOptions,
): void {
  let stopping = false;
  const onSignal = (signal: Deno.Signal) => {
    if (stopping) {
      options.log(JSON.stringify({ stopping: signal, graceful: false }));
      return options.exit(1);
    }
    stopping = true;
    options.log(JSON.stringify({ stopping: signal, graceMs: options.graceMs }));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const expired = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), options.graceMs);
    });
    Promise.race([server.shutdown().then(() => true), expired]).then((finished) => {
      clearTimeout(timer);
      options.log(JSON.stringify({ stopped: signal, inFlightFinished: finished }));
      options.exit(0);
    });
  };
  for (const signal of SIGNALS) {
    try {
      Deno.addSignalListener(signal, () => onSignal(signal));
    } catch {
      // Not supported on this platform.
    }
  }
}
