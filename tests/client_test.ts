/**
 * The verifying client against a real gateway (loopback, real Deno KV), and against a lying one
 * (a proxy that corrupts, truncates, cuts or mislabels what the real one sends), where it must
 * raise its typed error and never hand out a byte that differs from the real data.
 */
import { assert, assertEquals, assertRejects } from "./assert.ts";
import { InvalidHashError, toHex } from "../src/blake3/hash.ts";
import { hash } from "../src/blake3/tree.ts";
import { BaoTree, IROH_K } from "../src/bao/tree.ts";
import { walkWire } from "../src/bao/walk.ts";
import { Collection } from "../src/collection/collection.ts";
import { HashSeq } from "../src/collection/hash_seq.ts";
import { ChunkRanges } from "../src/ranges/chunk_ranges.ts";
import {
  ClientError,
  CorruptDataError,
  EntryNotFoundError,
  fetchEntry,
  GatewayError,
  GatewayUnreachableError,
  InvalidRangeError,
  listCollection,
  MalformedResponseError,
  NotACollectionError,
  NotFoundError,
  type Progress,
  RangeNotSatisfiableError,
  SizeMismatchError,
  TruncatedResponseError,
  VerificationError,
  VerifiedCache,
  verifiedFetch,
} from "../src/client/mod.ts";
import { Lru } from "../src/client/lru.ts";
import {
  cutConnection,
  editBody,
  flipBit,
  type ProxyHooks,
  startTamperingProxy,
  type TamperingProxy,
  withHeader,
} from "./client_proxy.ts";
import { concat } from "./bao_helpers.ts";
import { startGateway, type TestGateway, upload, withGateway } from "./gateway_helpers.ts";
import { randomBytes, randomInt, seededRandom } from "./random.ts";

const VIAS = ["bao", "outboard"] as const;
const GROUP = 16384;
const LAST = String(ChunkRanges.LAST);

/** A gateway behind a tampering proxy: `fn` gets the proxy's URL and the real one's. */
async function withLyingGateway(
  hooks: ProxyHooks,
  fn: (proxy: TamperingProxy, gw: TestGateway) => Promise<void>,
): Promise<void> {
  await withGateway(async (gw) => {
    const proxy = startTamperingProxy(gw.url, hooks);
    try {
      await fn(proxy, gw);
    } finally {
      await proxy.close();
    }
  });
}

async function put(gw: TestGateway, data: Uint8Array<ArrayBuffer>): Promise<string> {
  const up = await upload(gw.url, data);
  assert(up.status === 201 || up.status === 200, `upload: ${up.status}`);
  return up.body.hash!;
}

interface Drained {
  bytes: Uint8Array;
  /** Length of each piece the body handed out. */
  pieces: number[];
  error?: unknown;
}

/** Reads a body until it ends or fails. */
async function drain(res: Response): Promise<Drained> {
  const reader = res.body!.getReader();
  const parts: Uint8Array[] = [];
  try {
    while (true) {
      const r = await reader.read();
      if (r.done) break;
      parts.push(r.value.slice());
    }
  } catch (error) {
    return { bytes: concat(parts), pieces: parts.map((p) => p.length), error };
  }
  return { bytes: concat(parts), pieces: parts.map((p) => p.length) };
}

/**
 * Asserts that the body fails with `cls` after handing out only a prefix of `expected`, at
 * least `minDelivered` bytes of it; returns how many were handed out.
 */
async function assertFailsCleanly(
  res: Response,
  expected: Uint8Array,
  cls: new (...args: never[]) => Error,
  minDelivered = 0,
): Promise<number> {
  const { bytes, error } = await drain(res);
  assert(error instanceof cls, `expected ${cls.name}, got ${error}`);
  assert(bytes.length >= minDelivered, `only ${bytes.length} bytes before the error`);
  assert(bytes.length < expected.length, "everything was delivered despite the error");
  assertEquals(bytes, expected.subarray(0, bytes.length), "a delivered byte differs");
  return bytes.length;
}

const isProof = (url: URL) => url.searchParams.get("chunks") === LAST;
const isBaoData = (url: URL) => url.searchParams.get("format") === "bao" && !isProof(url);
const isOutboard = (url: URL) => url.pathname.endsWith("/outboard");
const isPlain = (url: URL) => /^\/blobs\/[0-9a-f]{64}$/.test(url.pathname) && url.search === "";

/** Where each item of the encoding of `ranges` of a `size`-byte blob sits, header included. */
function encodingLayout(size: number, ranges: ChunkRanges) {
  const tree = new BaoTree(size, IROH_K);
  const items: { type: "parent" | "leaf"; offset: number; length: number }[] = [];
  let offset = 8;
  for (const item of walkWire(tree, ranges.truncate(size))) {
    const [a, b] = item.type === "leaf" ? tree.byteRange(item.start, item.end) : [0, 64];
    items.push({ type: item.type, offset, length: b - a });
    offset += b - a;
  }
  return items;
}

Deno.test("client: whole blobs of 0, 1, 16 KiB ± 1 and 1 MiB + 7 bytes, both paths", async () => {
  await withGateway(async (gw) => {
    const rand = seededRandom(71);
    for (const size of [0, 1, 1024, 16383, 16384, 16385, (1 << 20) + 7]) {
      const data = randomBytes(size, rand);
      const h = await put(gw, data);
      for (const via of VIAS) {
        const progress: Progress[] = [];
        const cache = new VerifiedCache();
        const res = await verifiedFetch(gw.url, h, {
          via,
          cache,
          onProgress: (p) => progress.push(p),
        });
        const what = `${size} bytes via ${via}`;
        assertEquals(res.status, 200, what);
        assertEquals(res.headers.get("Content-Length"), String(size), what);
        assertEquals(res.headers.get("ETag"), `"${h}"`, what);
        assertEquals(res.headers.get("Content-Range"), null, what);
        const { bytes, pieces, error } = await drain(res);
        assertEquals(error, undefined, what);
        assertEquals(bytes, data, what);
        // Streamed: each piece is at most one verified group.
        assert(pieces.every((n) => n <= GROUP), `${what}: pieces ${pieces}`);
        assertEquals(progress[0], { verified: 0, total: size }, what);
        assertEquals(progress.at(-1), { verified: size, total: size }, what);
        assertEquals(progress.length, pieces.length + 1, what);
        assert(progress.every((p, i) => i === 0 || p.verified > progress[i - 1].verified));
      }
    }
  });
});

Deno.test("client: ranges at odd offsets, inside a chunk, across groups, to the last byte", async () => {
  await withGateway(async (gw) => {
    const rand = seededRandom(72);
    for (const size of [16385, (1 << 20) + 7]) {
      const data = randomBytes(size, rand);
      const h = await put(gw, data);
      const spans: { start: number; end?: number }[] = [
        { start: 0, end: 1 },
        { start: 1, end: 2 },
        { start: 3000, end: 3010 },
        { start: GROUP - 1, end: GROUP + 1 },
        { start: size - 1, end: size },
        { start: size - 1 },
        { start: size - 2, end: size + 5000 },
        { start: 777 },
        { start: 5, end: size },
      ];
      if (size > 5 * GROUP) spans.push({ start: 3 * GROUP - 5, end: 5 * GROUP + 7 });
      for (let i = 0; i < 12; i++) {
        const start = randomInt(rand, 0, size - 1);
        spans.push({ start, end: randomInt(rand, start + 1, size) });
      }
      for (const via of VIAS) {
        const cache = new VerifiedCache();
        for (const span of spans) {
          const end = Math.min(span.end ?? size, size);
          const what = `${size} bytes, ${span.start}..${span.end ?? ""} via ${via}`;
          const res = await verifiedFetch(gw.url, h, { range: span, via, cache });
          assertEquals(res.status, 206, what);
          assertEquals(res.headers.get("Content-Range"), `bytes ${span.start}-${end - 1}/${size}`);
          assertEquals(res.headers.get("Content-Length"), String(end - span.start), what);
          const { bytes, error } = await drain(res);
          assertEquals(error, undefined, what);
          assertEquals(bytes, data.subarray(span.start, end), what);
        }
      }
    }
  });
});

Deno.test("client: proofs and outboards are cached per hash; a second range costs one request", async () => {
  await withGateway(async (gw) => {
    const data = randomBytes(5 * GROUP + 3, seededRandom(73));
    const h = await put(gw, data);
    for (const via of VIAS) {
      const cache = new VerifiedCache();
      const urls: string[] = [];
      const counting = (input: string, init?: RequestInit) => {
        urls.push(input);
        return fetch(input, init);
      };
      const first = await verifiedFetch(gw.url, h, {
        via,
        cache,
        fetch: counting,
        range: { start: 10, end: 20 },
      });
      assertEquals((await drain(first)).bytes, data.subarray(10, 20));
      assertEquals(urls.length, via === "bao" ? 2 : 3, `${via}: ${urls}`);
      urls.length = 0;
      const second = await verifiedFetch(gw.url, h, {
        via,
        cache,
        fetch: counting,
        range: { start: 4 * GROUP, end: 4 * GROUP + 9 },
      });
      assertEquals((await drain(second)).bytes, data.subarray(4 * GROUP, 4 * GROUP + 9));
      assertEquals(urls.length, 1, `${via}: ${urls}`);
      assert(via === "bao" ? urls[0].includes("format=bao") : !urls[0].includes("?"), urls[0]);
    }
  });
});

Deno.test("client: the LRU evicts the least recently used and never keeps an oversized value", () => {
  const lru = new Lru<string, number>(10, (v) => v);
  lru.set("a", 4);
  lru.set("b", 4);
  assertEquals(lru.get("a"), 4); // "b" is now the oldest
  lru.set("c", 4);
  assertEquals([lru.get("a"), lru.get("b"), lru.get("c")], [4, undefined, 4]);
  lru.set("d", 11);
  assertEquals([lru.get("d"), lru.size], [undefined, 2]);
  lru.set("a", 1);
  lru.set("e", 5);
  assertEquals([lru.get("a"), lru.get("c"), lru.get("e")], [1, 4, 5]);
});

Deno.test("client: bad ranges, unsatisfiable ranges, unknown blobs, bad hashes, no gateway", async () => {
  await withGateway(async (gw) => {
    const data = randomBytes(20000, seededRandom(74));
    const h = await put(gw, data);
    const empty = await put(gw, new Uint8Array(0));
    for (const via of VIAS) {
      for (
        const range of [{ start: -1 }, { start: 5, end: 5 }, { start: 1.5 }, { start: 9, end: 3 }]
      ) {
        await assertRejects(verifiedFetch(gw.url, h, { via, range }), InvalidRangeError);
      }
      const past = await assertRejects(
        verifiedFetch(gw.url, h, { via, range: { start: 20000 } }),
        RangeNotSatisfiableError,
      );
      assertEquals([past.start, past.size], [20000, 20000]);
      await assertRejects(
        verifiedFetch(gw.url, empty, { via, range: { start: 0 } }),
        RangeNotSatisfiableError,
      );
      const missing = await assertRejects(
        verifiedFetch(gw.url, toHex(hash(new Uint8Array([1, 2, 3]))), { via }),
        NotFoundError,
      );
      assertEquals(missing.status, 404);
      assert(missing instanceof GatewayError && missing.detail.includes("not here"));
    }
    await assertRejects(verifiedFetch(gw.url, "not-a-hash"), InvalidHashError);
  });
  const closed = await startGateway();
  await closed.close();
  await assertRejects(
    verifiedFetch(closed.url, toHex(hash(new Uint8Array(1)))),
    GatewayUnreachableError,
  );
});

Deno.test("client: aborting the signal stops the body with the abort reason", async () => {
  await withGateway(async (gw) => {
    // One 64 KiB storage page: the gateway has finished reading when the abort comes, and
    // the client must fail the next read all the same.
    const data = randomBytes(3 * GROUP, seededRandom(75));
    const h = await put(gw, data);
    for (const via of VIAS) {
      const controller = new AbortController();
      const res = await verifiedFetch(gw.url, h, { via, signal: controller.signal });
      const reader = res.body!.getReader();
      const first = await reader.read();
      assertEquals(first.value, data.subarray(0, first.value!.length));
      const reason = new Error("stop");
      controller.abort(reason);
      await assertRejects(
        (async () => {
          while (!(await reader.read()).done);
        })(),
        Error,
      ).then((e) => assertEquals(e, reason));
    }
    const aborted = AbortSignal.abort(new Error("early"));
    const e = await assertRejects(verifiedFetch(gw.url, h, { signal: aborted }), Error);
    assertEquals(e.message, "early");
  });
});

/** A collection stored through the blob API: children, meta blob and hash seq. */
async function putCollection(gw: TestGateway, files: Record<string, Uint8Array<ArrayBuffer>>) {
  const entries = [];
  for (const [name, data] of Object.entries(files)) {
    entries.push({ name, hash: hash(data) });
    await put(gw, data);
  }
  const collection = Collection.create(entries);
  await put(gw, collection.meta as Uint8Array<ArrayBuffer>);
  await put(gw, collection.hashSeq.bytes as Uint8Array<ArrayBuffer>);
  return collection;
}

Deno.test("client: collections list verified names, hashes and proven sizes; entries by name", async () => {
  await withGateway(async (gw) => {
    const rand = seededRandom(76);
    const files: Record<string, Uint8Array<ArrayBuffer>> = {
      "readme.txt": new TextEncoder().encode("hello collection\n"),
      "empty": new Uint8Array(0),
      "dir/big.bin": randomBytes((1 << 20) + 7, rand),
      "dir/page.html": new TextEncoder().encode("<p>hi</p>"),
    };
    const collection = await putCollection(gw, files);
    const hex = toHex(collection.hash);
    const listing = await listCollection(gw.url, hex, { cache: new VerifiedCache() });
    assertEquals(listing.hash, hex);
    assertEquals(
      listing.entries,
      Object.keys(files).sort().map((name) => ({
        name,
        hash: toHex(hash(files[name])),
        size: files[name].length,
      })),
    );
    assertEquals(listing.totalSize, Object.values(files).reduce((n, f) => n + f.length, 0));
    const bare = await listCollection(gw.url, collection.hash, { sizes: false });
    assertEquals(bare.entries.map((e) => [e.name, e.size]), [
      ["dir/big.bin", undefined],
      ["dir/page.html", undefined],
      ["empty", undefined],
      ["readme.txt", undefined],
    ]);
    assertEquals(bare.totalSize, undefined);

    for (const via of VIAS) {
      for (const [name, data] of Object.entries(files)) {
        const res = await fetchEntry(gw.url, hex, name, { via });
        assertEquals((await drain(res)).bytes, data, `${name} via ${via}`);
      }
      const page = await fetchEntry(gw.url, hex, "dir/page.html", { via });
      assertEquals(page.headers.get("Content-Type"), "text/html; charset=utf-8");
      await page.body!.cancel();
      const part = await fetchEntry(gw.url, hex, "dir/big.bin", {
        via,
        range: { start: 40000, end: 70001 },
      });
      assertEquals(part.status, 206);
      assertEquals((await drain(part)).bytes, files["dir/big.bin"].subarray(40000, 70001));
    }
    const missing = await assertRejects(fetchEntry(gw.url, hex, "nope"), EntryNotFoundError);
    assertEquals(missing.entry, "nope");
  });
});

Deno.test("client: blobs that verify but are not collections are refused as such", async () => {
  await withGateway(async (gw) => {
    const odd = await put(gw, new Uint8Array(33));
    await assertRejects(listCollection(gw.url, odd), NotACollectionError);
    const emptySeq = await put(gw, new Uint8Array(0));
    await assertRejects(listCollection(gw.url, emptySeq), NotACollectionError);
    // A hash seq whose first blob is not a meta blob.
    const child = new Uint8Array([1, 2, 3]);
    await put(gw, child);
    const seq = HashSeq.from([hash(child), hash(child)]);
    const h = await put(gw, seq.bytes as Uint8Array<ArrayBuffer>);
    const e = await assertRejects(listCollection(gw.url, h), NotACollectionError);
    assert(e.cause instanceof Error && e.cause.name === "InvalidCollectionError");
    // The meta blob is missing from the gateway: that is a 404, not "not a collection".
    const lost = HashSeq.from([hash(new Uint8Array([9])), hash(child)]);
    const lostHash = await put(gw, lost.bytes as Uint8Array<ArrayBuffer>);
    const lostError = await assertRejects(listCollection(gw.url, lostHash), NotFoundError);
    assert(lostError.detail.endsWith(`(or ${lostHash} is not a collection)`), lostError.detail);
  });
});

Deno.test("client, lying gateway (bao): a flipped data bit or hash pair fails after only good bytes", async () => {
  const size = (1 << 20) + 7;
  const data = randomBytes(size, seededRandom(77));
  const items = encodingLayout(size, ChunkRanges.ALL);
  const leaves = items.filter((i) => i.type === "leaf");
  const laterPairs = items.filter((i, n) => i.type === "parent" && n > items.indexOf(leaves[3]));
  const cases = [
    { what: "data of the 10th group", at: leaves[9].offset + 1234, min: 9 * GROUP },
    { what: "a pair after 4 groups", at: laterPairs[0].offset + 40, min: 4 * GROUP },
    { what: "the root pair", at: items[0].offset + 3, min: 0 },
    { what: "the last chunk", at: items.at(-1)!.offset + 6, min: size - 7 - GROUP },
  ];
  for (const c of cases) {
    await withLyingGateway({
      tamper: (url, res) => isBaoData(url) ? editBody(res, (b) => flipBit(b, c.at)) : res,
    }, async (proxy, gw) => {
      const h = await put(gw, data);
      const res = await verifiedFetch(proxy.url, h, { cache: new VerifiedCache() });
      const n = await assertFailsCleanly(res, data, CorruptDataError, c.min);
      assert(n <= c.min + GROUP, `${c.what}: ${n} bytes delivered`);
    });
  }
});

Deno.test("client, lying gateway (bao): a corrupted range inside a group fails", async () => {
  const data = randomBytes(3 * GROUP, seededRandom(78));
  // Chunks 17..19: part of a group, sent as leaves under pairs the gateway computes.
  const span = { start: 17 * 1024 + 100, end: 19 * 1024 + 5 };
  const ranges = ChunkRanges.fromBytes(span.start, span.end);
  const leaves = encodingLayout(data.length, ranges).filter((i) => i.type === "leaf");
  // Chunk 17 alone, then chunks 18..20 as one leaf, under pairs the gateway computes.
  assertEquals(leaves.length, 2);
  await withLyingGateway({
    tamper: (url, res) =>
      isBaoData(url) ? editBody(res, (b) => flipBit(b, leaves[1].offset + 10)) : res,
  }, async (proxy, gw) => {
    const h = await put(gw, data);
    const res = await verifiedFetch(proxy.url, h, { range: span, cache: new VerifiedCache() });
    assertEquals(res.status, 206);
    const expected = data.subarray(span.start, span.end);
    assertEquals(await assertFailsCleanly(res, expected, CorruptDataError, 924), 924);
  });
});

Deno.test("client, lying gateway (bao): size lies are caught before any byte", async () => {
  const size = 5 * GROUP + 7;
  const data = randomBytes(size, seededRandom(79));
  const lie = (delta: number) => (b: Uint8Array<ArrayBuffer>) => {
    const out = b.slice();
    new DataView(out.buffer).setBigUint64(0, BigInt(size + delta), true);
    return out;
  };
  // Only the data stream lies: the proof says otherwise.
  await withLyingGateway({
    tamper: (url, res) => isBaoData(url) ? editBody(res, lie(1)) : res,
  }, async (proxy, gw) => {
    const h = await put(gw, data);
    const res = await verifiedFetch(proxy.url, h, { cache: new VerifiedCache() });
    assertEquals(res.headers.get("Content-Length"), String(size));
    const { bytes, error } = await drain(res);
    assert(error instanceof SizeMismatchError, String(error));
    assertEquals([error.claimed, error.proven, bytes.length], [size + 1, size, 0]);
  });
  // Both lie alike: the last chunk cannot verify under the tree the lie implies.
  for (const delta of [-1, 1, -7, GROUP]) {
    await withLyingGateway({
      tamper: (url, res) =>
        url.searchParams.get("format") === "bao" ? editBody(res, lie(delta)) : res,
    }, async (proxy, gw) => {
      const h = await put(gw, data);
      const e = await assertRejects(
        verifiedFetch(proxy.url, h, { cache: new VerifiedCache() }),
        ClientError,
      );
      assert(
        e instanceof VerificationError || e instanceof TruncatedResponseError,
        `size ${delta}: ${e}`,
      );
    });
  }
});

Deno.test("client, lying gateway (bao): truncated, cut and overlong streams", async () => {
  const size = 6 * GROUP + 100;
  const data = randomBytes(size, seededRandom(80));
  const items = encodingLayout(size, ChunkRanges.ALL);
  const leaves = items.filter((i) => i.type === "leaf");
  const encodedLength = items.at(-1)!.offset + items.at(-1)!.length;
  const cases: [string, ProxyHooks["tamper"], number][] = [
    [
      "ends early",
      (url, res) => isBaoData(url) ? editBody(res, (b) => b.slice(0, leaves[3].offset + 9)) : res,
      3 * GROUP,
    ],
    [
      "connection cut",
      (url, res) => isBaoData(url) ? cutConnection(res, encodedLength - 500) : res,
      5 * GROUP,
    ],
  ];
  for (const [what, tamper, delivered] of cases) {
    await withLyingGateway({ tamper }, async (proxy, gw) => {
      const h = await put(gw, data);
      const res = await verifiedFetch(proxy.url, h, { cache: new VerifiedCache() });
      const n = await assertFailsCleanly(res, data, TruncatedResponseError, delivered);
      assertEquals(n, delivered, what);
    });
  }
  await withLyingGateway({
    tamper: (url, res) =>
      isBaoData(url)
        ? editBody(res, (b) => {
          const out = new Uint8Array(b.length + 3);
          out.set(b);
          return out;
        })
        : res,
  }, async (proxy, gw) => {
    const h = await put(gw, data);
    const res = await verifiedFetch(proxy.url, h, { cache: new VerifiedCache() });
    // The data verified; the bytes after the encoding still make the response an error.
    const { bytes, error } = await drain(res);
    assert(error instanceof MalformedResponseError, String(error));
    assertEquals(bytes, data.subarray(0, bytes.length));
  });
});

Deno.test("client, lying gateway: error statuses and a lying size proof reject the fetch", async () => {
  const data = randomBytes(40000, seededRandom(81));
  await withLyingGateway({
    tamper: (url, res) =>
      isProof(url) ? new Response('{"error":"boom","detail":"x"}', { status: 500 }) : res,
  }, async (proxy, gw) => {
    const h = await put(gw, data);
    for (const via of VIAS) {
      const e = await assertRejects(verifiedFetch(proxy.url, h, { via }), GatewayError);
      assertEquals([e.status, e.error, e.detail], [500, "boom", "x"]);
    }
  });
  await withLyingGateway({
    tamper: (url, res) => isProof(url) ? editBody(res, (b) => flipBit(b, b.length - 1)) : res,
  }, async (proxy, gw) => {
    const h = await put(gw, data);
    const cache = new VerifiedCache();
    await assertRejects(verifiedFetch(proxy.url, h, { cache }), CorruptDataError);
    // Nothing unproven was cached: the honest gateway then serves it with the same cache.
    assertEquals(cache.sizes.size, 0);
    assertEquals((await drain(await verifiedFetch(gw.url, h, { cache }))).bytes, data);
  });
});

Deno.test("client, lying gateway (outboard): bad outboards are refused and not cached", async () => {
  const size = 9 * GROUP + 11;
  const data = randomBytes(size, seededRandom(82));
  const outboardSize = 64 * 9;
  const cases: [string, ProxyHooks["tamper"], new (...a: never[]) => Error][] = [
    [
      "flipped pair",
      (u, r) => isOutboard(u) ? editBody(r, (b) => flipBit(b, 200)) : r,
      CorruptDataError,
    ],
    [
      "short",
      (u, r) => isOutboard(u) ? editBody(r, (b) => b.slice(0, 100)) : r,
      TruncatedResponseError,
    ],
    [
      "long",
      (u, r) => isOutboard(u) ? editBody(r, () => new Uint8Array(outboardSize + 64)) : r,
      MalformedResponseError,
    ],
    [
      "X-Blob-Size lie",
      (u, r) => isOutboard(u) ? withHeader(r, "X-Blob-Size", String(size + 1)) : r,
      SizeMismatchError,
    ],
  ];
  for (const [what, tamper, cls] of cases) {
    await withLyingGateway({ tamper }, async (proxy, gw) => {
      const h = await put(gw, data);
      const cache = new VerifiedCache();
      await assertRejects(
        verifiedFetch(proxy.url, h, { via: "outboard", cache, range: { start: 5, end: 10 } }),
        cls,
        what,
      );
      assertEquals(cache.outboards.size, 0, what);
      const honest = await verifiedFetch(gw.url, h, { via: "outboard", cache });
      assertEquals((await drain(honest)).bytes, data, what);
      assertEquals(cache.outboards.size, 1, what);
    });
  }
});

Deno.test("client, lying gateway (outboard): plain ranges that lie fail after only good bytes", async () => {
  const size = 9 * GROUP + 11;
  const data = randomBytes(size, seededRandom(83));
  const span = { start: GROUP + 5, end: 8 * GROUP + 2 };
  const expected = data.subarray(span.start, span.end);
  const cases: [string, ProxyHooks["tamper"], new (...a: never[]) => Error, number][] = [
    [
      "flipped data in the 4th group",
      (u, r) => isPlain(u) ? editBody(r, (b) => flipBit(b, 3 * GROUP + 77)) : r,
      CorruptDataError,
      3 * GROUP - 5,
    ],
    [
      "short body",
      (u, r) => isPlain(u) ? editBody(r, (b) => b.slice(0, 5 * GROUP)) : r,
      TruncatedResponseError,
      4 * GROUP - 5,
    ],
    [
      "connection cut",
      (u, r) => isPlain(u) ? cutConnection(r, 2 * GROUP) : r,
      TruncatedResponseError,
      GROUP - 5,
    ],
    [
      "Content-Range total lie",
      (u, r) =>
        isPlain(u)
          ? withHeader(r, "Content-Range", `bytes ${GROUP}-${9 * GROUP - 1}/${size + 1}`)
          : r,
      SizeMismatchError,
      0,
    ],
    [
      "Content-Range start shifted",
      (u, r) =>
        isPlain(u) ? withHeader(r, "Content-Range", `bytes ${GROUP + 1}-${8 * GROUP}/${size}`) : r,
      MalformedResponseError,
      0,
    ],
  ];
  for (const [what, tamper, cls, min] of cases) {
    await withLyingGateway({ tamper }, async (proxy, gw) => {
      const h = await put(gw, data);
      const res = await verifiedFetch(proxy.url, h, {
        via: "outboard",
        range: span,
        cache: new VerifiedCache(),
      });
      const n = await assertFailsCleanly(res, expected, cls, min);
      assert(n <= min + GROUP, `${what}: ${n} bytes delivered`);
    });
  }
});

Deno.test("client (outboard): a cache that ignores Range still yields exactly the range", async () => {
  const data = randomBytes(7 * GROUP + 3, seededRandom(84));
  await withLyingGateway({
    editRequest: (_url, headers) => headers.delete("Range"),
  }, async (proxy, gw) => {
    const h = await put(gw, data);
    for (const span of [{ start: 3 * GROUP + 1, end: 4 * GROUP + 2 }, { start: 100 }]) {
      const res = await verifiedFetch(proxy.url, h, {
        via: "outboard",
        range: span,
        cache: new VerifiedCache(),
      });
      assertEquals(res.status, 206);
      assertEquals((await drain(res)).bytes, data.subarray(span.start, span.end));
    }
    assert(proxy.seen.some(isPlain));
  });
});

Deno.test("client: src/client and everything it imports use no Deno-only API", async () => {
  const seen = new Set<string>();
  const pending = [new URL("../src/client/mod.ts", import.meta.url)];
  while (pending.length > 0) {
    const url = pending.pop()!;
    if (seen.has(url.href)) continue;
    seen.add(url.href);
    const text = await Deno.readTextFile(url);
    assert(!/\bDeno\.[A-Za-z]/.test(text), `${url.pathname} uses Deno.`);
    for (const m of text.matchAll(/(?:import|export)[^"']*?from\s*["']([^"']+)["']/g)) {
      assert(m[1].startsWith("."), `${url.pathname} imports ${m[1]}`);
      pending.push(new URL(m[1], url));
    }
  }
  assert(seen.size > 20, `only ${seen.size} modules found`);
});
