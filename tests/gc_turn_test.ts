/** Scheduled GC turns between instances sharing one KV file (two real connections, opened as the gateway opens them). */
import { assertEquals } from "./assert.ts";
import { claimGcTurn } from "../src/store/gc_turn.ts";
import { openKv } from "../src/store/open_kv.ts";

Deno.test("gc turns: one instance per interval runs the scheduled collection, whoever starts", async () => {
  const dir = await Deno.makeTempDir({ prefix: "gc-turn-" });
  const a = await openKv(`${dir}/kv`);
  const b = await openKv(`${dir}/kv`);
  try {
    const interval = 300_000;
    const t0 = 1_700_000_000_000;
    // Both start at once (a deploy, two cold isolates): one wins.
    const first = await Promise.all([claimGcTurn(a, interval, t0), claimGcTurn(b, interval, t0)]);
    assertEquals(first.filter(Boolean).length, 1);
    // A restart within the interval does not walk the store again; after it, one does.
    assertEquals(await claimGcTurn(b, interval, t0 + interval - 1), false);
    assertEquals(await claimGcTurn(a, interval, t0 + interval), true);
    assertEquals(await claimGcTurn(b, interval, t0 + interval + 10), false);
    // A clock set back (the last turn looks future-dated) does not stop collection for good.
    assertEquals(await claimGcTurn(b, interval, t0), true);
  } finally {
    a.close();
    b.close();
    await Deno.remove(dir, { recursive: true });
  }
});
