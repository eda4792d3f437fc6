/**
 * The values of any number of Deno KV keys, in key order (`null` where there is none). Deno KV's
 * `getMany` reads at most 10 keys a call, so the keys go in calls of 10, all sent at once. Each
 * call is a snapshot; the whole is not (a caller that needs one checks a version key).
 *
 * @module
 */

/** Keys per `getMany` call, Deno KV's limit. */
const PER_CALL = 10;

export async function getValues<T>(
  kv: Deno.Kv,
  keys: readonly Deno.KvKey[],
): Promise<(T | null)[]> {
  const calls: Promise<Deno.KvEntryMaybe<T>[]>[] = [];
  for (let i = 0; i < keys.length; i += PER_CALL) {
    calls.push(kv.getMany<T[]>(keys.slice(i, i + PER_CALL)));
  }
  return (await Promise.all(calls)).flat().map((e) => e.value);
}
