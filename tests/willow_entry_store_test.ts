/**
 * The entry store: prefix pruning in every case of the data model (equal paths, prefixes both
 * ways, the timestamp, digest and length tie-breaks, other subspaces), a randomised comparison
 * with an in-memory model of the join, concurrent writers, pruning over several commits, payload
 * pins, queries, and recovery after a crash.
 */
import { assert, assertEquals, assertRejects } from "./assert.ts";
import { seededRandom } from "./random.ts";
import { countingChecks } from "./kv_checks.ts";
import { openKv, openReaders } from "../src/store/open_kv.ts";
import { toHex } from "../src/blake3/hash.ts";
import { entriesEqual, type Entry, isNewer } from "../src/willow/entry.ts";
import { generateKeyPair, type SubspaceId } from "../src/willow/keys.ts";
import { isPrefixOf, pathFromStrings, pathOf } from "../src/willow/path.ts";
import { pathKey } from "../src/willow/path_key.ts";
import { timeRange } from "../src/willow/range.ts";
import {
  entryId,
  EntryStore,
  type IngestOutcome,
  payloadHolder,
} from "../src/willow/store/entry_store.ts";
import { UnstorablePathError } from "../src/willow/store/errors.ts";
import { HostedNamespaces } from "../src/willow/store/namespaces.ts";
import { BlobStore } from "../src/store/blob_store.ts";
import { blobPayloads, grantPayload } from "../src/willow/store/payloads.ts";
import { decodeSlot, keys, MAX_PATH_KEY } from "../src/willow/store/layout.ts";
import {
  authorised,
  digestStartingWith,
  entryOf,
  openStores,
  ownedWriter,
  type PayloadSpec,
  type Stores,
  type Writer,
} from "./willow_helpers.ts";

const td = new TextDecoder();

/** "subspace-tag/path@timestamp" of an entry, for readable comparisons. */
function label(e: Entry, tags: Map<string, string>): string {
  const path = e.path.map((c) => td.decode(c)).join("/");
  return `${tags.get(toHex(e.subspaceId)) ?? "?"}:${path}@${e.timestamp}`;
}

interface Fixture extends Stores {
  w: Writer;
  alfie: SubspaceId;
  betty: SubspaceId;
  tags: Map<string, string>;
  put(ss: SubspaceId, path: string, t: bigint, payload?: PayloadSpec): Promise<IngestOutcome>;
  /** Every stored entry, labelled, in store order. */
  all(): Promise<string[]>;
}

async function fixture(): Promise<Fixture> {
  const stores = await openStores();
  const w = await ownedWriter();
  const [alfie, betty] = [(await generateKeyPair()).publicKey, (await generateKeyPair()).publicKey];
  const tags = new Map([[toHex(alfie), "A"], [toHex(betty), "B"]]);
  return {
    ...stores,
    w,
    alfie,
    betty,
    tags,
    async put(ss, path, t, payload = "") {
      const parts = path === "" ? [] : path.split("/");
      return await stores.entries.ingest(await authorised(w, entryOf(w, ss, parts, t, payload)));
    },
    async all() {
      const page = await stores.entries.query(w.namespace.publicKey, { limit: 10_000 });
      return page.entries.map((s) => label(s.entry, tags));
    },
  };
}

async function withFixture(fn: (f: Fixture) => Promise<void>): Promise<void> {
  const f = await fixture();
  try {
    await fn(f);
  } finally {
    f.kv.close();
  }
}

const STORED = (pruned: number): IngestOutcome => ({ status: "stored", pruned });
const NEWER: IngestOutcome = { status: "obsolete", reason: "newer" };
const EQUAL: IngestOutcome = { status: "obsolete", reason: "equal" };

Deno.test("willow entry store: at one path the newer entry wins, an equal one is a duplicate", () =>
  withFixture(async (f) => {
    assertEquals(await f.put(f.alfie, "blog/a", 10n), STORED(0));
    assertEquals(await f.put(f.alfie, "blog/a", 10n), EQUAL);
    assertEquals(await f.put(f.alfie, "blog/a", 9n), NEWER);
    assertEquals(await f.put(f.alfie, "blog/a", 11n), STORED(1));
    assertEquals(await f.all(), ["A:blog/a@11"]);
  }));

Deno.test("willow entry store: a newer entry at a prefix prunes older ones below it, not newer ones", () =>
  withFixture(async (f) => {
    await f.put(f.alfie, "blog/a", 5n);
    await f.put(f.alfie, "blog/b/c", 7n);
    await f.put(f.alfie, "blog/z", 20n);
    await f.put(f.alfie, "blogger", 1n);
    assertEquals(await f.put(f.alfie, "blog", 10n), STORED(2));
    // `blogger` is not below `blog`: prefixes are by component.
    assertEquals(await f.all(), ["A:blog@10", "A:blog/z@20", "A:blogger@1"]);
  }));

Deno.test("willow entry store: an entry below a newer prefix entry is obsolete; an older prefix entry stays", () =>
  withFixture(async (f) => {
    await f.put(f.alfie, "blog", 10n);
    assertEquals(await f.put(f.alfie, "blog/a", 9n), NEWER);
    assertEquals(await f.put(f.alfie, "blog/a/b", 3n), NEWER);
    assertEquals(await f.put(f.alfie, "blog/a", 11n), STORED(0));
    assertEquals(await f.put(f.alfie, "", 1n), STORED(0), "an older root entry stays");
    assertEquals(await f.all(), ["A:@1", "A:blog@10", "A:blog/a@11"]);
  }));

Deno.test("willow entry store: equal timestamps are decided by digest, then by payload length", () =>
  withFixture(async (f) => {
    const d = (b: number, length = 3n) => ({ digest: digestStartingWith(b), length });
    await f.put(f.alfie, "x", 10n, d(5));
    assertEquals(await f.put(f.alfie, "x", 10n, d(4)), NEWER, "smaller digest loses");
    assertEquals(await f.put(f.alfie, "x", 10n, d(6)), STORED(1), "greater digest wins");
    assertEquals(await f.put(f.alfie, "x", 10n, d(6, 2n)), NEWER, "shorter payload loses");
    assertEquals(await f.put(f.alfie, "x", 10n, d(6, 4n)), STORED(1), "longer payload wins");
    // The same tie-breaks between a prefix and an extension.
    await f.put(f.alfie, "x/y", 10n, d(6, 3n));
    assertEquals(await f.all(), ["A:x@10"], "pruned by the longer payload at the prefix");
    assertEquals(await f.put(f.alfie, "x/y", 10n, d(7, 0n)), STORED(0), "greater digest survives");
    assertEquals(await f.put(f.alfie, "x", 10n, d(8, 0n)), STORED(2), "and falls to a greater one");
    assertEquals(await f.all(), ["A:x@10"]);
  }));

Deno.test("willow entry store: entries equal in the newer-than order coexist at prefix and extension", () =>
  withFixture(async (f) => {
    const same = { digest: digestStartingWith(1), length: 1n };
    assertEquals(await f.put(f.alfie, "a/b", 10n, same), STORED(0));
    assertEquals(await f.put(f.alfie, "a", 10n, same), STORED(0));
    assertEquals(await f.put(f.alfie, "a/b/c", 10n, same), STORED(0));
    assertEquals(await f.all(), ["A:a@10", "A:a/b@10", "A:a/b/c@10"]);
  }));

Deno.test("willow entry store: other subspaces and namespaces are untouched", () =>
  withFixture(async (f) => {
    await f.put(f.betty, "blog/a", 1n);
    await f.put(f.betty, "blog", 1n);
    await f.put(f.alfie, "blog/a", 1n);
    assertEquals(await f.put(f.alfie, "", 100n), STORED(1));
    const other = await ownedWriter();
    await f.entries.ingest(await authorised(other, entryOf(other, f.alfie, ["blog"], 1n)));
    const sorted = (await f.all()).sort();
    assertEquals(sorted, ["A:@100", "B:blog/a@1", "B:blog@1"].sort());
    const page = await f.entries.query(other.namespace.publicKey, { limit: 10 });
    assertEquals(page.entries.map((e) => label(e.entry, f.tags)), ["A:blog@1"]);
  }));

/**
 * The join of a set of entries, in closed form: an entry survives unless another entry of its
 * subspace at a prefix of its path is newer than it (data_model.tsx, "Stores"); duplicates count
 * once. Ingesting in any order must end in this state.
 */
function join(all: readonly Entry[], tags: Map<string, string>): string[] {
  const unique = new Map(all.map((e) => [label(e, tags) + toHex(entryId(e)), e]));
  const kept = [...unique.values()].filter((e) =>
    ![...unique.values()].some((f) =>
      toHex(f.subspaceId) === toHex(e.subspaceId) && isPrefixOf(f.path, e.path) && isNewer(f, e)
    )
  );
  return kept.map((e) => label(e, tags)).sort();
}

/** Random entries over a small space of paths, times and payloads, so that they collide. */
function randomEntries(f: Fixture, seed: number, n: number): Entry[] {
  const rand = seededRandom(seed);
  const names = ["a", "b", "ab"];
  const out: Entry[] = [];
  for (let i = 0; i < n; i++) {
    const depth = Math.floor(rand() * 4);
    const path = Array.from({ length: depth }, () => names[Math.floor(rand() * names.length)]);
    const ss = rand() < 0.8 ? f.alfie : f.betty;
    const payload = {
      digest: digestStartingWith(Math.floor(rand() * 3)),
      length: BigInt(Math.floor(rand() * 2)),
    };
    out.push(entryOf(f.w, ss, path, BigInt(Math.floor(rand() * 6)), payload));
  }
  return out;
}

/** The model's ingestion step: the outcome, and the state after it. */
function modelIngest(state: Entry[], e: Entry): { outcome: IngestOutcome; state: Entry[] } {
  const related = (f: Entry, g: Entry) =>
    toHex(f.subspaceId) === toHex(g.subspaceId) && isPrefixOf(f.path, g.path);
  if (state.some((f) => related(f, e) && entriesEqual(f, e))) return { outcome: EQUAL, state };
  if (state.some((f) => related(f, e) && isNewer(f, e))) return { outcome: NEWER, state };
  const kept = state.filter((g) => !(related(e, g) && isNewer(e, g)));
  return { outcome: STORED(state.length - kept.length), state: [...kept, e] };
}

function shuffled<T>(items: readonly T[], rand: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

Deno.test("willow entry store: random ingestion follows the model step by step and ends in the join", async () => {
  const seen = new Set<string>();
  for (let seed = 1; seed <= 5; seed++) {
    await withFixture(async (f) => {
      const entries = randomEntries(f, seed, 80);
      const signed = [];
      let state: Entry[] = [];
      for (const e of entries) {
        const a = await authorised(f.w, e);
        signed.push(a);
        const step = modelIngest(state, e);
        state = step.state;
        seen.add(
          step.outcome.status === "stored"
            ? `pruned ${Math.min(step.outcome.pruned, 2)}`
            : step.outcome.reason,
        );
        assertEquals(await f.entries.ingest(a), step.outcome, `seed ${seed}: ${label(e, f.tags)}`);
      }
      const expected = join(entries, f.tags);
      assertEquals(state.map((e) => label(e, f.tags)).sort(), expected, `seed ${seed}: model`);
      assertEquals((await f.all()).sort(), expected, `seed ${seed}: store`);
      // Any order, all at once, through two stores sharing one KV: the same join.
      const other = await openStores();
      try {
        const second = new EntryStore(other.kv, blobPayloads(other.blobs));
        const order = shuffled(signed, seededRandom(seed * 7919));
        await Promise.all(order.map((a, i) => (i % 2 ? second : other.entries).ingest(a)));
        const page = await other.entries.query(f.w.namespace.publicKey, { limit: 1000 });
        assertEquals(
          page.entries.map((s) => label(s.entry, f.tags)).sort(),
          expected,
          `seed ${seed}: concurrent`,
        );
      } finally {
        other.kv.close();
      }
      // The same on a file, each store reading on a second connection as the gateway does.
      const dir = await Deno.makeTempDir({ prefix: "entries-" });
      const kv = await openKv(`${dir}/kv`);
      const readers = await openReaders(`${dir}/kv`);
      try {
        const blobs = new BlobStore(kv, { unpinnedGraceMs: 0, readers });
        const [one, two] = [0, 1].map(() =>
          new EntryStore(kv, blobPayloads(blobs), { reader: blobs.reader() })
        );
        const order = shuffled(signed, seededRandom(seed * 104729));
        await Promise.all(order.map((a, i) => (i % 2 ? two : one).ingest(a)));
        const page = await one.query(f.w.namespace.publicKey, { limit: 1000 });
        assertEquals(
          page.entries.map((s) => label(s.entry, f.tags)).sort(),
          expected,
          `seed ${seed}: concurrent, reads on a second connection`,
        );
      } finally {
        for (const r of readers) r.close();
        kv.close();
        await Deno.remove(dir, { recursive: true });
      }
    });
  }
  assertEquals([...seen].sort(), ["equal", "newer", "pruned 0", "pruned 1", "pruned 2"]);
});

Deno.test("willow entry store: a batch over many subspaces commits within denokv's ten checks", async () => {
  // One version check per subspace: 150 subspaces in one batch went past even the local
  // file's 100 ("Too many checks"); a shared denokv allows 10.
  const kv = await Deno.openKv(":memory:");
  const counting = countingChecks(kv);
  try {
    const entries = new EntryStore(
      counting.kv,
      blobPayloads(new BlobStore(kv, { unpinnedGraceMs: 0 })),
    );
    const w = await ownedWriter();
    const subspaces = await Promise.all(
      Array.from({ length: 150 }, async () => (await generateKeyPair()).publicKey),
    );
    const signed = await Promise.all(
      subspaces.map((ss) => authorised(w, entryOf(w, ss, ["a"], 1n))),
    );
    const outcomes = await Promise.all(signed.map((a) => entries.ingest(a)));
    assertEquals(outcomes.filter((o) => o.status === "stored").length, 150);
    const page = await entries.query(w.namespace.publicKey, { limit: 1000 });
    assertEquals(page.entries.length, 150);
    assert(counting.most() <= 10, `a commit made ${counting.most()} checks`);
  } finally {
    kv.close();
  }
});

Deno.test("willow entry store: pruning more than one commit holds is finished over several", () =>
  withFixture(async (f) => {
    const many = 700;
    await Promise.all(
      Array.from({ length: many }, (_, i) => f.put(f.alfie, `big/${i}`, 1n)),
    );
    await f.put(f.alfie, "big/keep", 5n);
    assertEquals(await f.put(f.alfie, "big", 2n), STORED(many));
    assertEquals(await f.all(), ["A:big@2", "A:big/keep@5"]);
    const records = await Array.fromAsync(f.kv.list({ prefix: keys.allPrunings }));
    assertEquals(records.length, 0, "the pruning record is gone");
  }));

Deno.test("willow entry store: an unfinished pruning hides what it prunes; settle finishes it", () =>
  withFixture(async (f) => {
    for (let i = 0; i < 5; i++) await f.put(f.alfie, `dir/${i}`, BigInt(i));
    // As if a process died right after the first commit of a pruning by dir@3.
    const ns = f.w.namespace.publicKey;
    const by = entryOf(f.w, f.alfie, ["dir"], 3n);
    await f.kv.set(keys.pruning(ns, f.alfie, pathKey(by.path)), {
      t: by.timestamp,
      l: by.payloadLength,
      d: by.payloadDigest,
      at: 0,
    });
    assertEquals(await f.all(), ["A:dir/3@3", "A:dir/4@4"]);
    assertEquals(await f.entries.get(ns, f.alfie, pathFromStrings("dir", "1")), undefined);
    assertEquals(await f.entries.settle(), { unpinned: 0, prunings: 1 });
    assertEquals(await f.all(), ["A:dir/3@3", "A:dir/4@4"]);
    const left = await Array.fromAsync(f.kv.list({ prefix: keys.slots(ns) }));
    assertEquals(left.filter((e) => decodeSlot(e.value as Uint8Array).entry).length, 2);
  }));

/** Stores `text` as a blob without a pin of its own. */
async function blob(f: Fixture, text: string) {
  const { hash } = await f.blobs.import(ReadableStream.from([new TextEncoder().encode(text)]), {
    pin: null,
  });
  return hash;
}

Deno.test("willow entry store: entries pin their payloads, pruned and obsolete ones do not", () =>
  withFixture(async (f) => {
    const hello = await blob(f, "hello");
    const world = await blob(f, "world");
    const refs = async (h: typeof hello) => (await f.blobs.stat(h))?.refs;
    assertEquals(await f.put(f.alfie, "greeting", 1n, "hello"), STORED(0));
    assertEquals(await refs(hello), 1);
    assertEquals(await f.put(f.alfie, "greeting", 1n, "hello"), EQUAL);
    assertEquals(await refs(hello), 1, "a duplicate shares the stored entry's pin");
    assertEquals(await f.put(f.alfie, "greeting/old", 0n, "world"), NEWER);
    assertEquals(await refs(world), 0, "an obsolete entry pins nothing");
    assertEquals(await f.put(f.alfie, "greeting", 2n, "world"), STORED(1));
    assertEquals([await refs(hello), await refs(world)], [0, 1]);
    await f.blobs.gc();
    assertEquals(await f.blobs.stat(hello), undefined, "the pruned entry's payload was collected");
    assert(await f.blobs.stat(world) !== undefined);
    // An entry whose payload is absent is stored all the same.
    assertEquals(await f.put(f.alfie, "elsewhere", 1n, "not here"), STORED(0));
    const checks = await Array.fromAsync(f.kv.list({ prefix: keys.pinchecks }));
    assertEquals(checks.length, 0, "no pin is left to check");
  }));

Deno.test("willow entry store: settle releases pins of entries that never made it into the store", () =>
  withFixture(async (f) => {
    const hello = await blob(f, "hello");
    const ns = f.w.namespace.publicKey;
    // As if a process died between pinning for an entry and committing it.
    const lost = entryOf(f.w, f.alfie, ["lost"], 1n, "hello");
    const lostId = entryId(lost);
    await f.blobs.pin(hello, payloadHolder(ns, lostId));
    const check = { ss: f.alfie, key: pathKey(lost.path), d: hello, at: 0 };
    await f.kv.set(keys.pincheck(ns, lostId), check);
    // And one that did make it.
    assertEquals(await f.put(f.alfie, "kept", 1n, "hello"), STORED(0));
    const kept = entryOf(f.w, f.alfie, ["kept"], 1n, "hello");
    await f.kv.set(keys.pincheck(ns, entryId(kept)), { ...check, key: pathKey(kept.path) });
    assertEquals((await f.blobs.stat(hello))?.refs, 2);
    assertEquals(await f.entries.settle(Date.now()), { unpinned: 1, prunings: 0 });
    assertEquals((await f.blobs.stat(hello))?.refs, 1);
    assertEquals((await Array.fromAsync(f.kv.list({ prefix: keys.pinchecks }))).length, 0);
    // Fresh records belong to work in progress and are left alone.
    await f.kv.set(keys.pincheck(ns, lostId), { ...check, at: Date.now() });
    assertEquals(await f.entries.settle(), { unpinned: 0, prunings: 0 });
  }));

/** The `pincheck` record a process leaves when it dies between pinning and committing. */
async function staleRecord(f: Fixture, entry: Entry, digest: Uint8Array): Promise<void> {
  const record = { ss: entry.subspaceId, key: pathKey(entry.path), d: digest, at: 0 };
  await f.kv.set(keys.pincheck(f.w.namespace.publicKey, entryId(entry)), record);
}

Deno.test("willow entry store: settle leaves the pin of an entry that a retry stores meanwhile", () =>
  withFixture(async (f) => {
    const hello = await blob(f, "hello");
    const ns = f.w.namespace.publicKey;
    // An attempt that died after pinning, long ago, for an entry that is now sent again.
    const lost = entryOf(f.w, f.alfie, ["lost"], 1n, "hello");
    const holder = payloadHolder(ns, entryId(lost));
    await f.blobs.pin(hello, holder);
    await staleRecord(f, lost, hello);
    // Settle (another process, say) decides the entry is not stored; the retry stores it
    // just before settle lets go of the pin.
    const real = blobPayloads(f.blobs);
    const retry = async () => {
      assertEquals(await f.entries.ingest(await authorised(f.w, lost)), STORED(0));
    };
    const settler = new EntryStore(f.kv, {
      ...real,
      release: async (ref, h) => (await retry(), await real.release(ref, h)),
      unpinUnless: async (
        digest,
        h,
        unless,
      ) => (await retry(), await real.unpinUnless(digest, h, unless)),
    });
    await settler.settle(Date.now());
    assert(await f.entries.get(ns, f.alfie, lost.path) !== undefined, "stored");
    assertEquals((await f.blobs.stat(hello))?.refs, 1, "and still pinned by it");
    assertEquals(await real.sizes([{ hash: hello, entry: entryId(lost) }]), [5]);
  }));

Deno.test("willow entry store: settle leaves a record that a prune rewrote after settle read it", () =>
  withFixture(async (f) => {
    const hello = await blob(f, "hello");
    await blob(f, "world");
    // A stored entry with a stale record (a duplicate ingest that died between pin and commit).
    assertEquals(await f.put(f.alfie, "kept", 1n, "hello"), STORED(0));
    const kept = entryOf(f.w, f.alfie, ["kept"], 1n, "hello");
    await staleRecord(f, kept, hello);
    // Settle finds it stored; just before it forgets the record, a newer entry prunes it, in a
    // process that dies after its commit (which rewrote the record) and before the release.
    const real = blobPayloads(f.blobs);
    const dying = new EntryStore(f.kv, {
      ...real,
      release: () => Promise.reject(new Error("died")),
    });
    const newer = entryOf(f.w, f.alfie, ["kept"], 2n, "world");
    const prune = await authorised(f.w, newer);
    let pruned = false;
    const kv = new Proxy(f.kv, {
      get(target, property) {
        if (property !== "get") {
          const value = Reflect.get(target, property);
          return typeof value === "function" ? value.bind(target) : value;
        }
        return async (key: Deno.KvKey) => {
          const read = await target.get(key);
          if (key[1] === "slot" && !pruned) {
            pruned = true;
            await assertRejects(dying.ingest(prune), Error);
          }
          return read;
        };
      },
    });
    await new EntryStore(kv, real).settle(Date.now());
    assert(pruned, "the prune ran inside settle");
    // The record the prune wrote is still there: a later settle releases the pruned pin.
    assertEquals((await f.blobs.stat(hello))?.refs, 1);
    assertEquals(await f.entries.settle(Date.now() + 3_600_000), { unpinned: 1, prunings: 0 });
    assertEquals((await f.blobs.stat(hello))?.refs, 0);
    assertEquals(await f.all(), ["A:kept@2"]);
  }));

Deno.test("willow entry store: queries by subspace, prefix and time, in pages", () =>
  withFixture(async (f) => {
    for (
      const [path, t] of [["a/1", 1n], ["a/2", 2n], ["a/3", 3n], ["b/1", 4n], ["ab", 5n]] as const
    ) {
      await f.put(f.alfie, path, t);
    }
    await f.put(f.betty, "a/9", 9n);
    const ns = f.w.namespace.publicKey;
    const labels = (p: { entries: { entry: Entry }[] }) =>
      p.entries.map((e) => label(e.entry, f.tags));
    const a = await f.entries.query(ns, {
      subspace: f.alfie,
      prefix: pathFromStrings("a"),
      limit: 10,
    });
    assertEquals(labels(a), ["A:a/1@1", "A:a/2@2", "A:a/3@3"]);
    const anyA = await f.entries.query(ns, { prefix: pathFromStrings("a"), limit: 10 });
    assertEquals(labels(anyA).sort(), ["A:a/1@1", "A:a/2@2", "A:a/3@3", "B:a/9@9"]);
    const recent = await f.entries.query(ns, {
      subspace: f.alfie,
      times: timeRange(2n, 5n),
      limit: 10,
    });
    assertEquals(labels(recent), ["A:a/2@2", "A:a/3@3", "A:b/1@4"]);
    const pages: string[][] = [];
    let cursor: string | undefined;
    do {
      const page = await f.entries.query(ns, { subspace: f.alfie, limit: 2, cursor });
      pages.push(labels(page));
      cursor = page.cursor;
    } while (cursor !== undefined);
    assertEquals(pages.flat(), ["A:a/1@1", "A:a/2@2", "A:a/3@3", "A:ab@5", "A:b/1@4"]);
    assert(pages.length >= 3);
    // A page that ends exactly at the last entry hands out no cursor to an empty page.
    const exact = await f.entries.query(ns, { subspace: f.alfie, limit: 5 });
    assertEquals([exact.entries.length, exact.cursor], [5, undefined]);
    const short = await f.entries.query(ns, { subspace: f.alfie, limit: 4 });
    assert(short.cursor !== undefined);
    const after = await f.entries.query(ns, { subspace: f.alfie, limit: 4, cursor: short.cursor });
    assertEquals([labels(after), after.cursor], [["A:b/1@4"], undefined]);
    const got = await f.entries.get(ns, f.alfie, pathFromStrings("a", "2"));
    assertEquals(got && label(got.entry, f.tags), "A:a/2@2");
    assertEquals(await f.entries.get(ns, f.alfie, pathFromStrings("a")), undefined);
  }));

Deno.test("willow entry store: paths too long for a KV key are refused; the longest allowed fit", () =>
  withFixture(async (f) => {
    const zero = new Uint8Array(1);
    const tooLong = entryOf(f.w, f.alfie, [], 1n);
    const long = { ...tooLong, path: pathOf(Array.from({ length: 1000 }, () => zero.slice())) };
    await assertRejects(
      async () => await f.entries.ingest(await authorised(f.w, long)),
      UnstorablePathError,
    );
    // 626 components of one zero byte and one of "a": a path key of exactly MAX_PATH_KEY bytes,
    // in the longest key that holds one, with ids of zero bytes (which KV escapes).
    const limit = pathOf([
      ...Array.from({ length: 626 }, () => zero.slice()),
      new TextEncoder().encode("a"),
    ]);
    assertEquals(pathKey(limit).length, MAX_PATH_KEY);
    const ids = new Uint8Array(32);
    await f.kv.set(keys.pruning(ids, ids, pathKey(limit)), 1);
    const fits = { ...tooLong, path: limit };
    assertEquals(await f.entries.ingest(await authorised(f.w, fits)), STORED(0));
  }));

Deno.test("willow payloads: a restricted blob exists only for the entries granted that copy", async () => {
  const { kv, blobs } = await openStores();
  try {
    const payloads = blobPayloads(blobs);
    const bytes = new TextEncoder().encode("kept in private");
    const { hash } = await blobs.import(ReadableStream.from([bytes]), {
      pin: null,
      restricted: true,
    });
    const meta = (await blobs.stat(hash))!;
    const mine = new Uint8Array(32).fill(1), theirs = new Uint8Array(32).fill(2);
    await grantPayload(kv, hash, mine, meta);
    // A grant for another copy (collected since, and imported again) names other data.
    await grantPayload(kv, hash, theirs, { ...meta, dataId: "an earlier copy" });
    assertEquals(
      await payloads.sizes([{ hash, entry: mine }, { hash, entry: theirs }]),
      [bytes.length, undefined],
    );
    // Public, it is there for every entry.
    await blobs.import(ReadableStream.from([bytes]), { pin: null });
    assertEquals(await payloads.sizes([{ hash, entry: theirs }]), [bytes.length]);
  } finally {
    kv.close();
  }
});

Deno.test("hosted namespaces: a payload upload that outlasts GATEWAY_UPLOAD_STALE keeps its lease", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const blobs = new BlobStore(kv, { uploadStaleMs: 100, unpinnedGraceMs: 0 });
    const hosted = new HostedNamespaces(kv, blobs, { gatewaySecret: new Uint8Array(32).fill(7) });
    const { namespace, user } = await hosted.create("owned", true);
    const leases = async () => (await Array.fromAsync(kv.list({ prefix: ["lease"] }))).length;
    const seen: number[] = [];
    let piece = 0;
    // Pieces 60 ms apart, each followed by a GC: the upload keeps beating, and from the second
    // GC on, a lease nobody renewed would be past its 100 ms.
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (piece === 5) return controller.close();
        await new Promise((r) => setTimeout(r, 60));
        await blobs.gc();
        seen.push(await leases());
        controller.enqueue(new Uint8Array(1000).fill(piece++));
      },
    });
    const { outcome } = await hosted.write(namespace, user, pathFromStrings("slow"), {
      body,
      maxSize: 1 << 20,
    });
    assertEquals(outcome.status, "stored");
    assertEquals(seen, [1, 1, 1, 1, 1], "the lease lived through every GC of the upload");
    assertEquals(await leases(), 0, "and was released after");
  } finally {
    kv.close();
  }
});
