/**
 * The values of any number of Deno KV keys, in key order (`null` where there is none). Deno KV's
 * `getMany` reads at most 10 keys a call, so the keys go in calls of 10, a few at a time: all at
 * once, one request reading thousands of keys (a discovery of a large hash sequence) queued
 * thousands of reads in front of every other request. Each call is a snapshot; the whole is not
 * (a caller that needs one checks a version key).
 *
 * @module
 */

/** Keys per `getMany` call, Deno KV's limit. */
const PER_CALL = 10;

/** `getMany` calls in flight at once for one caller. */
const IN_FLIGHT = 16;

export async function getValues<T>(
  kv: Deno.Kv,
  keys: readonly Deno.KvKey[],
): Promise<(T | null)[]> {
  const values = new Array<T | null>(keys.length);
  let next = 0;
  const caller = async () => {
    for (let i = next; i < keys.length; i = next) {
      next += PER_CALL;
      const entries = await kv.getMany<T[]>(keys.slice(i, i + PER_CALL));
      entries.forEach((e, k) => values[i + k] = e.value);
    }
  };
  const callers = Math.min(IN_FLIGHT, Math.ceil(keys.length / PER_CALL));
  await Promise.all(Array.from({ length: callers }, caller));
  return values;
}
