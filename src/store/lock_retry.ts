/**
 * Several processes on one local KV file (the local stand-in for instances sharing a `denokv`)
 * take turns at SQLite's write lock. A commit that checks versions reads before it writes, and
 * SQLite refuses that upgrade at once, with "database is locked", when another process wrote
 * meanwhile: no busy timeout waits it out. Without a retry, two busy instances failed uploads
 * and garbage collection with 500s. Nothing of a refused commit was written, so it is simply
 * tried again after a short random pause; a check it then fails is the caller's to handle, as
 * with any other writer.
 *
 * @module
 */

import { pause } from "./contention.ts";

/** How long one commit keeps trying before the error is the caller's. */
const RETRY_FOR_MS = 10_000;

function isLocked(e: unknown): boolean {
  return e instanceof Error && e.message.includes("database is locked");
}

/** `attempt()`, again after random pauses of up to 2^n ms (at most 100) while the file is locked. */
async function whileLocked<T>(attempt: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + RETRY_FOR_MS;
  for (let n = 0;; n++) {
    try {
      return await attempt();
    } catch (e) {
      if (!isLocked(e) || Date.now() > deadline) throw e;
      await pause(n);
    }
  }
}

/** `kv`, with its writes (`set`, `delete`, atomic commits) retried while the file is locked. */
export function retryingLocks(kv: Deno.Kv): Deno.Kv {
  const atomic = (): Deno.AtomicOperation => {
    const proxy: Deno.AtomicOperation = new Proxy(kv.atomic(), {
      get(target, prop) {
        if (prop === "commit") return () => whileLocked(() => target.commit());
        const value = Reflect.get(target, prop);
        if (typeof value !== "function") return value;
        // The builder methods return the operation itself: hand out the proxy instead.
        return (...args: unknown[]) => {
          const result = value.apply(target, args);
          return result === target ? proxy : result;
        };
      },
    });
    return proxy;
  };
  // Bound once: reads go through here on every page served.
  const methods = new Map<string | symbol, unknown>([["atomic", atomic]]);
  return new Proxy(kv, {
    get(target, prop) {
      const known = methods.get(prop);
      if (known !== undefined) return known;
      const value = Reflect.get(target, prop);
      if (typeof value !== "function") return value;
      const method = prop === "set" || prop === "delete"
        ? (...args: unknown[]) => whileLocked(() => value.apply(target, args))
        : value.bind(target);
      methods.set(prop, method);
      return method;
    },
  });
}
