/** Partial blobs in the store: verified groups from any source, concurrent writers, eviction. */
import { assert, assertEquals, assertRejects } from "./assert.ts";
import { type Hash, toHex } from "../src/blake3/hash.ts";
import { readVerifiedExact } from "../src/bao/read.ts";
import { BaoTree } from "../src/bao/tree.ts";
import { ChunkRanges } from "../src/ranges/chunk_ranges.ts";
import { BlobStore, type StoreOptions, USER_PIN } from "../src/store/blob_store.ts";
import { storedRanges } from "../src/store/partial.ts";
import { BlobAccess } from "../src/peers/blob_access.ts";
import { getBlob } from "../src/protocol/request.ts";
import { writeResponse } from "../src/protocol/response_writer.ts";
import { storeProvider } from "../src/store/blob_provider.ts";
import { concat, verifiedParts } from "./bao_helpers.ts";
import { randomBytes, seededRandom } from "./random.ts";
import { countingChecks } from "./kv_checks.ts";

const received = verifiedParts;

async function readRange(store: BlobStore, h: Hash, start: number, end: number) {
  const source = (await store.open(h))!;
  return concat(await Array.fromAsync(readVerifiedExact(source, start, end)));
}

async function withStore(
  fn: (store: BlobStore) => Promise<void>,
  options: Partial<StoreOptions> = {},
) {
  const kv = await Deno.openKv(":memory:");
  try {
    await fn(new BlobStore(kv, { unpinnedGraceMs: 0, ...options }));
  } finally {
    kv.close();
  }
}

Deno.test("partial: groups arrive in pieces, serve as they are, and make a complete blob", async () => {
  await withStore(async (store) => {
    const data = randomBytes(20 * 16384 + 5000, seededRandom(1));
    const chunks = Math.ceil(data.length / 1024);
    // The size proof first: the last group and its path (whole groups only are stored).
    const proof = await received(data, ChunkRanges.range(320));
    await store.writeVerified(proof.root, data.length, proof.groups, proof.pairs, { cached: true });
    let meta = (await store.stat(proof.root))!;
    assertEquals(storedRanges(meta).toString(), "320..");
    assert(meta.cached);
    // Then a middle range, and reads of what is there.
    const mid = await received(data, ChunkRanges.range(64, 128));
    await store.writeVerified(mid.root, data.length, mid.groups, mid.pairs);
    meta = (await store.stat(mid.root))!;
    assertEquals(storedRanges(meta).toString(), "64..128,320..");
    assertEquals(await readRange(store, mid.root, 70_000, 120_000), data.subarray(70_000, 120_000));
    await assertRejects(readRange(store, mid.root, 0, 10), Error, "missing data does not verify");
    // Two writers at once, their groups interleaved within the same pages.
    const rest = await received(data, ChunkRanges.range(0, chunks));
    const even = rest.groups.filter((g) => (g.start / 16) % 2 === 0);
    const odd = rest.groups.filter((g) => (g.start / 16) % 2 === 1);
    await Promise.all([
      store.writeVerified(rest.root, data.length, even, rest.pairs),
      store.writeVerified(rest.root, data.length, odd, rest.pairs),
    ]);
    meta = (await store.stat(rest.root))!;
    assertEquals(meta.partial, undefined, "complete");
    assertEquals(await readRange(store, rest.root, 0, data.length), data);
    // A complete upload of the same bytes keeps the blob, now pinned.
    const up = await store.import(ReadableStream.from([data]));
    assertEquals([up.created, toHex(up.hash)], [false, toHex(rest.root)]);
  });
});

Deno.test("partial: a write over many pages commits within denokv's ten checks", async () => {
  // One check per page read back (13 for a write over 12 pages) went past a shared denokv's 10.
  const kv = await Deno.openKv(":memory:");
  const counting = countingChecks(kv);
  try {
    const store = new BlobStore(counting.kv, { unpinnedGraceMs: 0 });
    const data = randomBytes(4 << 20, seededRandom(31));
    const chunks = Math.ceil(data.length / 1024);
    const proof = await received(data, ChunkRanges.range(chunks - 16));
    await store.writeVerified(proof.root, data.length, proof.groups, proof.pairs);
    // Every other group, then the rest of the first ten data pages in one write (patching ten
    // pages that hold data already), then everything.
    const all = await received(data, ChunkRanges.range(0, chunks));
    const even = all.groups.filter((g) => (g.start / 16) % 2 === 0);
    await store.writeVerified(all.root, data.length, even, all.pairs);
    const odd = all.groups.filter((g) => (g.start / 16) % 2 === 1 && g.start < 10 * 64);
    await store.writeVerified(all.root, data.length, odd, all.pairs);
    await store.writeVerified(all.root, data.length, all.groups, all.pairs);
    assertEquals((await store.stat(all.root))!.partial, undefined, "complete");
    assertEquals(await readRange(store, all.root, 0, data.length), data);
    assert(counting.most() <= 10, `a commit made ${counting.most()} checks`);
  } finally {
    kv.close();
  }
});

Deno.test("partial: a blob is created only with the group that proves its size, whole groups only", async () => {
  await withStore(async (store) => {
    const data = randomBytes(100_000, seededRandom(2));
    const first = await received(data, ChunkRanges.range(0, 16));
    await assertRejects(
      store.writeVerified(first.root, data.length, first.groups, first.pairs),
      Error,
    );
    // The last chunk alone is a leaf of part of a group: not storable.
    const chunk = await received(data, ChunkRanges.LAST);
    await assertRejects(
      store.writeVerified(chunk.root, data.length, chunk.groups, chunk.pairs),
      Error,
    );
    assertEquals(await store.stat(first.root), undefined);
  });
});

Deno.test("partial: a complete upload replaces a partial copy, keeping its pins", async () => {
  await withStore(async (store) => {
    const data = randomBytes(200_000, seededRandom(3));
    const proof = await received(data, ChunkRanges.range(192));
    await store.writeVerified(proof.root, data.length, proof.groups, proof.pairs, { cached: true });
    assert(await store.pin(proof.root, "someone"));
    const up = await store.import(ReadableStream.from([data]));
    assert(up.created);
    const meta = (await store.stat(up.hash))!;
    assertEquals([meta.partial, meta.refs], [undefined, 2]);
    assertEquals(await readRange(store, up.hash, 0, data.length), data);
    const report = await store.gc();
    assert(report.pages > 0, "the partial copy's pages went to the trash and were deleted");
  });
});

Deno.test("partial: cached peer data is evicted least recently read first; pinned never", async () => {
  await withStore(async (store) => {
    const rand = seededRandom(4);
    const blobs: { root: Hash; data: Uint8Array }[] = [];
    const write = async () => {
      const data = randomBytes(50_000, rand);
      const all = await received(data, ChunkRanges.ALL);
      await store.writeVerified(all.root, data.length, all.groups, all.pairs, { cached: true });
      blobs.push({ root: all.root, data });
      // Eviction runs behind the write.
      await store.evictionSettled();
    };
    const pinned = await store.import(ReadableStream.from([randomBytes(80_000, rand)]));
    await write();
    await write();
    // Read order: 1, then 0 → 1 is the least recently read.
    for (const i of [1, 0]) {
      store.touch(blobs[i].root);
      await new Promise((r) => setTimeout(r, 5));
    }
    // The third brings the cache to 150,000 bytes, over its 110,000: writing it evicts, without
    // waiting for GC.
    await write();
    assertEquals(await store.stat(blobs[1].root), undefined);
    assert((await store.stat(blobs[0].root)) !== undefined);
    assert((await store.stat(blobs[2].root)) !== undefined);
    assert((await store.stat(pinned.hash)) !== undefined, "pinned data is not counted or evicted");
    // Within budget now: GC evicts nothing more.
    assertEquals((await store.gc()).evicted, 0);
    assert(await store.unpin(pinned.hash, USER_PIN));
  }, { cacheBytes: 110_000, inUseMs: 0 });
});

Deno.test("partial: a blob in use is not evicted, even one larger than the whole budget", async () => {
  await withStore(async (store) => {
    const rand = seededRandom(6);
    const data = randomBytes(400_000, rand);
    const chunks = Math.ceil(data.length / 1024);
    const lastGroup = Math.floor((chunks - 1) / 16) * 16;
    // As a fetch stores it: the size proof first, then slices, each far over the budget.
    const proof = await received(data, ChunkRanges.range(lastGroup));
    await store.writeVerified(proof.root, data.length, proof.groups, proof.pairs, {
      cached: true,
      sizeProven: true,
    });
    for (let g = 0; g < lastGroup; g += 64) {
      const part = await received(data, ChunkRanges.range(g, Math.min(g + 64, lastGroup)));
      await store.writeVerified(part.root, data.length, part.groups, part.pairs, { cached: true });
      await store.evictionSettled();
      assert((await store.stat(part.root)) !== undefined, `still there after slice ${g}`);
    }
    assertEquals(storedRanges((await store.stat(proof.root))!).toString(), "0..");
    // Once it is no longer in use, the next scan lets it go.
    assertEquals((await store.gc(Date.now() + 60_000)).evicted, 1);
  }, { cacheBytes: 100_000 });
});

Deno.test("partial: a response holds its blob however long the reader pauses, until it ends", async () => {
  await withStore(async (store) => {
    const access = new BlobAccess(store);
    const later = () => Date.now() + 10 * 60_000;
    const rand = seededRandom(7);
    const cache = async (size: number) => {
      const data = randomBytes(size, rand);
      const all = await received(data, ChunkRanges.ALL);
      await store.writeVerified(all.root, data.length, all.groups, all.pairs, { cached: true });
      return { root: all.root, data };
    };
    // Over the budget on its own: only being read keeps it.
    const read = await cache(300_000);
    const pieces = (await access.servable(read.root)).read(0, read.data.length);
    const reader = pieces[Symbol.asyncIterator]();
    const got = [(await reader.next()).value!];
    // Ten minutes later by the store's clock, far beyond `inUseMs`: the reader is still there.
    assertEquals((await store.gc(later())).evicted, 0);
    for (let r = await reader.next(); !r.done; r = await reader.next()) got.push(r.value);
    assertEquals(concat(got), read.data, "every byte, after the pause");
    assertEquals((await store.gc(later())).evicted, 1, "gone once its response ended");
    assertEquals(await store.stat(read.root), undefined);
    // A response cancelled part way (the client went away) lets its blob go too.
    const cancelled = await cache(300_000);
    const encoding = (await access.servable(cancelled.root)).encode(ChunkRanges.ALL);
    const encoder = encoding[Symbol.asyncIterator]();
    await encoder.next();
    assertEquals((await store.gc(later())).evicted, 0);
    await encoder.return?.(undefined);
    assertEquals((await store.gc(later())).evicted, 1);
    // An answer to a peer's Get holds its blob the same way.
    const asked = await cache(300_000);
    const answer = writeResponse(storeProvider(store), getBlob(asked.root));
    await answer.next();
    assertEquals((await store.gc(later())).evicted, 0);
    for (let r = await answer.next(); !r.done; r = await answer.next());
    assertEquals((await store.gc(later())).evicted, 1);
  }, { cacheBytes: 100_000 });
});

Deno.test("partial: GC evicts beyond a budget that cached writes did not exceed here", async () => {
  // Another process wrote the cache (on the same KV); this one finds it over budget at GC.
  const kv = await Deno.openKv(":memory:");
  try {
    const writer = new BlobStore(kv, { unpinnedGraceMs: 0 });
    const rand = seededRandom(5);
    const roots: Hash[] = [];
    for (let i = 0; i < 3; i++) {
      const data = randomBytes(50_000, rand);
      const all = await received(data, ChunkRanges.ALL);
      await writer.writeVerified(all.root, data.length, all.groups, all.pairs, { cached: true });
      roots.push(all.root);
      await new Promise((r) => setTimeout(r, 5));
    }
    await writer.close();
    const collector = new BlobStore(kv, { unpinnedGraceMs: 0, cacheBytes: 110_000 });
    // A minute later: the writer's use (its access records) is over.
    assertEquals((await collector.gc(Date.now() + 60_000)).evicted, 1);
    // Never read: the oldest goes first.
    assertEquals(await collector.stat(roots[0]), undefined);
    assert((await collector.stat(roots[1])) !== undefined);
  } finally {
    kv.close();
  }
});

Deno.test("partial: pages and pairs line up with a tree of any shape", () => {
  // Guards the arithmetic writeVerified relies on: groups never straddle 64 KiB pages.
  for (const size of [1, 16384, 65536, 65537, 1 << 20, (1 << 20) + 12345]) {
    const tree = new BaoTree(size, 4);
    for (let g = 0; g < tree.groups; g++) {
      const [a, b] = tree.byteRange(g * 16, (g + 1) * 16);
      assertEquals(Math.floor(a / 65536), Math.floor((b - 1) / 65536));
    }
  }
});

Deno.test("partial: an instance sharing the KV does not evict what another is writing or reading", async () => {
  const kv = await Deno.openKv(":memory:");
  const timings = { cacheBytes: 100_000, inUseMs: 300 };
  const here = new BlobStore(kv, timings);
  const elsewhere = new BlobStore(kv, timings);
  try {
    const data = randomBytes(300_000, seededRandom(9));
    const all = await received(data, ChunkRanges.ALL);
    // Over the budget on its own; just written by `here`.
    await here.writeVerified(all.root, data.length, all.groups, all.pairs, { cached: true });
    await here.evictionSettled();
    assertEquals((await elsewhere.gc()).evicted, 0, "just written by another instance");
    const pieces = (await new BlobAccess(here).servable(all.root)).read(0, data.length);
    const reader = pieces[Symbol.asyncIterator]();
    const got = [(await reader.next()).value!];
    // Twice `inUseMs` into a paused read: `here` renews its record, so it is still in use.
    await new Promise((r) => setTimeout(r, 600));
    assertEquals((await elsewhere.gc()).evicted, 0, "held by a slow reader of another instance");
    for (let r = await reader.next(); !r.done; r = await reader.next()) got.push(r.value);
    assertEquals(concat(got), data);
    await new Promise((r) => setTimeout(r, 600));
    assertEquals((await elsewhere.gc()).evicted, 1, "gone once no instance uses it");
    assertEquals(await here.stat(all.root), undefined);
    assertEquals(await kv.get(["access", all.root]).then((e) => e.value), null);
  } finally {
    await here.close();
    await elsewhere.close();
    kv.close();
  }
});
