/** The blob store on a real Deno KV (in memory): import, dedupe, pins, verified reads, GC. */
import { assert, assertEquals, assertRejects } from "./assert.ts";
import { toHex } from "../src/blake3/hash.ts";
import { hash } from "../src/blake3/tree.ts";
import { encodeRanges, memorySource } from "../src/bao/encode.ts";
import { collect } from "../src/bytes.ts";
import { BaoError, HashMismatchError } from "../src/bao/errors.ts";
import { outboardOf } from "../src/bao/outboard.ts";
import { readVerifiedExact } from "../src/bao/read.ts";
import { ChunkRanges } from "../src/ranges/chunk_ranges.ts";
import { blobHolder, BlobStore, USER_PIN } from "../src/store/blob_store.ts";
import {
  BlobNotFoundError,
  UploadReclaimedError,
  UploadTooLargeError,
} from "../src/store/errors.ts";
import { keys } from "../src/store/layout.ts";
import { concat } from "./bao_helpers.ts";
import { randomBytes, randomInt, seededRandom } from "./random.ts";

/** Yields `data` in random pieces, like a network body. */
async function* pieces(data: Uint8Array, seed = 1): AsyncGenerator<Uint8Array> {
  const rand = seededRandom(seed);
  for (let o = 0; o < data.length;) {
    const n = randomInt(rand, 1, 100_000);
    yield data.slice(o, o + n);
    o += n;
  }
}

async function countKeys(kv: Deno.Kv, prefix: Deno.KvKey): Promise<number> {
  let n = 0;
  for await (const _ of kv.list({ prefix })) n++;
  return n;
}

async function withStore(fn: (store: BlobStore, kv: Deno.Kv) => Promise<void>) {
  const kv = await Deno.openKv(":memory:");
  try {
    await fn(new BlobStore(kv, { unpinnedGraceMs: 0 }), kv);
  } finally {
    kv.close();
  }
}

async function readAll(store: BlobStore, h: Uint8Array, start = 0, end?: number) {
  const source = (await store.open(h as never))!;
  return concat(await Array.fromAsync(readVerifiedExact(source, start, end ?? source.tree.size)));
}

Deno.test("store: imports of every edge size read back verified, and encode like memory", async () => {
  await withStore(async (store) => {
    const rand = seededRandom(3);
    for (const size of [0, 1, 16383, 16384, 16385, 65536, 65537, (1 << 20) + 7, 3 << 20]) {
      const data = randomBytes(size, rand);
      const result = await store.import(pieces(data, size));
      assertEquals([toHex(result.hash), result.size, result.created], [
        toHex(hash(data)),
        size,
        true,
      ]);
      assertEquals(await readAll(store, result.hash), data, `size ${size}`);
      const source = (await store.open(result.hash))!;
      const ranges = ChunkRanges.parse("1..3,17..40,70..");
      const expected = await collect(encodeRanges(memorySource(data, outboardOf(data)), ranges));
      assertEquals(await collect(encodeRanges(source, ranges)), expected, `encode ${size}`);
      for (let i = 0; i < 5 && size > 0; i++) {
        const a = randomInt(rand, 0, size - 1);
        const b = randomInt(rand, a + 1, size);
        assertEquals(await readAll(store, result.hash, a, b), data.subarray(a, b), `${a}-${b}`);
      }
    }
  });
});

Deno.test("store: the same blob twice is stored once; the second copy's pages are dropped", async () => {
  await withStore(async (store, kv) => {
    const data = randomBytes(300_000, seededRandom(4));
    const first = await store.import(pieces(data, 1));
    const pagesAfterFirst = await countKeys(kv, ["data"]);
    const second = await store.import(pieces(data, 2), { pin: "other" });
    assertEquals([second.created, toHex(second.hash)], [false, toHex(first.hash)]);
    assertEquals(await countKeys(kv, ["data"]), pagesAfterFirst);
    assertEquals(await countKeys(kv, ["upload"]), 0);
    assertEquals((await store.stat(first.hash))!.refs, 2);
  });
});

Deno.test("store: an aborted or oversized upload leaves nothing visible and no pages", async () => {
  await withStore(async (store, kv) => {
    const data = randomBytes(500_000, seededRandom(5));
    async function* failing() {
      yield data.subarray(0, 200_000);
      yield data.subarray(200_000, 400_000);
      throw new Error("client went away");
    }
    await assertRejects(store.import(failing()), Error);
    await assertRejects(store.import(pieces(data), { maxSize: 100_000 }), UploadTooLargeError);
    assertEquals(await store.stat(hash(data)), undefined);
    for (const prefix of [["data"], ["ob"], ["upload"], ["blob"], ["pin"]]) {
      assertEquals(await countKeys(kv, prefix), 0, `${prefix}`);
    }
  });
});

Deno.test("store: pins count holders; unpinned blobs and their pages are collected", async () => {
  await withStore(async (store, kv) => {
    const data = randomBytes(200_000, seededRandom(6));
    const { hash: h } = await store.import(pieces(data));
    assert(await store.pin(h, "collection:x"));
    assert(await store.pin(h, "collection:x"), "pinning twice is idempotent");
    assertEquals((await store.stat(h))!.refs, 2);
    assert(await store.unpin(h, USER_PIN));
    assert(!(await store.unpin(h, USER_PIN)), "already released");
    assertEquals((await store.gc()).blobs, 0, "still pinned by the collection");
    assert(await store.unpin(h, "collection:x"));
    const report = await store.gc();
    assertEquals(report.blobs, 1);
    assertEquals(await store.stat(h), undefined);
    for (const prefix of [["data"], ["ob"], ["trash"], ["blob"]]) {
      assertEquals(await countKeys(kv, prefix), 0, `${prefix}`);
    }
    assert(!(await store.pin(h, "late")), "a collected blob cannot be pinned");
  });
});

Deno.test("store: many holders pinning and releasing one blob at once all succeed", async () => {
  // 40 collections sharing a file: retried at once, the pins collided in step until some ran out
  // of attempts ("too much contention", a 500).
  const dir = await Deno.makeTempDir({ prefix: "pins-" });
  const kv = await Deno.openKv(`${dir}/kv`);
  try {
    const store = new BlobStore(kv, { unpinnedGraceMs: 0 });
    const { hash: h } = await store.import(pieces(randomBytes(5000, seededRandom(30))));
    const holders = Array.from({ length: 40 }, (_, i) => `collection:${i}`);
    assertEquals(await Promise.all(holders.map((x) => store.pin(h, x))), holders.map(() => true));
    assertEquals((await store.stat(h))!.refs, 41);
    assertEquals(await Promise.all(holders.map((x) => store.unpin(h, x))), holders.map(() => true));
    assertEquals((await store.stat(h))!.refs, 1);
    assertEquals(await countKeys(kv, ["pin", h]), 1);
  } finally {
    kv.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("store: GC reclaims pages of an upload whose process died, and keeps live ones", async () => {
  await withStore(async (store, kv) => {
    // What a killed import leaves: pages, an upload record with an old heartbeat.
    const old = Date.now() - store.timings.uploadStaleMs - 1000;
    await kv.set(keys.upload("dead"), { startedAt: old, updatedAt: old, dataPages: 2, obPages: 0 });
    for (let i = 0; i < 5; i++) await kv.set(keys.dataPage("dead", i), new Uint8Array(65536));
    await kv.set(keys.obPage("dead", 0), new Uint8Array(64));
    await kv.set(keys.upload("live"), {
      startedAt: Date.now(),
      updatedAt: Date.now(),
      dataPages: 1,
      obPages: 0,
    });
    await kv.set(keys.dataPage("live", 0), new Uint8Array(10));
    const report = await store.gc();
    assertEquals(report.uploads, 1);
    assertEquals(await countKeys(kv, ["data", "dead"]), 0, "pages past the recorded count too");
    assertEquals(await countKeys(kv, ["ob", "dead"]), 0);
    assertEquals(await countKeys(kv, ["data", "live"]), 1);
  });
});

Deno.test("store: an upload stalled past the stale limit and reclaimed fails; nothing is kept", async () => {
  for (const heartbeatMs of [0, 1e9]) {
    await withStore(async (_, kv) => {
      // With every piece a heartbeat, the next one finds the record gone; with none, the commit.
      const store = new BlobStore(kv, { heartbeatMs });
      const data = randomBytes(300_000, seededRandom(21));
      async function* stalling() {
        yield data.subarray(0, 200_000);
        // The client stalls: collection, later than the stale limit, presumes the upload dead.
        const report = await store.gc(Date.now() + store.timings.uploadStaleMs + 1000);
        assertEquals(report.uploads, 1, `heartbeat ${heartbeatMs}`);
        await new Promise((r) => setTimeout(r, 5));
        yield data.subarray(200_000);
      }
      await assertRejects(store.import(stalling()), UploadReclaimedError);
      assertEquals(await store.stat(hash(data)), undefined, "no blob over reclaimed pages");
      await store.gc();
      for (const prefix of [["data"], ["ob"], ["upload"]]) {
        assertEquals(await countKeys(kv, prefix), 0, `${prefix}`);
      }
      // Sent again, it is stored, and reads back verified.
      const again = await store.import(pieces(data));
      assertEquals([again.created, toHex(again.hash)], [true, toHex(hash(data))]);
      assertEquals(await readAll(store, again.hash), data);
    });
  }
});

Deno.test("store: an upload resuming while collection reclaims it either fails or is whole", async () => {
  await withStore(async (_, kv) => {
    const store = new BlobStore(kv, { heartbeatMs: 0 });
    const data = randomBytes(600_000, seededRandom(28));
    let failed = 0;
    for (let round = 0; round < 30; round++) {
      let resume!: () => void;
      const resumed = new Promise<void>((r) => resume = r);
      let stalled!: () => void;
      const reached = new Promise<void>((r) => stalled = r);
      const body = async function* () {
        yield data.subarray(0, 400_000);
        stalled();
        await resumed;
        yield data.subarray(400_000);
      };
      const importing = store.import(body());
      await reached;
      // Collection (later than the stale limit) and the client's next bytes, interleaved.
      const collecting = store.gc(Date.now() + store.timings.uploadStaleMs + 1000);
      for (let i = 0; i < round % 6; i++) await Promise.resolve();
      resume();
      const outcome = await importing.catch((e) => e);
      await collecting;
      if (outcome instanceof UploadReclaimedError) failed++;
      else {
        assertEquals(await readAll(store, outcome.hash), data, `round ${round}`);
        await store.unpin(outcome.hash, USER_PIN);
      }
      await store.gc(Date.now() + 3_600_000);
    }
    assert(failed > 0, "collection reclaimed some of the uploads");
  });
});

Deno.test("store: uploads beat several times within the stale limit, however short", async () => {
  await withStore((_, kv) => {
    assertEquals(new BlobStore(kv, { uploadStaleMs: 3000 }).timings.heartbeatMs, 750);
    assertEquals(new BlobStore(kv).timings.heartbeatMs, 5000);
    assertEquals(
      new BlobStore(kv, { uploadStaleMs: 3000, heartbeatMs: 10 }).timings.heartbeatMs,
      10,
    );
    return Promise.resolve();
  });
});

Deno.test("store: a re-upload that races collection keeps a copy of what it answered for", async () => {
  await withStore(async (store) => {
    const data = randomBytes(70_000, seededRandom(22));
    for (let round = 0; round < 60; round++) {
      await store.import(pieces(data), { pin: null });
      const [upload] = await Promise.all([store.import(pieces(data)), store.gc()]);
      const meta = await store.stat(upload.hash);
      assert(meta !== undefined && meta.refs === 1, `round ${round}: ${JSON.stringify(meta)}`);
      assertEquals(await readAll(store, upload.hash), data);
      assert(await store.unpin(upload.hash, USER_PIN));
      await store.gc();
    }
  });
});

Deno.test("store: a blob collected under a reader's metadata is not found, not corrupted", async () => {
  await withStore(async (store) => {
    const data = randomBytes(200_000, seededRandom(24));
    const { hash: h } = await store.import(pieces(data), { pin: null });
    // Metadata read for serving, then the blob collected (by another instance, say).
    const meta = (await store.readMeta(h))!;
    assertEquals((await store.gc()).blobs, 1);
    const read = collect(readVerifiedExact(store.source(h, meta), 0, data.length));
    await assertRejects(read, BlobNotFoundError);
    // Stored again meanwhile (another copy, another data id): read from there.
    await store.import(pieces(data), { pin: null });
    const again = await collect(readVerifiedExact(store.source(h, meta), 0, data.length));
    assertEquals(again, data);
  });
});

Deno.test("store: a page value that is not bytes reads as missing storage, a verification failure", async () => {
  await withStore(async (store, kv) => {
    const data = randomBytes(3 * 65536, seededRandom(25));
    const { hash: h } = await store.import(pieces(data));
    const meta = (await store.stat(h))!;
    for (const key of [keys.dataPage(meta.dataId, 1), keys.obPage(meta.dataId, 0)]) {
      const kept = (await kv.get(key)).value;
      await kv.set(key, "hello");
      // A fresh store each time: outboard pages once read are cached.
      await assertRejects(readAll(new BlobStore(kv), h), BaoError, `${key}`);
      await kv.set(key, kept);
    }
    assertEquals(await readAll(new BlobStore(kv), h), data);
  });
});

Deno.test("store: a damaged metadata record costs its blob, not every collection run", async () => {
  await withStore(async (store, kv) => {
    const data = randomBytes(1000, seededRandom(26));
    const { hash: h } = await store.import(pieces(data), { pin: null });
    await kv.set(keys.blob(hash(new Uint8Array([1]))), "garbage");
    const report = await store.gc();
    assertEquals([report.blobs, report.malformed], [1, 1]);
    assertEquals(await store.stat(h), undefined, "the sound blob was collected");
  });
});

Deno.test("store: a flipped bit in a data or outboard page is caught; other ranges still read", async () => {
  await withStore(async (store, kv) => {
    const data = randomBytes(5 * 65536 + 1000, seededRandom(8));
    const { hash: h } = await store.import(pieces(data));
    const meta = (await store.stat(h))!;
    const pageKey = keys.dataPage(meta.dataId, 2);
    const page = (await kv.get<Uint8Array>(pageKey)).value!.slice();
    page[40_000] ^= 0x10; // in the third group of page 2 = group 10
    await kv.set(pageKey, page);
    await assertRejects(readAll(store, h), HashMismatchError);
    const e = await assertRejects(
      readAll(store, h, 2 * 65536 + 33_000, 2 * 65536 + 33_001),
      HashMismatchError,
    );
    assertEquals(e.chunk, 160);
    assertEquals(await readAll(store, h, 0, 100_000), data.subarray(0, 100_000));
    assertEquals(await readAll(store, h, 3 * 65536, data.length), data.subarray(3 * 65536));

    const obKey = keys.obPage(meta.dataId, 0);
    const ob = (await kv.get<Uint8Array>(obKey)).value!.slice();
    ob[5] ^= 1; // the first pair in post-order: groups 0 and 1
    await kv.set(obKey, ob);
    // A store that already read that page keeps its copy in memory; a fresh one reads KV.
    const fresh = new BlobStore(kv);
    const bad = await assertRejects(readAll(fresh, h, 0, 10), HashMismatchError);
    assertEquals(bad.item, "parent");
    assertEquals(await readAll(fresh, h, 4 * 65536, data.length), data.subarray(4 * 65536));
  });
});

Deno.test("store: a blob's pins on others are released when it is collected (cascade)", async () => {
  await withStore(async (store) => {
    const rand = seededRandom(20);
    const children = [randomBytes(5000, rand), randomBytes(70_000, rand)];
    const hashes = [];
    for (const c of children) hashes.push((await store.import(pieces(c), { pin: null })).hash);
    const parent = await store.import(pieces(concat(hashes)));
    for (const h of hashes) assert(await store.pin(h, blobHolder(parent.hash)));
    assertEquals((await store.gc()).blobs, 0, "children are held by the parent");
    assert(await store.unpin(parent.hash, USER_PIN));
    assertEquals((await store.gc()).blobs, 3, "parent, then both children");
  });
});

Deno.test("store: a page a lagging replica does not have yet is read from the primary", async () => {
  const kv = await Deno.openKv(":memory:");
  // The real KV, answering reads of pages made with `eventual` consistency (which Deno Deploy
  // may serve from a replica) as a replica that has not received them.
  const lagging = (key: Deno.KvKey | undefined) => key?.[0] === "data" || key?.[0] === "ob";
  const replica = new Proxy(kv, {
    get(target, prop) {
      if (prop === "get") {
        return (key: Deno.KvKey, options?: { consistency?: Deno.KvConsistencyLevel }) =>
          options?.consistency === "eventual" && lagging(key)
            ? Promise.resolve({ key, value: null, versionstamp: null })
            : target.get(key, options);
      }
      if (prop === "list") {
        return (selector: Deno.KvListSelector, options?: Deno.KvListOptions) =>
          options?.consistency === "eventual" && "start" in selector && lagging(selector.start)
            ? target.list({ prefix: ["nothing here"] })
            : target.list(selector, options);
      }
      const value = Reflect.get(target, prop);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  try {
    const store = new BlobStore(replica);
    const data = randomBytes(300_000, seededRandom(24));
    const { hash: h } = await store.import(pieces(data));
    assertEquals(await readAll(store, h), data);
    assertEquals(await readAll(store, h, 200_000, 200_010), data.subarray(200_000, 200_010));
  } finally {
    kv.close();
  }
});

Deno.test("store: a GC cut off after collecting a parent releases its children at the next", async () => {
  const kv = await Deno.openKv(":memory:");
  // The real KV, failing the first listing of what a holder holds: as if the process died, or
  // the KV went away, between the commit that collects the parent and the release of its pins.
  let failures = 1;
  const faulty = new Proxy(kv, {
    get(target, prop) {
      if (prop === "list") {
        return (selector: Deno.KvListSelector, options?: Deno.KvListOptions) => {
          if (failures > 0 && "prefix" in selector && selector.prefix[0] === "holds") {
            failures--;
            throw new Error("the KV went away");
          }
          return target.list(selector, options);
        };
      }
      const value = Reflect.get(target, prop);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  try {
    const store = new BlobStore(faulty, { unpinnedGraceMs: 0 });
    const child = await store.import(pieces(randomBytes(5000, seededRandom(23))), { pin: null });
    const parent = await store.import(pieces(child.hash));
    assert(await store.pin(child.hash, blobHolder(parent.hash)));
    assert(await store.unpin(parent.hash, USER_PIN));
    await assertRejects(() => store.gc(), Error, "the KV went away");
    assertEquals(await store.stat(parent.hash), undefined, "the parent was collected");
    assertEquals((await store.stat(child.hash))?.refs, 1, "its pin on the child was not released");
    assertEquals((await store.gc()).blobs, 1, "the next GC releases the child, and collects it");
    assertEquals(await store.stat(child.hash), undefined);
    assertEquals(await countKeys(kv, ["release"]), 0);
  } finally {
    kv.close();
  }
});

Deno.test("store: a lease holds blobs until released, or until its owner stops renewing it", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const store = new BlobStore(kv, { unpinnedGraceMs: 0, uploadStaleMs: 50 });
    const lease = await store.lease();
    const { hash: h } = await store.import(pieces(randomBytes(3000, seededRandom(21))), {
      pin: lease.holder,
    });
    await lease.renew();
    assertEquals((await store.gc()).blobs, 0);
    await new Promise((r) => setTimeout(r, 80));
    assertEquals((await store.gc()).blobs, 1, "a stale lease is released and its blob collected");
    const second = await store.lease();
    const { hash: h2 } = await store.import(pieces(randomBytes(10, seededRandom(22))), {
      pin: second.holder,
    });
    await second.release();
    assertEquals((await store.stat(h2))!.refs, 0);
    assertEquals(await store.stat(h), undefined);
  } finally {
    kv.close();
  }
});
