/**
 * Bounded concurrency for the many small store operations around a collection (a pin or a stat
 * per child): enough in flight to hide Deno KV's latency, never thousands at once.
 *
 * @module
 */

/** `fn` of every item, in order, with at most `limit` calls running at a time. */
export async function mapLimited<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
