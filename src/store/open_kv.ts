/**
 * Opening Deno KV wherever the gateway runs: a local SQLite file (its folder created on first
 * start), `:memory:`, a shared self-hosted `denokv` by its KV Connect URL (the access token in
 * `DENO_KV_ACCESS_TOKEN`), or the runtime's default database (Deno Deploy).
 *
 * @module
 */

import { retryingLocks } from "./lock_retry.ts";

export async function openKv(path: string | undefined): Promise<Deno.Kv> {
  if (path === undefined || path === ":memory:" || /^https?:\/\//.test(path)) {
    return await Deno.openKv(path);
  }
  const dir = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : ".";
  if (dir !== "") await Deno.mkdir(dir, { recursive: true });
  // A file other processes may write too (see `lock_retry.ts`).
  return retryingLocks(await Deno.openKv(path));
}

/** Extra read connections to a local KV file the gateway opens (one per core of a small machine). */
export const READ_CONNECTIONS = 2;

/**
 * Extra connections to a local database file, for reads: each has its own SQLite thread, so
 * page reads of concurrent requests run side by side, and reads do not queue behind commits on
 * the connection that writes. Remote and in-memory databases get none (a second `:memory:`
 * would be another, empty database).
 */
export async function openReaders(
  path: string | undefined,
  count = READ_CONNECTIONS,
): Promise<Deno.Kv[]> {
  if (path === undefined || path === ":memory:" || /^https?:\/\//.test(path)) return [];
  return await Promise.all(Array.from({ length: count }, () => Deno.openKv(path)));
}
