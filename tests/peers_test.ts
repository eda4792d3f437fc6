/**
 * The peer bridge with real gateway instances on loopback: B serves what only A (or A and C
 * together) holds, shares one fetch among many clients, keeps what it fetched across restarts,
 * and survives lying and stalling peers without keeping a byte from them.
 */
import { assert, assertEquals } from "./assert.ts";
import { type Hash, parseHash, toHex } from "../src/blake3/hash.ts";
import { hash } from "../src/blake3/tree.ts";
import { encodeRanges, memorySource, sizeHeader } from "../src/bao/encode.ts";
import { outboardOf } from "../src/bao/outboard.ts";
import { readVerifiedExact } from "../src/bao/read.ts";
import { ChunkRanges } from "../src/ranges/chunk_ranges.ts";
import { ChunkRangesSeq } from "../src/ranges/range_spec.ts";
import { encodeRequest, getBlobRanges, getRequest } from "../src/protocol/request.ts";
import { MAX_DISCOVERY_CHILDREN, MAX_FORCED_CHILDREN } from "../src/protocol/discovery.ts";
import type { StoreTimings } from "../src/store/blob_store.ts";
import { storedRanges } from "../src/store/partial.ts";
import { concat, verifiedParts } from "./bao_helpers.ts";
import {
  metricValue,
  startGateway,
  type TestGateway,
  upload,
  withGateway,
} from "./gateway_helpers.ts";
import { type Lie, startLiar } from "./peer_helpers.ts";
import { Metrics } from "../src/metrics.ts";
import { BlobFetcher } from "../src/peers/fetcher.ts";
import { NotOnPeersError } from "../src/peers/errors.ts";
import { Peer, PeerSet } from "../src/peers/peer.ts";
import { BlobStore } from "../src/store/blob_store.ts";
import { asHash } from "../src/blake3/hash.ts";
import { randomBytes, seededRandom } from "./random.ts";

const FAST = { GATEWAY_PEER_TIMEOUT: "400", GATEWAY_DISCOVERY_TIMEOUT: "400" };

async function bytes(res: Response): Promise<Uint8Array> {
  return new Uint8Array(await res.arrayBuffer());
}

/** Stores the given chunk ranges of `data` in a gateway's store, as if a peer had sent them. */
async function holdPart(store: BlobStore, data: Uint8Array, ranges: ChunkRanges) {
  const { root, groups, pairs } = await verifiedParts(data, ranges);
  await store.writeVerified(root, data.length, groups, pairs, { sizeProven: true });
  return root;
}

/** Everything B's store holds of `h` verifies and equals `data` there. */
async function assertStoreHoldsOnlyTruth(store: BlobStore, h: Hash, data: Uint8Array) {
  const meta = await store.stat(h);
  if (meta === undefined) return;
  const held = storedRanges(meta).intersection(ChunkRanges.range(0, Math.ceil(data.length / 1024)));
  const b = held.boundaries;
  for (let i = 0; i < b.length; i += 2) {
    const start = b[i] * 1024, end = Math.min((b[i + 1] ?? Infinity) * 1024, data.length);
    const got = concat(await Array.fromAsync(readVerifiedExact(store.source(h, meta), start, end)));
    assertEquals(got, data.subarray(start, end));
  }
}

async function withGateways(
  fn: (a: TestGateway, b: TestGateway) => Promise<void>,
  peersOfB?: (a: TestGateway) => string,
  env: Record<string, string> = {},
  timingsOfB: Partial<StoreTimings> = {},
) {
  const a = await startGateway();
  const b = await startGateway({
    env: { GATEWAY_PEERS: peersOfB?.(a) ?? a.url, ...FAST, ...env },
    timings: timingsOfB,
  });
  try {
    await fn(a, b);
  } finally {
    await b.close();
    await a.close();
  }
}

Deno.test("peers: B serves a blob only A has, byte-exact with the contract headers, and ranges", async () => {
  await withGateways(async (a, b) => {
    const data = randomBytes(3 * (1 << 20) + 777, seededRandom(1));
    const { body } = await upload(a.url, data);
    const res = await fetch(`${b.url}/blobs/${body.hash}`);
    assertEquals(res.status, 200);
    assertEquals(res.headers.get("ETag"), `"${body.hash}"`);
    assertEquals(res.headers.get("Content-Length"), String(data.length));
    assertEquals(await bytes(res), data);
    const range = await fetch(`${b.url}/blobs/${body.hash}`, {
      headers: { Range: "bytes=1000000-1100000" },
    });
    assertEquals(range.status, 206);
    assertEquals(range.headers.get("Content-Range"), `bytes 1000000-1100000/${data.length}`);
    assertEquals(await bytes(range), data.subarray(1000000, 1100001));
    // B now holds it all, as discovery says once the last response is stored (it is served
    // as it arrives, and stored when the peer's whole response has verified).
    let info = { complete: false, validated: false, size: 0 };
    for (let i = 0; i < 100 && !info.complete; i++) {
      info = await (await fetch(`${b.url}/discovery/${body.hash}`)).json();
      if (!info.complete) await new Promise((r) => setTimeout(r, 20));
    }
    assertEquals([info.complete, info.validated, info.size], [true, true, data.length]);
    const peers = await (await fetch(`${b.url}/peers`)).json();
    assertEquals(peers.peers[0].url, a.url);
    assert(peers.peers[0].successes > 0 && peers.peers[0].healthy);
  });
});

Deno.test("peers: any Range through B answers as A does, from nothing held to all of it", async () => {
  await withGateways(async (a, b) => {
    const size = 4 * 1024 * 1024 + 12345;
    const { body } = await upload(a.url, randomBytes(size, seededRandom(16)));
    const rand = seededRandom(17);
    const at = () => Math.floor(rand() * (size + 2000));
    const header = () => {
      switch (Math.floor(rand() * 5)) {
        case 0:
          return `bytes=${at()}-`;
        case 1:
          return `bytes=-${Math.floor(rand() * 300_000)}`;
        case 2: {
          const [x, y, z, w] = [at(), at(), at(), at()].sort((p, q) => p - q);
          return `bytes=${x}-${y},${z}-${w}`;
        }
        default: {
          const x = at();
          return `bytes=${x}-${x + Math.floor(rand() * 100_000)}`;
        }
      }
    };
    /** Status, the headers that matter, and the body with any multipart boundary named alike. */
    const answer = async (g: TestGateway, range: string) => {
      const res = await fetch(`${g.url}/blobs/${body.hash}`, { headers: { Range: range } });
      const type = res.headers.get("Content-Type") ?? "";
      const boundary = /boundary=(.+)$/.exec(type)?.[1];
      let text = new TextDecoder("latin1").decode(await bytes(res));
      if (boundary !== undefined) text = text.replaceAll(boundary, "BOUNDARY");
      return {
        status: res.status,
        range: res.headers.get("Content-Range"),
        type: type.replace(/boundary=.+$/, ""),
        length: res.headers.get("Content-Length"),
        text,
      };
    };
    const ranges = Array.from({ length: 24 }, header);
    for (const range of ranges.slice(0, 16)) {
      assertEquals(await answer(b, range), await answer(a, range), range);
    }
    // The rest at once, on what B holds by now.
    const together = await Promise.all(ranges.slice(16).map((r) => answer(b, r)));
    for (const [k, range] of ranges.slice(16).entries()) {
      assertEquals(together[k], await answer(a, range), range);
    }
  });
});

Deno.test("peers: plain and bao readers of a missing blob, all at once, share the fetch and get exact bytes", async () => {
  await withGateways(async (a, b) => {
    const size = 6 * 1024 * 1024 + 4321;
    const data = randomBytes(size, seededRandom(20));
    const { body } = await upload(a.url, data);
    const url = `${b.url}/blobs/${body.hash}`;
    const source = memorySource(data, outboardOf(data));
    const rand = seededRandom(21);
    const plain = Array.from({ length: 12 }, async () => {
      const first = Math.floor(rand() * size);
      const last = Math.min(first + Math.floor(rand() * 1_500_000), size - 1);
      const res = await fetch(url, { headers: { Range: `bytes=${first}-${last}` } });
      assertEquals(await bytes(res), data.subarray(first, last + 1), `${first}-${last}`);
    });
    const bao = Array.from({ length: 3 }, async () => {
      const [w, x] = [Math.floor(rand() * 7000), Math.floor(rand() * 7000)].sort((p, q) => p - q);
      const chunks = ChunkRanges.range(w, x + 1);
      const expected = concat([
        sizeHeader(size),
        ...await Array.fromAsync(encodeRanges(source, chunks)),
      ]);
      const res = await fetch(`${url}?format=bao&chunks=${chunks}`);
      assertEquals(await bytes(res), expected, String(chunks));
    });
    await Promise.all([...plain, ...bao]);
    const health = (await (await fetch(`${b.url}/peers`)).json()).peers;
    assertEquals(health[0].failures, 0);
  });
});

Deno.test("peers: clients that go away mid-stream leave B serving and storing normally", async () => {
  await withGateways(async (a, b) => {
    const size = 12 << 20;
    const data = randomBytes(size, seededRandom(22));
    const { body } = await upload(a.url, data);
    const url = `${b.url}/blobs/${body.hash}`;
    // Plain and bao readers each take a little and hang up, several at once.
    await Promise.all([url, `${url}?format=bao`, url, `${url}?format=bao`].map(async (u) => {
      const reader = (await fetch(u)).body!.getReader();
      await reader.read();
      await reader.cancel();
    }));
    assertEquals(await bytes(await fetch(url)), data);
    const health = (await (await fetch(`${b.url}/peers`)).json()).peers;
    assertEquals(health[0].failures, 0);
  });
});

Deno.test("peers: a blob held half by A and half by C is served whole by B", async () => {
  const a = await startGateway();
  const c = await startGateway();
  const b = await startGateway({ env: { GATEWAY_PEERS: `${a.url},${c.url}`, ...FAST } });
  try {
    const data = randomBytes(40 * 16384 + 999, seededRandom(2));
    const chunks = Math.ceil(data.length / 1024);
    const half = 20 * 16;
    const h = await holdPart(a.store, data, ChunkRanges.range(0, half));
    await holdPart(c.store, data, ChunkRanges.range(half, chunks));
    const res = await fetch(`${b.url}/blobs/${toHex(h)}`);
    assertEquals(res.status, 200);
    assertEquals(await bytes(res), data);
    // Each peer was asked only for what it holds, and neither failed.
    const peers = (await (await fetch(`${b.url}/peers`)).json()).peers;
    assert(peers.every((p: { failures: number }) => p.failures === 0), JSON.stringify(peers));
    assert(peers.every((p: { bytesReceived: number }) => p.bytesReceived > 0));
  } finally {
    await b.close();
    await c.close();
    await a.close();
  }
});

Deno.test("peers: random parts held by three peers make whole answers on B, plain and bao", async () => {
  const rand = seededRandom(18);
  const peers = await Promise.all([0, 1, 2].map(() => startGateway()));
  const b = await startGateway({
    env: { GATEWAY_PEERS: peers.map((p) => p.url).join(","), ...FAST },
  });
  try {
    const data = randomBytes(90 * 16384 + 777, rand);
    const groups = Math.ceil(data.length / 16384);
    // Every group with one or two of the peers; the last group (the size proof) with all.
    const held: ChunkRanges[] = peers.map(() => ChunkRanges.EMPTY);
    for (let g = 0; g < groups; g++) {
      const owners = g === groups - 1 ? [0, 1, 2] : [Math.floor(rand() * 3)];
      if (rand() < 0.3) owners.push(Math.floor(rand() * 3));
      for (const o of owners) held[o] = held[o].union(ChunkRanges.range(g * 16, (g + 1) * 16));
    }
    let h: Hash | undefined;
    for (const [o, p] of peers.entries()) h = await holdPart(p.store, data, held[o]);
    const url = `${b.url}/blobs/${toHex(h!)}`;
    for (let i = 0; i < 6; i++) {
      const first = Math.floor(rand() * data.length);
      const last = Math.min(first + Math.floor(rand() * 200_000), data.length - 1);
      const res = await fetch(url, { headers: { Range: `bytes=${first}-${last}` } });
      assertEquals(res.status, 206);
      assertEquals(await bytes(res), data.subarray(first, last + 1), `${first}-${last}`);
    }
    const source = memorySource(data, outboardOf(data));
    for (let i = 0; i < 3; i++) {
      const [w, x, y, z] = Array.from({ length: 4 }, () => Math.floor(rand() * 1500))
        .sort((p, q) => p - q);
      const chunks = ChunkRanges.parse(`${w}..${x + 1},${y + 2}..${z + 3}`);
      const expected = concat([
        sizeHeader(data.length),
        ...await Array.fromAsync(encodeRanges(source, chunks)),
      ]);
      const res = await fetch(`${url}?format=bao&chunks=${chunks}`);
      assertEquals(await bytes(res), expected, String(chunks));
    }
    assertEquals(await bytes(await fetch(url)), data);
    const health = (await (await fetch(`${b.url}/peers`)).json()).peers;
    assert(health.every((p: { failures: number }) => p.failures === 0), JSON.stringify(health));
  } finally {
    await b.close();
    for (const p of peers) await p.close();
  }
});

Deno.test("peers: after B restarts it still holds what it fetched, and says so", async () => {
  const a = await startGateway();
  const kv = await Deno.openKv(":memory:");
  try {
    const data = randomBytes(300_000, seededRandom(3));
    const { body } = await upload(a.url, data);
    const b1 = await startGateway({ kv, env: { GATEWAY_PEERS: a.url, ...FAST } });
    const part = await fetch(`${b1.url}/blobs/${body.hash}`, { headers: { Range: "bytes=0-999" } });
    assertEquals(await bytes(part), data.subarray(0, 1000));
    await b1.close();
    await a.close();
    // B again, on the same KV, with its peer gone: what it fetched is still there.
    const b2 = await startGateway({ kv, env: { GATEWAY_PEERS: a.url, ...FAST } });
    try {
      const info = await (await fetch(`${b2.url}/discovery/${body.hash}`)).json();
      assertEquals([info.size, info.complete], [data.length, false]);
      assertEquals(info.ranges[0], [0, 16]);
      const again = await fetch(`${b2.url}/blobs/${body.hash}`, {
        headers: { Range: "bytes=0-999", "Cache-Control": "only-if-cached" },
      });
      assertEquals(await bytes(again), data.subarray(0, 1000));
      // A HEAD answers as the GET would, without reading: 412 under only-if-cached for what
      // is not all here, plain (a HEAD ignores Range: the whole blob) or as Bao (where Range
      // chooses the chunks, for HEAD too).
      const blobUrl = `${b2.url}/blobs/${body.hash}`;
      for (
        const [url, range, status] of [
          [blobUrl, undefined, 412],
          [`${blobUrl}?format=bao&chunks=0..16`, undefined, 200],
          [`${blobUrl}?format=bao`, "bytes=0-999", 200],
          [`${blobUrl}?format=bao`, "bytes=0-99999", 412],
          [`${blobUrl}?format=bao`, undefined, 412],
        ] as const
      ) {
        const headers: Record<string, string> = { "Cache-Control": "only-if-cached" };
        if (range !== undefined) headers.Range = range;
        const [head, get] = await Promise.all(
          ["HEAD", "GET"].map((method) => fetch(url, { method, headers })),
        );
        await get.body?.cancel();
        assertEquals([head.status, get.status], [status, status], `${url} ${range}`);
        assertEquals(head.headers.get("Cache-Control"), get.headers.get("Cache-Control"));
      }
    } finally {
      await b2.close();
    }
  } finally {
    kv.close();
  }
});

Deno.test("peers: ten concurrent clients of B for one missing blob cause one fetch from A", async () => {
  await withGateways(async (a, b) => {
    const data = randomBytes(2 << 20, seededRandom(4));
    const { body } = await upload(a.url, data);
    const results = await Promise.all(
      Array.from({ length: 10 }, () => fetch(`${b.url}/blobs/${body.hash}`).then(bytes)),
    );
    for (const r of results) assertEquals(r, data);
    const m = await (await fetch(`${a.url}/metrics`)).text();
    // The first contact (first group and size proof) and one window of data, and maybe the
    // group of the last chunk on its own (asked for behind the first contact, unless the
    // window asked first): 2 or 3 requests, whatever the number of clients.
    const gets = metricValue(
      m,
      "gateway_requests_total",
      '{route="/get",method="POST",status="200"}',
    );
    assert(gets === 2 || gets === 3, `${gets} requests`);
  });
});

Deno.test("peers: ?format=bao of chunks B lacks equals A's encoding, for any ranges", async () => {
  await withGateways(async (a, b) => {
    const size = 16 << 20;
    const { body } = await upload(a.url, randomBytes(size, seededRandom(13)));
    const url = (g: TestGateway, chunks: string) =>
      `${g.url}/blobs/${body.hash}?format=bao&chunks=${chunks}`;
    const first = await fetch(url(b, "100..3000"));
    assertEquals([first.status, first.headers.get("Content-Type")], [200, "application/x-bao"]);
    assertEquals(await bytes(first), await bytes(await fetch(url(a, "100..3000"))));
    // Random pairs of ranges, some past the end (which asks for the last chunk), each partly
    // held by B from the requests before it.
    const rand = seededRandom(14);
    for (let i = 0; i < 6; i++) {
      const [w, x, y, z] = Array.from({ length: 4 }, () => Math.floor(rand() * 20_000))
        .sort((p, q) => p - q);
      const chunks = `${w}..${x + 1},${y + 2}..${z + 3}`;
      const expected = await bytes(await fetch(url(a, chunks)));
      assertEquals(await bytes(await fetch(url(b, chunks))), expected, chunks);
    }
  });
});

Deno.test("peers: ?format=bao from a blob B holds in as many pieces as it keeps", async () => {
  await withGateways(async (a, b) => {
    // 1,023 pieces of one group (every other group), a gap of five groups, the last group:
    // 2,047 boundaries, one short of the most a partial blob keeps (MAX_BOUNDARIES).
    const groups = 2046 + 5 + 1;
    const data = randomBytes(groups * 16384 - 100, seededRandom(34));
    const { body } = await upload(a.url, data);
    let pieces = ChunkRanges.range((groups - 1) * 16);
    for (let g = 0; g < 2046; g += 2) pieces = pieces.union(ChunkRanges.range(g * 16, g * 16 + 16));
    await holdPart(b.store, data, pieces);
    assertEquals(
      storedRanges((await b.store.stat(parseHash(body.hash!)))!).boundaries.length,
      2047,
    );
    // A group in the middle of the gap would be a piece too many: the gap is filled instead.
    const chunks = `${2048 * 16}..${2049 * 16}`;
    const url = (g: TestGateway) => `${g.url}/blobs/${body.hash}?format=bao&chunks=${chunks}`;
    const res = await fetch(url(b));
    assertEquals(res.status, 200);
    assertEquals(await bytes(res), await bytes(await fetch(url(a))));
  });
});

Deno.test("peers: ?format=bao of a blob B lacks streams as it arrives", async () => {
  await withGateways(async (a, b) => {
    const size = 16 << 20;
    const { body } = await upload(a.url, randomBytes(size, seededRandom(15)));
    const url = (g: TestGateway) => `${g.url}/blobs/${body.hash}?format=bao`;
    const reader = (await fetch(url(b))).body!.getReader();
    const first = await reader.read();
    assert(!first.done && first.value.length > 0);
    // The first bytes left long before the blob was all fetched: at most a few 1 MiB windows
    // ahead of the reader were stored by then.
    const meta = await b.store.stat(parseHash(body.hash!));
    const held = meta === undefined ? 0 : storedRanges(meta).intersection(
      ChunkRanges.range(0, size / 1024),
    ).boundaries.reduce(
      (n, x, i, all) => i % 2 === 0 ? n + ((all[i + 1] ?? size / 1024) - x) : n,
      0,
    );
    assert(held * 1024 < size * 0.75, `B held ${held} KiB when the first bytes left`);
    const rest = [first.value];
    for (let r = await reader.read(); !r.done; r = await reader.read()) rest.push(r.value);
    assertEquals(concat(rest), await bytes(await fetch(url(a))));
  });
});

Deno.test("peers: fetched data beyond GATEWAY_CACHE_BYTES is evicted as it arrives, least recently read first", async () => {
  await withGateways(
    async (a, b) => {
      const rand = seededRandom(12);
      const [x, y, z] = await Promise.all([0, 1, 2].map(async () => {
        const data = randomBytes(200_000, rand);
        return { data, hash: (await upload(a.url, data)).body.hash! };
      }));
      const mine = await upload(b.url, randomBytes(300_000, rand));
      const held = async (h: string) =>
        (await (await fetch(`${b.url}/discovery/${h}`)).json()).complete as boolean;
      /** Reads `h` whole through B and waits until B has stored it (storage follows serving). */
      const read = async (h: string, data: Uint8Array) => {
        assertEquals(await bytes(await fetch(`${b.url}/blobs/${h}`)), data);
        for (let i = 0; i < 200 && !(await held(h)); i++) {
          await new Promise((r) => setTimeout(r, 10));
        }
        assert(await held(h), `B stored ${h}`);
      };
      await read(x.hash, x.data);
      await read(y.hash, y.data);
      // x read again (from B's store): y is now the least recently read.
      await new Promise((r) => setTimeout(r, 5));
      await read(x.hash, x.data);
      // z takes the cache to 600,000 bytes of its 450,000: y goes, with no GC run (right after
      // z is stored, which itself follows serving).
      await read(z.hash, z.data);
      const gone = async (h: string) => (await b.store.stat(parseHash(h))) === undefined;
      for (let i = 0; i < 200 && !(await gone(y.hash)); i++) {
        await new Promise((r) => setTimeout(r, 10));
      }
      assertEquals([await gone(x.hash), await gone(y.hash)], [false, true]);
      assert(await held(mine.body.hash!), "an upload (pinned) is neither counted nor evicted");
      // y is still one request away.
      assertEquals(await bytes(await fetch(`${b.url}/blobs/${y.hash}`)), y.data);
    },
    undefined,
    { GATEWAY_CACHE_BYTES: "450000" },
    // Nothing counts as in use: the order alone decides (the next test keeps in-use blobs).
    { inUseMs: 0 },
  );
});

Deno.test("peers: a blob larger than the whole cache budget is fetched, served and kept while in use", async () => {
  await withGateways(
    async (a, b) => {
      const data = randomBytes(6 << 20, seededRandom(25));
      const { body } = await upload(a.url, data);
      // Bounded: a regression here cuts the streams, and must fail rather than hang.
      const get = async (url: string) =>
        await bytes(await fetch(url, { signal: AbortSignal.timeout(20_000) }));
      const path = `/blobs/${body.hash}`;
      assertEquals(
        await get(`${b.url}${path}?format=bao`),
        await get(`${a.url}${path}?format=bao`),
      );
      assertEquals(await get(`${b.url}${path}`), data);
      await b.store.evictionSettled();
      assert((await b.store.stat(parseHash(body.hash!))) !== undefined, "kept while in use");
      const health = (await (await fetch(`${b.url}/peers`)).json()).peers;
      assertEquals(health[0].failures, 0);
      // No longer in use, it goes at the next scan.
      assertEquals((await b.store.gc(Date.now() + 60_000)).evicted, 1);
    },
    undefined,
    { GATEWAY_CACHE_BYTES: "1000000" },
  );
});

Deno.test("peers: a slow client keeps its cached blob through a pause longer than inUseMs", async () => {
  await withGateways(
    async (a, b) => {
      // Larger than what loopback sockets and the body stream buffer between B and the client,
      // so that most of it is still to be read from B's store after the pause.
      const data = randomBytes(32 << 20, seededRandom(26));
      const { body } = await upload(a.url, data);
      const h = parseHash(body.hash!);
      assertEquals(await bytes(await fetch(`${b.url}/blobs/${body.hash}`)), data);
      for (let i = 0; i < 500 && (await b.store.stat(h))?.partial !== undefined; i++) {
        await new Promise((r) => setTimeout(r, 10));
      }
      assertEquals((await b.store.stat(h))?.partial, undefined, "B stored all of it");
      const res = await fetch(`${b.url}/blobs/${body.hash}`);
      const reader = res.body!.getReader();
      const got = [(await reader.read()).value!];
      // Paused well past `inUseMs`, then a scan that finds the cache 32 times over budget.
      await new Promise((r) => setTimeout(r, 500));
      assertEquals((await b.store.gc()).evicted, 0);
      for (let r = await reader.read(); !r.done; r = await reader.read()) got.push(r.value);
      assertEquals(concat(got), data);
      assertEquals((await b.store.gc(Date.now() + 60_000)).evicted, 1, "let go once sent");
    },
    undefined,
    { GATEWAY_CACHE_BYTES: "1000000" },
    { inUseMs: 100 },
  );
});

Deno.test("peers: only-if-cached gets 412 without asking peers", async () => {
  await withGateways(async (a, b) => {
    const { body } = await upload(a.url, randomBytes(5000, seededRandom(5)));
    const res = await fetch(`${b.url}/blobs/${body.hash}`, {
      headers: { "Cache-Control": "max-age=0, only-if-cached" },
    });
    assertEquals(res.status, 412);
    // Not here now; it may be a moment later: no cache keeps the refusal.
    assertEquals(res.headers.get("Cache-Control"), "no-store");
    assertEquals((await res.json()).error, "not cached");
    const m = await (await fetch(`${a.url}/metrics`)).text();
    assertEquals(
      metricValue(
        m,
        "gateway_requests_total",
        '{route="/discovery",method="POST",status="200"}',
      ),
      0,
    );
  });
});

Deno.test("peers: a peer that cannot be asked makes a miss 502 or 504, not 404, and is asked again", async () => {
  const a = await startGateway();
  let mode: "down" | "stall" | "up" = "down";
  let release!: () => void;
  const stalled = new Promise<void>((r) => release = r);
  // A in front of a switch: refusing (503), hanging, or passing requests through.
  const proxy = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, async (req) => {
    if (mode === "down") return new Response("down", { status: 503 });
    if (mode === "stall") {
      await stalled;
      return new Response("late", { status: 503 });
    }
    const url = new URL(req.url);
    return await fetch(`${a.url}${url.pathname}${url.search}`, {
      method: req.method,
      headers: req.headers,
      body: req.method === "POST" ? await req.arrayBuffer() : undefined,
    });
  });
  const b = await startGateway({
    env: { GATEWAY_PEERS: `http://127.0.0.1:${proxy.addr.port}`, ...FAST },
  });
  try {
    const data = randomBytes(40_000, seededRandom(28));
    const { body } = await upload(a.url, data);
    // Failing, then resting after repeated failures: a miss stays 502 all along.
    for (let i = 0; i < 4; i++) {
      const down = await fetch(`${b.url}/blobs/${body.hash}`);
      assertEquals([down.status, (await down.json()).error], [502, "peers failed"], `try ${i}`);
    }
    mode = "stall";
    // Resting after its failures (502 meanwhile), the peer is asked once its rest is over.
    let stall: Response | undefined;
    for (let i = 0; i < 100 && stall?.status !== 504; i++) {
      if (stall !== undefined) assertEquals(stall.status, 502);
      await stall?.body?.cancel();
      await new Promise((r) => setTimeout(r, 100));
      stall = await fetch(`${b.url}/blobs/${body.hash}`);
    }
    assertEquals(stall!.status, 504);
    assertEquals(stall!.headers.get("Retry-After") !== null, true);
    await stall!.body?.cancel();
    mode = "up";
    let up: Response | undefined;
    for (let i = 0; i < 40 && up?.status !== 200; i++) {
      await up?.body?.cancel();
      await new Promise((r) => setTimeout(r, 100));
      up = await fetch(`${b.url}/blobs/${body.hash}`);
    }
    assertEquals(up!.status, 200, "no failure was remembered as an answer");
    assertEquals(await bytes(up!), data);
  } finally {
    release();
    await b.close();
    await proxy.shutdown();
    await a.close();
  }
});

Deno.test("peers: gateways chain: C serves from B what B fetched in part from A", async () => {
  const a = await startGateway();
  const b = await startGateway({ env: { GATEWAY_PEERS: a.url, ...FAST } });
  const c = await startGateway({ env: { GATEWAY_PEERS: b.url, ...FAST } });
  try {
    const data = randomBytes((1 << 20) + 5000, seededRandom(29));
    const { body } = await upload(a.url, data);
    const range = { Range: "bytes=0-99" };
    assertEquals(
      await bytes(await fetch(`${b.url}/blobs/${body.hash}`, { headers: range })),
      data.subarray(0, 100),
    );
    // B stores the group of the last chunk, which proved the size, behind its answer.
    let found: { validated: boolean; ranges: [number, number | null][] } | undefined;
    for (let i = 0; i < 100 && !found?.validated; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 20));
      found = await (await fetch(`${b.url}/discovery/${body.hash}`)).json();
    }
    assert(found!.validated, JSON.stringify(found));
    assertEquals(found!.ranges.at(-1)![1], null, "B claims the end of the blob");
    const fromC = await fetch(`${c.url}/blobs/${body.hash}`, { headers: range });
    assertEquals(fromC.status, 206);
    assertEquals(await bytes(fromC), data.subarray(0, 100));
    // Asked for chunks it lacks, B says so (404), without counting corruption.
    const lacking = await fetch(`${b.url}/get`, {
      method: "POST",
      body: encodeRequest(
        getBlobRanges(parseHash(body.hash!), ChunkRanges.range(100, 200)),
      ) as Uint8Array<ArrayBuffer>,
    });
    assertEquals(lacking.status, 404);
    await lacking.body?.cancel();
    const m = await (await fetch(`${b.url}/metrics`)).text();
    assertEquals(metricValue(m, "gateway_verification_failures_total", '{source="store"}'), 0);
  } finally {
    await c.close();
    await b.close();
    await a.close();
  }
});

Deno.test("peers: a restricted Willow payload answers as a blob B lacks: peers asked alike", async () => {
  const token = { Authorization: "Bearer t" };
  await withGateways(
    async (a, b) => {
      const created = await fetch(`${b.url}/willow/namespaces`, {
        method: "POST",
        headers: token,
        body: "{}",
      });
      const { namespace, user } = await created.json();
      const put = async (path: string, body: string) => {
        const res = await fetch(`${b.url}/willow/${namespace}/${user}/${path}`, {
          method: "PUT",
          headers: token,
          body,
        });
        return ((await res.json()).entry as { payloadDigest: string }).payloadDigest;
      };
      const shared = await put("shared", "also on A, in public");
      const secret = await put("secret", "only here, in private");
      assertEquals(
        (await upload(a.url, new TextEncoder().encode("also on A, in public"))).status,
        201,
      );
      // Held by a peer in public, it is public: B serves it (and from its own store).
      const res = await fetch(`${b.url}/blobs/${shared}`);
      assertEquals(await res.text(), "also on A, in public");
      // Held nowhere else: the same 404 as a blob B lacks, after asking A the same way.
      const answer = async (hex: string) => {
        const r = await fetch(`${b.url}/blobs/${hex}`);
        const body = await r.json();
        return [r.status, body.error, body.detail.replace(hex, "<hash>")];
      };
      assertEquals(await answer(secret), await answer("cd".repeat(32)));
    },
    undefined,
    { GATEWAY_TOKEN: "t", GATEWAY_SECRET_KEY: "7f".repeat(32) },
  );
});

Deno.test("peers: a peer that claims a restricted blob without proving it publishes nothing", async () => {
  // Claims every blob whole in discovery, then answers every Get with bytes that prove nothing.
  const claimer = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, (req) => {
    const path = new URL(req.url).pathname;
    if (path.startsWith("/discovery")) {
      return new Response(
        ChunkRangesSeq.fromRanges([ChunkRanges.ALL]).encode() as Uint8Array<ArrayBuffer>,
      );
    }
    return new Response(new Uint8Array(8 + 1024).fill(7));
  });
  const token = { Authorization: "Bearer t" };
  const b = await startGateway({
    env: {
      GATEWAY_PEERS: `http://127.0.0.1:${claimer.addr.port}`,
      GATEWAY_TOKEN: "t",
      GATEWAY_SECRET_KEY: "7f".repeat(32),
      ...FAST,
    },
  });
  try {
    const created = await (await fetch(`${b.url}/willow/namespaces`, {
      method: "POST",
      headers: token,
      body: "{}",
    })).json();
    const put = await fetch(`${b.url}/willow/${created.namespace}/${created.user}/secret`, {
      method: "PUT",
      headers: token,
      body: "only here, in private",
    });
    const secret = (await put.json()).entry.payloadDigest as string;
    const answer = async (hex: string) => {
      const r = await fetch(`${b.url}/blobs/${hex}`);
      return [r.status, (await r.json()).error];
    };
    // As for a blob B lacks: the claim is tried, fails verification, 502; and it stays private.
    for (let i = 0; i < 2; i++) {
      assertEquals(await answer(secret), [502, "peers failed"]);
      assertEquals(await answer("ef".repeat(32)), [502, "peers failed"]);
    }
    assertEquals((await b.store.stat(parseHash(secret)))?.restricted, true);
  } finally {
    await b.close();
    await claimer.shutdown();
  }
});

Deno.test("peers: a blob no peer has is 404", async () => {
  await withGateways(async (_a, b) => {
    const res = await fetch(`${b.url}/blobs/${"ab".repeat(32)}`);
    assertEquals(res.status, 404);
    await res.body?.cancel();
  });
});

for (const lie of ["flip-data", "swap-pair", "wrong-size", "truncate", "stall"] as Lie[]) {
  Deno.test(`peers: a peer that lies (${lie}) is cut, B serves A's bytes and keeps nothing from it`, async () => {
    const a = await startGateway();
    const liar = startLiar(a.url, lie);
    // The liar is listed first, so it is tried first.
    const b = await startGateway({ env: { GATEWAY_PEERS: `${liar.url},${a.url}`, ...FAST } });
    try {
      const data = randomBytes(600_000, seededRandom(6));
      const { body } = await upload(a.url, data);
      const res = await fetch(`${b.url}/blobs/${body.hash}`);
      assertEquals(res.status, 200);
      assertEquals(await bytes(res), data);
      assert(liar.requests() > 0, "the liar was asked");
      await assertStoreHoldsOnlyTruth(b.store, parseHash(body.hash!), data);
      const peers = (await (await fetch(`${b.url}/peers`)).json()).peers;
      const bad = peers.find((p: { url: string }) => p.url === liar.url);
      assert(bad.failures > 0 && !bad.healthy, JSON.stringify(bad));
      const reason = lie === "stall" ? "timeout" : lie === "truncate" ? "truncated" : "bad-data";
      assert(bad.failuresByReason[reason] > 0, JSON.stringify(bad));
      const m = await (await fetch(`${b.url}/metrics`)).text();
      assert(
        metricValue(m, "gateway_peer_failures_total", `{peer="${liar.url}",reason="${reason}"}`) >
          0,
      );
    } finally {
      await b.close();
      await liar.close();
      await a.close();
    }
  });
}

const HOSTILE: { lie: Lie; honestFor: number; reason: string }[] = [
  // Honest at first contact, then a byte every 20 ms: never silent, never getting on.
  { lie: "drip", honestFor: 1, reason: "timeout" },
  { lie: "redirect", honestFor: 0, reason: "status" },
  { lie: "discovery-trickle", honestFor: 0, reason: "timeout" },
  { lie: "discovery-flood", honestFor: 0, reason: "protocol" },
];
for (const { lie, honestFor, reason } of HOSTILE) {
  Deno.test(`peers: a peer that answers with ${lie} is cut in time; B serves A's bytes`, async () => {
    const a = await startGateway();
    const liar = startLiar(a.url, lie, honestFor);
    const b = await startGateway({ env: { GATEWAY_PEERS: `${liar.url},${a.url}`, ...FAST } });
    try {
      const data = randomBytes(600_000, seededRandom(31));
      const { body } = await upload(a.url, data);
      // A regression hangs here: fail instead.
      const res = await fetch(`${b.url}/blobs/${body.hash}`, {
        signal: AbortSignal.timeout(20_000),
      });
      assertEquals(res.status, 200);
      assertEquals(await bytes(res), data);
      await assertStoreHoldsOnlyTruth(b.store, parseHash(body.hash!), data);
      const peers = (await (await fetch(`${b.url}/peers`)).json()).peers;
      const bad = peers.find((p: { url: string }) => p.url === liar.url);
      assert(bad.failuresByReason[reason] > 0, JSON.stringify(bad));
      // Redirects are not followed: the liar cannot make B write to A (a loopback writer).
      assertEquals((await Array.fromAsync(a.store.list())).length, 1, "A holds only the upload");
    } finally {
      await b.close();
      await liar.close();
      await a.close();
    }
  });
}

Deno.test("peers: answers about ever new missing hashes do not pile up in memory", async () => {
  const a = await startGateway();
  const kv = await Deno.openKv(":memory:");
  const metrics = new Metrics();
  const fetcher = new BlobFetcher(new BlobStore(kv), new PeerSet([a.url]), metrics, {
    availabilityTtlMs: 1,
  });
  try {
    const rand = seededRandom(32);
    let misses = 0;
    for (let round = 0; round < 60; round++) {
      await Promise.all(Array.from({ length: 50 }, async () => {
        const missing = asHash(randomBytes(32, rand));
        await fetcher.meta(missing).catch((e) => {
          if (e instanceof NotOnPeersError) misses++;
        });
      }));
    }
    assertEquals(misses, 3000);
    // Swept whenever the map doubles past 1,024: never near the 3,000 hashes asked about.
    const remembered = metrics.peerAnswers.get();
    assert(remembered > 0 && remembered <= 2048, `${remembered} answers remembered`);
  } finally {
    kv.close();
    await a.close();
  }
});

Deno.test("peers: a reader is a window ahead only once half-way through the current one", async () => {
  const a = await startGateway();
  const kv = await Deno.openKv(":memory:");
  const store = new BlobStore(kv);
  // Windows of 4 groups (64 KiB) over a blob of 40 groups.
  const fetcher = new BlobFetcher(store, new PeerSet([a.url]), new Metrics(), { windowGroups: 4 });
  try {
    const data = randomBytes(40 * 16384, seededRandom(33));
    const h = parseHash((await upload(a.url, data)).body.hash!);
    const meta = await fetcher.meta(h);
    const reader = fetcher.groups(h, meta, 0, 40 * 16);
    /** Groups stored by now, by index, once every fetch asked for has landed. */
    const storedGroups = async () => {
      await new Promise((r) => setTimeout(r, 300));
      const ranges = storedRanges((await store.stat(h))!);
      return Array.from({ length: 40 }, (_, g) => g).filter((g) =>
        ranges.covers(g * 16, g * 16 + 16)
      );
    };
    const first = await reader.next();
    assertEquals(first.value!.data, data.subarray(0, 16384));
    // The first window, and the last group that first contact stores for the size proof.
    assertEquals(await storedGroups(), [0, 1, 2, 3, 39]);
    await reader.next();
    await reader.next(); // group 2: half-way
    assertEquals(await storedGroups(), [0, 1, 2, 3, 4, 5, 6, 7, 39]);
    await reader.return(undefined);
  } finally {
    await store.close();
    kv.close();
    await a.close();
  }
});

Deno.test("peers: a discovery answer forgives being unreachable, never a lie in between", () => {
  const liar = new Peer("http://liar");
  // Lies, drops a discovery request, answers the next: still counted, and it rests.
  liar.recordFailure("bad-data", "flipped a byte");
  liar.recordFailure("unreachable", "connection closed");
  liar.recordAnswer();
  liar.recordFailure("bad-data", "flipped a byte");
  assertEquals([liar.status().consecutiveFailures, liar.available], [3, false]);
  const down = new Peer("http://down");
  for (let i = 0; i < 3; i++) down.recordFailure("unreachable", "refused");
  down.recordAnswer();
  assertEquals([down.healthy, down.available], [true, true]);
});

Deno.test("peers: a peer that was unreachable is healthy again once it answers discovery", async () => {
  const a = await startGateway();
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = probe.addr;
  probe.close();
  const b = await startGateway({ env: { GATEWAY_PEERS: `http://127.0.0.1:${port}`, ...FAST } });
  let proxy: Deno.HttpServer | undefined;
  try {
    const missing = `${b.url}/blobs/${"cd".repeat(32)}`;
    const down = await fetch(missing);
    assertEquals(down.status, 502);
    await down.body?.cancel();
    const status = async () => (await (await fetch(`${b.url}/peers`)).json()).peers[0];
    assertEquals((await status()).consecutiveFailures, 1);
    // The peer comes back (A behind its address) and says it has no such blob.
    proxy = Deno.serve({ hostname: "127.0.0.1", port, onListen() {} }, (req) => {
      const url = new URL(req.url);
      return fetch(`${a.url}${url.pathname}`, {
        method: req.method,
        headers: req.headers,
        body: req.body,
      });
    });
    const back = await fetch(missing);
    assertEquals(back.status, 404);
    await back.body?.cancel();
    const peer = await status();
    assertEquals([peer.healthy, peer.consecutiveFailures], [true, 0], JSON.stringify(peer));
  } finally {
    await proxy?.shutdown();
    await b.close();
    await a.close();
  }
});

Deno.test("peers: with only a liar, 502; with only a staller, 504 with Retry-After", async () => {
  const a = await startGateway();
  const liar = startLiar(a.url, "flip-data");
  const staller = startLiar(a.url, "stall");
  const viaLiar = await startGateway({ env: { GATEWAY_PEERS: liar.url, ...FAST } });
  const viaStaller = await startGateway({ env: { GATEWAY_PEERS: staller.url, ...FAST } });
  try {
    const { body } = await upload(a.url, randomBytes(100_000, seededRandom(7)));
    const r1 = await fetch(`${viaLiar.url}/blobs/${body.hash}`);
    assertEquals(r1.status, 502);
    assertEquals((await r1.json()).error, "peers failed");
    assertEquals(await viaLiar.store.stat(parseHash(body.hash!)), undefined, "nothing kept");
    const r2 = await fetch(`${viaStaller.url}/blobs/${body.hash}`);
    assertEquals(r2.status, 504);
    assert(r2.headers.get("Retry-After") !== null);
    await r2.body?.cancel();
  } finally {
    await viaStaller.close();
    await viaLiar.close();
    await staller.close();
    await liar.close();
    await a.close();
  }
});

Deno.test("peers: bao of a blob B lacks, from a peer that lies after its first answer", async () => {
  const a = await startGateway();
  const rand = seededRandom(24);
  const liars = [startLiar(a.url, "flip-data", 1), startLiar(a.url, "swap-pair", 1)];
  const onlyLiar = await startGateway({ env: { GATEWAY_PEERS: liars[0].url, ...FAST } });
  try {
    const data = randomBytes(3 << 20, rand);
    const { body } = await upload(a.url, data);
    const url = (g: TestGateway) => `${g.url}/blobs/${body.hash}?format=bao&chunks=100..2000`;
    const expected = await bytes(await fetch(url(a)));
    // The liar answers first contact honestly, then lies about the window: a clean 502.
    const failed = await fetch(url(onlyLiar));
    assertEquals(failed.status, 502);
    assertEquals((await failed.json()).error, "peers failed");
    await assertStoreHoldsOnlyTruth(onlyLiar.store, parseHash(body.hash!), data);
    // A plain read from it alone: the honest first group, then the stream is cut, never false.
    const plain = await fetch(`${onlyLiar.url}/blobs/${body.hash}`);
    let received: Uint8Array = new Uint8Array(0);
    try {
      received = await bytes(plain);
    } catch {
      // The cut may reach the client as an error rather than a short body.
    }
    assert(received.length < data.length, "the response was cut");
    await assertStoreHoldsOnlyTruth(onlyLiar.store, parseHash(body.hash!), data);
    // With an honest peer after the liar, the answer is exact and the liar is blamed.
    for (const liar of [...liars, startLiar(a.url, "truncate", 1)]) {
      const b = await startGateway({ env: { GATEWAY_PEERS: `${liar.url},${a.url}`, ...FAST } });
      try {
        assertEquals(await bytes(await fetch(url(b))), expected);
        assertEquals(await bytes(await fetch(`${b.url}/blobs/${body.hash}`)), data);
        await assertStoreHoldsOnlyTruth(b.store, parseHash(body.hash!), data);
        const health = (await (await fetch(`${b.url}/peers`)).json()).peers;
        const blamed = health.find((p: { url: string }) => p.url === liar.url);
        assert(blamed.failures > 0, JSON.stringify(health));
      } finally {
        await b.close();
        if (!liars.includes(liar)) await liar.close();
      }
    }
  } finally {
    await onlyLiar.close();
    for (const l of liars) await l.close();
    await a.close();
  }
});

Deno.test("discovery: JSON and binary agree with what is stored (complete, partial, absent)", async () => {
  const gw = await startGateway();
  try {
    const rand = seededRandom(8);
    const full = randomBytes(50_000, rand);
    const { body } = await upload(gw.url, full);
    const partData = randomBytes(10 * 16384, rand);
    const part = await holdPart(
      gw.store,
      partData,
      ChunkRanges.range(32, 64).union(ChunkRanges.range(144)),
    );
    const absent = hash(randomBytes(10, rand));
    const cases: [string, ChunkRanges, boolean, boolean][] = [
      [body.hash!, ChunkRanges.ALL, true, true],
      [toHex(part), ChunkRanges.parse("32..64,144.."), false, true],
      [toHex(absent), ChunkRanges.EMPTY, false, false],
    ];
    for (const [hex, ranges, complete, validated] of cases) {
      const json = await (await fetch(`${gw.url}/discovery/${hex}`)).json();
      assertEquals([json.complete, json.validated], [complete, validated], hex);
      const fromJson = ChunkRanges.fromBoundaries(
        json.ranges.flatMap(([s, e]: [number, number | null]) => e === null ? [s] : [s, e]),
      );
      assert(fromJson.equals(ranges), `${hex}: ${fromJson}`);
      const bin = await fetch(`${gw.url}/discovery/${hex}`, {
        headers: { Accept: "application/octet-stream" },
      });
      const seq = ChunkRangesSeq.decode(await bytes(bin));
      assert(seq.get(0).equals(ranges), `${hex} binary: ${seq.get(0)}`);
    }
    // POST /discovery: the part of a request that can be answered here.
    const ask = await fetch(`${gw.url}/discovery`, {
      method: "POST",
      body: encodeRequest(getBlobRanges(part, ChunkRanges.range(0, 48))) as Uint8Array<ArrayBuffer>,
    });
    assertEquals(ChunkRangesSeq.decode(await bytes(ask)).get(0).toString(), "32..48");
  } finally {
    await gw.close();
  }
});

/** A blob of `count` random hashes (a hash sequence of children that are not here). */
function manyHashes(count: number, seed: number): Uint8Array<ArrayBuffer> {
  return randomBytes(32 * count, seededRandom(seed));
}

Deno.test("discovery: a hash sequence lists its first children and says how many; a forced view fewer", async () => {
  await withGateway(async (gw) => {
    const marked = (await upload(gw.url, manyHashes(MAX_DISCOVERY_CHILDREN + 5, 21))).body.hash!;
    await gw.store.markHashSeq(parseHash(marked));
    const plain = (await upload(gw.url, manyHashes(MAX_FORCED_CHILDREN + 5, 22))).body.hash!;
    for (
      const [path, listed, count] of [
        [`/discovery/${marked}`, MAX_DISCOVERY_CHILDREN, MAX_DISCOVERY_CHILDREN + 5],
        [`/discovery/${plain}?hashseq`, MAX_FORCED_CHILDREN, MAX_FORCED_CHILDREN + 5],
      ] as const
    ) {
      const json = await (await fetch(`${gw.url}${path}`)).json();
      assertEquals([json.children.length, json.childCount], [listed, count], path);
      const bin = await fetch(`${gw.url}${path}`, {
        headers: { Accept: "application/octet-stream" },
      });
      // Index 0 the blob (held whole), then one empty entry per listed child, and no more.
      const seq = ChunkRangesSeq.decode(await bytes(bin));
      assert(seq.get(0).isAll && seq.get(listed).isEmpty, path);
    }
    // A Get asking for a child past the limit learns it is not held here, never anything else.
    const ask = await fetch(`${gw.url}/discovery`, {
      method: "POST",
      body: encodeRequest(
        getRequest(
          parseHash(plain),
          ChunkRangesSeq.fromRanges([ChunkRanges.ALL, ChunkRanges.ALL, ChunkRanges.ALL]),
        ),
      ) as Uint8Array<ArrayBuffer>,
    });
    assertEquals(ask.status, 200);
    assert(ChunkRangesSeq.decode(await bytes(ask)).get(0).isAll);
  });
});

Deno.test("peers: a hash sequence of many children comes from a peer asked about the blob alone", async () => {
  await withGateways(async (a, b) => {
    // Listing 100,000 children took seconds, past B's discovery timeout: A was never asked
    // for more than a blob, and an honest peer was blamed for the wait.
    const data = manyHashes(100_000, 23);
    const { body } = await upload(a.url, data);
    await a.store.markHashSeq(parseHash(body.hash!));
    const res = await fetch(`${b.url}/blobs/${body.hash}`, { headers: { Range: "bytes=0-99" } });
    assertEquals(res.status, 206);
    assertEquals(await bytes(res), data.subarray(0, 100));
    const m = await (await fetch(`${a.url}/metrics`)).text();
    assertEquals(
      metricValue(m, "gateway_requests_total", '{route="/discovery",method="POST",status="200"}'),
      1,
    );
  });
});

Deno.test("discovery: binary only when Accept prefers it by q-value; JSON otherwise", async () => {
  await withGateway(async (gw) => {
    const { body } = await upload(gw.url, randomBytes(5000, seededRandom(9)));
    const binary = "application/octet-stream";
    const cases: [string | null, string][] = [
      [null, "application/json"],
      [binary, binary],
      [`application/json;q=0.5, ${binary}`, binary],
      [`${binary};q=0`, "application/json"],
      [`${binary};q=0, */*`, "application/json"],
      [`${binary};q=0.2, application/*;q=0.5`, "application/json"],
      [`${binary}, application/json`, "application/json"],
      ["*/*", "application/json"],
    ];
    for (const [accept, type] of cases) {
      const res = await fetch(`${gw.url}/discovery/${body.hash}`, {
        headers: accept === null ? {} : { Accept: accept },
      });
      assertEquals([res.status, res.headers.get("Content-Type")], [200, type], `${accept}`);
      assertEquals(res.headers.get("Vary"), "Accept");
      await res.body?.cancel();
    }
  });
});

/** Uploads files as a collection through multipart/form-data; returns its hash. */
async function uploadCollection(url: string, files: Record<string, Uint8Array<ArrayBuffer>>) {
  const form = new FormData();
  for (const [name, data] of Object.entries(files)) form.append("file", new Blob([data]), name);
  const res = await fetch(`${url}/collections`, { method: "POST", body: form });
  assertEquals(res.status, 201);
  return (await res.json()).hash as string;
}

Deno.test("peers: a collection entry is served by a gateway that has nothing of it", async () => {
  await withGateways(async (a, b) => {
    const rand = seededRandom(9);
    const files = {
      "site/index.html": randomBytes(3000, rand),
      "site/data.bin": randomBytes(70_000, rand),
    };
    const hex = await uploadCollection(a.url, files);
    // Under only-if-cached, B asks nobody: 412 for the listing and for an entry.
    for (const path of ["", "/site/data.bin"]) {
      const cached = await fetch(`${b.url}/collections/${hex}${path}`, {
        headers: { "Cache-Control": "only-if-cached" },
      });
      assertEquals([cached.status, (await cached.json()).error], [412, "not cached"], path);
    }
    const res = await fetch(`${b.url}/collections/${hex}/site/data.bin`, {
      headers: { Range: "bytes=100-199" },
    });
    assertEquals(res.status, 206);
    assertEquals(await bytes(res), files["site/data.bin"].subarray(100, 200));
    const page = await fetch(`${b.url}/collections/${hex}/site/index.html`);
    assertEquals(page.headers.get("Content-Type"), "text/html; charset=utf-8");
    assertEquals(await bytes(page), files["site/index.html"]);
    const listing = await (await fetch(`${b.url}/collections/${hex}`)).json();
    assertEquals(
      listing.entries.map((e: { name: string }) => e.name).sort(),
      Object.keys(files).sort(),
    );
    // B now knows the collection's hash seq as one: discovery lists its children.
    const found = await (await fetch(`${b.url}/discovery/${hex}`)).json();
    assertEquals(found.children?.length, 3);
  });
});

Deno.test("peers: a blob that cannot be a collection is refused by its proven size, not fetched", async () => {
  await withGateways(async (a, b) => {
    // Not a multiple of 32 bytes: no hash seq. Only its size proof need come from A.
    const { body } = await upload(a.url, randomBytes((8 << 20) + 1, seededRandom(28)));
    const res = await fetch(`${b.url}/collections/${body.hash}`);
    assertEquals([res.status, (await res.json()).error], [400, "invalid collection"]);
    const held = await (await fetch(`${b.url}/discovery/${body.hash}`)).json();
    assertEquals([held.size, held.complete, held.validated], [(8 << 20) + 1, false, true]);
    const chunks = held.ranges.reduce(
      (n: number, [s, e]: [number, number | null]) => n + (e ?? Math.ceil(held.size / 1024)) - s,
      0,
    );
    assert(chunks <= 32, `B fetched ${chunks} chunks of a blob it refused`);
  });
});

Deno.test("peers: the outboard of a blob B holds in part is completed from A; only-if-cached 412", async () => {
  await withGateways(async (a, b) => {
    const data = randomBytes(2 << 20, seededRandom(27));
    const { body } = await upload(a.url, data);
    const small = await fetch(`${b.url}/blobs/${body.hash}`, { headers: { Range: "bytes=0-10" } });
    assertEquals(await bytes(small), data.subarray(0, 11));
    const url = `${b.url}/blobs/${body.hash}/outboard`;
    const cached = await fetch(url, { headers: { "Cache-Control": "only-if-cached" } });
    assertEquals(cached.status, 412);
    await cached.body?.cancel();
    const head = await fetch(url, { method: "HEAD" });
    const direct = await fetch(`${a.url}/blobs/${body.hash}/outboard`);
    assertEquals(head.headers.get("Content-Length"), direct.headers.get("Content-Length"));
    const res = await fetch(url);
    assertEquals(res.status, 200);
    assertEquals(await bytes(res), await bytes(direct));
    const again = await fetch(url, { headers: { "If-None-Match": res.headers.get("ETag")! } });
    assertEquals(again.status, 304);
    const other = await fetch(url, { headers: { "If-Match": '"another"' } });
    assertEquals([other.status, (await other.json()).error], [412, "precondition failed"]);
    const m = await (await fetch(`${b.url}/metrics`)).text();
    assertEquals(metricValue(m, "gateway_verification_failures_total", '{source="store"}'), 0);
  });
});

Deno.test("discovery: a hash sequence reports each child, in JSON and binary", async () => {
  const gw = await startGateway();
  try {
    const rand = seededRandom(10);
    const hex = await uploadCollection(gw.url, {
      "a.txt": randomBytes(100, rand),
      "b.bin": randomBytes(40_000, rand),
    });
    const json = await (await fetch(`${gw.url}/discovery/${hex}`)).json();
    assertEquals(json.complete, true);
    // Children: the meta blob and the two files, all held whole.
    assertEquals(json.children.length, 3);
    assert(json.children.every((c: { complete: boolean }) => c.complete));
    const bin = await fetch(`${gw.url}/discovery/${hex}`, {
      headers: { Accept: "application/octet-stream" },
    });
    const seq = ChunkRangesSeq.decode(await bytes(bin));
    for (let i = 0; i <= 3; i++) assert(seq.get(i).isAll, `index ${i}`);
    assert(seq.get(4).isEmpty);
    // POST /discovery of a Get asking for one later child only: that child is held.
    const E = ChunkRanges.EMPTY;
    const ask = await fetch(`${gw.url}/discovery`, {
      method: "POST",
      body: encodeRequest(
        getRequest(parseHash(hex), ChunkRangesSeq.fromRanges([E, E, E, ChunkRanges.ALL])),
      ) as Uint8Array<ArrayBuffer>,
    });
    const answer = ChunkRangesSeq.decode(await bytes(ask));
    assertEquals([0, 1, 2, 3].map((i) => answer.get(i).toString()), ["", "", "", "0.."]);
  } finally {
    await gw.close();
  }
});
