/**
 * Whose turn it is to run the scheduled garbage collection. Every instance on one KV (several
 * processes on a shared `denokv`, Deno Deploy's isolates, which start cold and often) runs the
 * same timer; a full collection walks the whole store, so only the first to claim a turn in each
 * interval runs one, and a restart or a cold start does not run another that soon.
 *
 * @module
 */

import { keys } from "./layout.ts";

/**
 * Claims the collection due at `now` if none has started within `intervalMs` (by this instance
 * or another): true for the one caller that wins it, false for everyone else.
 */
export async function claimGcTurn(
  kv: Deno.Kv,
  intervalMs: number,
  now = Date.now(),
): Promise<boolean> {
  const last = await kv.get<number>(keys.gcTurn);
  // A clock set back far enough to make the last turn look future-dated must not stop GC.
  if (last.value !== null && now - last.value < intervalMs && last.value <= now) return false;
  const claimed = await kv.atomic().check(last).set(keys.gcTurn, now).commit();
  return claimed.ok;
}
