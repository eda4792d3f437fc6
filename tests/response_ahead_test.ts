/**
 * The response writer opens blobs ahead of the one it sends, telling the provider which chunks
 * it will read; the store's provider uses that to bound and start its reads. Responses must not
 * change by it, failures must come out in order, and a consumer that stops early must leave no
 * failure unhandled.
 */
import { assert, assertEquals } from "./assert.ts";
import type { Hash } from "../src/blake3/hash.ts";
import { toHex } from "../src/blake3/hash.ts";
import { collect } from "../src/bytes.ts";
import type { BaoSource } from "../src/bao/encode.ts";
import { Collection } from "../src/collection/collection.ts";
import { getManyRequest, getRequest } from "../src/protocol/request.ts";
import { type BlobProvider, writeResponse } from "../src/protocol/response_writer.ts";
import { ChunkRanges } from "../src/ranges/chunk_ranges.ts";
import { ChunkRangesSeq } from "../src/ranges/range_spec.ts";
import { storeProvider } from "../src/store/blob_provider.ts";
import { BlobStore } from "../src/store/blob_store.ts";
import { MemoryProvider } from "./protocol_helpers.ts";
import { randomBytes, seededRandom } from "./random.ts";

/** A provider that records what it is asked, and when. */
class Recording implements BlobProvider {
  readonly calls: { hash: string; ranges: string | undefined }[] = [];
  constructor(readonly inner: BlobProvider) {}
  open(hash: Hash, ranges?: ChunkRanges): Promise<BaoSource | undefined> {
    this.calls.push({ hash: toHex(hash), ranges: ranges?.toString() });
    return this.inner.open(hash, ranges);
  }
}

function fixture(children: number) {
  const rand = seededRandom(61);
  const memory = new MemoryProvider();
  const entries = Array.from({ length: children }, (_, i) => ({
    name: `f${i}`,
    hash: memory.add(randomBytes(3000 + i, rand)),
  }));
  const collection = Collection.create(entries);
  memory.add(collection.meta);
  memory.add(collection.hashSeq.bytes);
  return { memory, collection };
}

Deno.test("writer: blobs are opened ahead with the chunks that will be read", async () => {
  const { memory, collection } = fixture(40);
  const provider = new Recording(memory);
  const ranges = ChunkRangesSeq.fromRangesInfinite([
    ChunkRanges.ALL,
    ChunkRanges.ALL,
    ChunkRanges.range(0, 2),
  ]);
  const request = getRequest(collection.hash, ranges);
  const it = writeResponse(provider, request);
  await it.next(); // the size header of blob 0
  await new Promise((r) => setTimeout(r, 0));
  const early = provider.calls.length;
  assert(early > 1 && early <= 20, `opened ${early} blobs ahead of the first`);
  await collect({ [Symbol.asyncIterator]: () => it });
  const hinted = provider.calls.filter((c) => c.ranges !== undefined);
  const order = [collection.hash, ...collection.hashSeq].map(toHex);
  assertEquals(hinted.map((c) => c.hash), order);
  assertEquals(hinted.map((c) => c.ranges), ["0..", "0..", ...Array(40).fill("0..2")]);
});

Deno.test("writer: a consumer that stops early leaves no failure ahead unhandled", async () => {
  const { memory, collection } = fixture(30);
  for (const e of collection.entries.slice(3)) memory.delete(e.hash);
  const it = writeResponse(memory, getRequest(collection.hash, ChunkRangesSeq.ALL));
  await it.next();
  await it.return(undefined);
  // Failures of blobs opened ahead would surface here as unhandled rejections.
  await new Promise((r) => setTimeout(r, 20));
});

Deno.test("store provider: bounded, warmed reads give the same responses as the store itself", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const store = new BlobStore(kv);
    const rand = seededRandom(62);
    const data = [randomBytes(300_000, rand), randomBytes(5000, rand), randomBytes(0, rand)];
    const hashes: Hash[] = [];
    for (const d of data) hashes.push((await store.import(ReadableStream.from([d]))).hash);
    for (
      const ranges of [
        ChunkRangesSeq.ALL,
        ChunkRangesSeq.fromRanges([ChunkRanges.parse("100..130,200.."), ChunkRanges.LAST]),
        ChunkRangesSeq.fromRanges([
          ChunkRanges.parse("40..41"),
          ChunkRanges.EMPTY,
          ChunkRanges.ALL,
        ]),
      ]
    ) {
      const request = getManyRequest(hashes, ranges);
      const plain = await collect(writeResponse(store, request));
      const warmed = await collect(writeResponse(storeProvider(store), request));
      assertEquals(warmed, plain, ranges.encode().join(","));
    }
  } finally {
    kv.close();
  }
});
