/**
 * A lease kept alive while a long piece of work runs under it (a collection's files, a Willow
 * payload): garbage collection releases a lease whose renewals stop for `uploadStaleMs`, and an
 * upload may take longer than that.
 *
 * @module
 */

import type { Lease } from "./blob_store.ts";

/**
 * Renews `lease` every `intervalMs` until stopped; `check` throws if a renewal failed, and `stop`
 * waits for one in flight, so that it cannot bring the lease back after its release.
 */
export function keepAlive(lease: Lease, intervalMs: number) {
  let failure: unknown;
  let renewal: Promise<unknown> = Promise.resolve();
  const timer = setInterval(() => {
    renewal = lease.renew().catch((e) => failure ??= e);
  }, intervalMs);
  return {
    check() {
      if (failure !== undefined) throw failure;
    },
    async stop() {
      clearInterval(timer);
      await renewal;
    },
  };
}
