/**
 * Two connections to one KV file, as two gateway processes sharing it: commits that check
 * versions, made by both at once, fail with "database is locked" unless retried.
 */
import { assert, assertEquals } from "./assert.ts";
import { openKv } from "../src/store/open_kv.ts";

/** Checked commits, `writers` at a time, each bumping its own counter `rounds` times. */
async function bump(kv: Deno.Kv, name: string, writers: number, rounds: number) {
  let locked = 0;
  await Promise.all(Array.from({ length: writers }, async (_, w) => {
    for (let i = 0; i < rounds;) {
      const counter = await kv.get<number>(["counter", name, w]);
      try {
        const res = await kv.atomic().check(counter)
          .set(["counter", name, w], (counter.value ?? 0) + 1)
          .set(["page", name, w, i], new Uint8Array(16384))
          .commit();
        if (res.ok) i++;
      } catch (e) {
        if (!(e instanceof Error) || !e.message.includes("database is locked")) throw e;
        locked++;
        i++; // counted as lost
      }
    }
  }));
  return locked;
}

async function contend(open: (path: string) => Promise<Deno.Kv>) {
  const dir = await Deno.makeTempDir({ prefix: "kv-lock-" });
  const a = await open(`${dir}/shared.kv`);
  const b = await open(`${dir}/shared.kv`);
  try {
    const [lockedA, lockedB] = await Promise.all([bump(a, "a", 8, 40), bump(b, "b", 8, 40)]);
    const counters = await Promise.all(
      Array.from({ length: 8 }, (_, w) => a.get<number>(["counter", "a", w])),
    );
    return { locked: lockedA + lockedB, counted: counters.map((c) => c.value ?? 0) };
  } finally {
    a.close();
    b.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("lock retry: two connections to one KV file commit concurrently without losing any", async () => {
  const bare = await contend((path) => Deno.openKv(path));
  assert(bare.locked > 0, "without retries SQLite refuses some commits (else this proves nothing)");
  // As the gateway opens a KV file.
  const retried = await contend(openKv);
  assertEquals(retried.locked, 0);
  assertEquals(retried.counted, Array(8).fill(40));
});
