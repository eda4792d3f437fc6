/**
 * iroh-blobs requests and responses: the request hexdumps of the brief §4 (iroh's wire tests),
 * strict request decoding, and the response writer and reader against each other over an
 * in-memory provider: whole collections, partial children, GetMany, and every way a response
 * can be cut, damaged or padded.
 */
import { assert, assertEquals, assertRejects, assertThrows } from "./assert.ts";
import { asHash, fromHex, toHex } from "../src/blake3/hash.ts";
import { hash as blake3 } from "../src/blake3/tree.ts";
import { memorySource } from "../src/bao/encode.ts";
import { collect } from "../src/bytes.ts";
import { HashMismatchError } from "../src/bao/errors.ts";
import { outboardOf } from "../src/bao/outboard.ts";
import { Collection } from "../src/collection/collection.ts";
import { HashSeq, InvalidHashSeqError } from "../src/collection/hash_seq.ts";
import { DecodeError } from "../src/protocol/decode_error.ts";
import {
  decodeRequest,
  encodeRequest,
  getAll,
  getBlob,
  getBlobRanges,
  getManyRequest,
  getRequest,
  MAX_MESSAGE_SIZE,
  readRequest,
  type Request,
  RequestTooLargeError,
  UnsupportedRequestError,
} from "../src/protocol/request.ts";
import {
  ChildHashesUnknownError,
  ResponseError,
  ResponseTrailingBytesError,
  ResponseTruncatedError,
  ResponseVerificationError,
} from "../src/protocol/response_reader.ts";
import {
  BlobNotFoundError,
  BlobUnavailableError,
  ProvideError,
  writeResponse,
} from "../src/protocol/response_writer.ts";
import { ChunkRanges } from "../src/ranges/chunk_ranges.ts";
import { ChunkRangesSeq } from "../src/ranges/range_spec.ts";
import { concat } from "./bao_helpers.ts";
import { MemoryProvider, readAll, sliced, wholeData } from "./protocol_helpers.ts";
import { randomBytes, randomInt, seededRandom } from "./random.ts";

const hex = (s: string) => fromHex(s.replace(/\s+/g, ""))!;
const DA = asHash(new Uint8Array(32).fill(0xda));

Deno.test("requests: the brief's hexdumps (iroh's request_wire_format and §4 table)", () => {
  const after = (request: Request) => toHex(encodeRequest(request).subarray(33));
  const cases: [Request, string][] = [
    [getBlob(DA), "02 00 01 00 01 00"],
    [getAll(DA), "01 00 01 00"],
    [getRequest(DA, ChunkRangesSeq.VERIFIED_SIZE), "02 00 01 ff ff ff ff ff ff ff ff ff 01 01 00"],
    [getBlobRanges(DA, ChunkRanges.fromBytes(1000, 200000)), "02 00 02 00 c4 01 01 00"],
    [
      getBlobRanges(DA, ChunkRanges.fromBytes(1000, 200000).union(ChunkRanges.LAST)),
      "02 00 03 00 c4 01 bb fe ff ff ff ff ff ff ff 01 01 00",
    ],
  ];
  for (const [request, dump] of cases) {
    const bytes = encodeRequest(request);
    assertEquals(toHex(bytes.subarray(0, 33)), "00" + "da".repeat(32));
    assertEquals(after(request), toHex(hex(dump)));
    const back = decodeRequest(bytes);
    assert(back.type === "get" && toHex(back.hash) === toHex(DA));
    assert(back.ranges.equals(request.ranges), dump);
  }
});

Deno.test("requests: GetMany is tag 9 with a counted hash list, and round-trips", () => {
  const hashes = [1, 2, 3].map((b) => asHash(new Uint8Array(32).fill(b)));
  const ranges = ChunkRangesSeq.fromRanges([ChunkRanges.ALL, ChunkRanges.EMPTY, ChunkRanges.LAST]);
  const bytes = encodeRequest(getManyRequest(hashes, ranges));
  assertEquals(toHex(bytes.subarray(0, 2)), "0903");
  assertEquals(toHex(bytes.subarray(2, 98)), hashes.map(toHex).join(""));
  assertEquals(toHex(bytes.subarray(98)), toHex(ranges.encode()));
  const back = decodeRequest(bytes);
  assert(back.type === "getMany" && back.ranges.equals(ranges));
  assertEquals(back.hashes.map(toHex), hashes.map(toHex));
});

Deno.test("requests: every other variant is refused by name, malformed bytes with DecodeError", () => {
  const body = DA.length + 4;
  const names = ["Observe", "Slot2", "Slot3", "Slot4", "Slot5", "Slot6", "Slot7", "Push"];
  names.forEach((name, i) => {
    const e = assertThrows(
      () => decodeRequest(new Uint8Array(body).fill(i + 1, 0, 1)),
      UnsupportedRequestError,
    );
    assertEquals([e.tag, e.variant], [i + 1, name]);
    assert(e.message.includes(name));
  });
  for (const tag of [10, 0x7f, 0x80, 0xff]) {
    const e = assertThrows(() => decodeRequest(Uint8Array.of(tag)), UnsupportedRequestError);
    assertEquals(e.variant, "unknown");
  }
  const valid = encodeRequest(getBlob(DA));
  const many = encodeRequest(getManyRequest([DA], ChunkRangesSeq.BLOB));
  const bad: [string, Uint8Array][] = [
    ["empty", new Uint8Array(0)],
    ["hash cut short", valid.subarray(0, 20)],
    ["no ranges", valid.subarray(0, 33)],
    ["ranges cut short", valid.subarray(0, valid.length - 1)],
    ["trailing byte", Uint8Array.of(...valid, 0)],
    ["GetMany count past the input", hex("09 05" + "da".repeat(64) + "00")],
    ["GetMany hash cut short", many.subarray(0, 20)],
    ["GetMany trailing byte", Uint8Array.of(...many, 1)],
    ["non-canonical count", hex("09 8000 00")],
    ["bad range spec", Uint8Array.of(...valid.subarray(0, 33), ...hex("01 00 02 05 00"))],
  ];
  for (const [what, bytes] of bad) assertThrows(() => decodeRequest(bytes), DecodeError, what);
});

Deno.test("requests: the body limit is MAX_MESSAGE_SIZE, and a stream past it is not read on", async () => {
  const n = Math.floor((MAX_MESSAGE_SIZE - 4) / 32);
  const hashes = Array.from({ length: n }, () => DA);
  const fits = encodeRequest(getManyRequest(hashes, ChunkRangesSeq.ALL));
  assert(fits.length - 1 <= MAX_MESSAGE_SIZE);
  assertEquals(decodeRequest(fits).type, "getMany");
  const over = encodeRequest(getManyRequest([...hashes, DA, DA], ChunkRangesSeq.ALL));
  assert(over.length - 1 > MAX_MESSAGE_SIZE);
  assertThrows(() => decodeRequest(over), RequestTooLargeError);
  // readRequest gives up as soon as the limit is passed, even on an endless body.
  let pulled = 0;
  async function* endless() {
    for (;;) {
      pulled++;
      yield new Uint8Array(65536);
    }
  }
  await assertRejects(readRequest(endless()), RequestTooLargeError);
  assertEquals(pulled, MAX_MESSAGE_SIZE / 65536 + 1);
  const rand = seededRandom(3);
  const back = await readRequest(sliced(fits, () => randomInt(rand, 1, 70000)));
  assert(back.type === "getMany" && back.hashes.length === n);
});

/** Files of assorted sizes around chunk and group edges, stored with a collection over them. */
function collectionFixture(seed: number) {
  const rand = seededRandom(seed);
  const sizes = [0, 1, 1024, 1025, 2048, 16384, 16385, 40000, 100000];
  const files = sizes.map((size, i) => ({
    name: `dir/file${i}.bin`,
    data: randomBytes(size, rand),
  }));
  const provider = new MemoryProvider();
  const entries = files.map((f) => ({ name: f.name, hash: provider.add(f.data) }));
  const collection = Collection.create(entries);
  provider.add(collection.meta);
  provider.add(collection.hashSeq.bytes);
  const byName = new Map(files.map((f) => [f.name, f.data]));
  return { rand, files, provider, collection, byName };
}

Deno.test("GetRequest::all of a collection: written, read back in any slicing, every file exact", async () => {
  const { rand, files, provider, collection, byName } = collectionFixture(1);
  const request = getAll(collection.hash);
  const response = await collect(writeResponse(provider, request));
  // Every blob whole: 8 + size + outboard per blob.
  const blobs = [
    collection.hashSeq.bytes,
    collection.meta,
    ...collection.entries.map((e) => byName.get(e.name)!),
  ];
  const expected = blobs.reduce((n, b) => n + 8 + b.length + outboardOf(b).pairs.length, 0);
  assertEquals(response.length, expected);
  for (const step of [() => 1, () => 7, () => randomInt(rand, 1, 40000), () => response.length]) {
    const read = await readAll(request, sliced(response, step));
    assertEquals(read.size, files.length + 2);
    const hashSeq = HashSeq.decode(wholeData(read.get(0)!));
    const back = Collection.decode(hashSeq, wholeData(read.get(1)!));
    assertEquals(toHex(back.hash), toHex(collection.hash));
    for (let i = 0; i < back.entries.length; i++) {
      const blob = read.get(i + 2)!;
      assert(blob.done && blob.sizeVerified);
      assertEquals(toHex(blob.hash), toHex(back.entries[i].hash));
      assertEquals(toHex(wholeData(blob)), toHex(byName.get(back.entries[i].name)!));
    }
  }
  // A ReadableStream works as the response too.
  const read = await readAll(request, ReadableStream.from(sliced(response, () => 5000)));
  assertEquals(read.size, files.length + 2);
});

Deno.test("the first 2 KiB of every child plus the whole meta (iroh-gateway's request)", async () => {
  const { collection, provider, byName } = collectionFixture(2);
  const ranges = ChunkRangesSeq.fromRangesInfinite([
    ChunkRanges.ALL,
    ChunkRanges.ALL,
    ChunkRanges.fromBytes(0, 2048),
  ]);
  const request = getRequest(collection.hash, ranges);
  const read = await readAll(request, writeResponse(provider, request));
  assertEquals(read.size, collection.entries.length + 2);
  assertEquals(toHex(wholeData(read.get(1)!)), toHex(collection.meta));
  collection.entries.forEach((entry, i) => {
    const blob = read.get(i + 2)!;
    const data = byName.get(entry.name)!;
    assertEquals(toHex(wholeData(blob)), toHex(data.subarray(0, 2048)), entry.name);
    assertEquals(blob.size, data.length);
    // Two chunks prove the size only of blobs that end within them.
    assertEquals(blob.sizeVerified, data.length <= 2048, entry.name);
  });
});

Deno.test("GetMany for three blobs: whole, a byte range, and a size proof", async () => {
  const rand = seededRandom(4);
  const provider = new MemoryProvider();
  const datas = [randomBytes(5000, rand), randomBytes(70000, rand), randomBytes(300000, rand)];
  const hashes = datas.map((d) => provider.add(d));
  const ranges = ChunkRangesSeq.fromRanges([
    ChunkRanges.ALL,
    ChunkRanges.fromBytes(20000, 30000),
    ChunkRanges.LAST,
  ]);
  const request = getManyRequest(hashes, ranges);
  const response = await collect(writeResponse(provider, decodeRequest(encodeRequest(request))));
  const read = await readAll(request, sliced(response, () => randomInt(rand, 1, 3000)));
  assertEquals([...read.keys()], [0, 1, 2]);
  assertEquals(toHex(wholeData(read.get(0)!)), toHex(datas[0]));
  const middle = read.get(1)!;
  assertEquals(toHex(wholeData(middle, 19 * 1024)), toHex(datas[1].subarray(19 * 1024, 30 * 1024)));
  const last = read.get(2)!;
  assert(last.sizeVerified && last.size === 300000);
  assertEquals(last.pieces.map((p) => p.offset), [(Math.ceil(300000 / 1024) - 1) * 1024]);
});

Deno.test("the writer stops after the last child however far the ranges go", async () => {
  const { collection, provider } = collectionFixture(5);
  const request = getRequest(collection.hash, ChunkRangesSeq.VERIFIED_CHILD_SIZES);
  const read = await readAll(request, writeResponse(provider, request));
  assertEquals(read.size, collection.entries.length + 2);
  for (const [index, blob] of read) assert(blob.done && blob.sizeVerified, `${index}`);
});

Deno.test("a hash seq longer than a chunk group: children found via verified group reads", async () => {
  const provider = new MemoryProvider();
  const children = Array.from(
    { length: 700 },
    (_, i) => provider.add(Uint8Array.of(i & 255, i >> 8)),
  );
  const hashSeq = HashSeq.from(children);
  assert(hashSeq.bytes.length > 16384);
  const root = provider.add(hashSeq.bytes);
  // Children only (blob 0 not sent): the reader takes the hash seq from the caller.
  const ranges = ChunkRangesSeq.fromRangesInfinite([ChunkRanges.EMPTY, ChunkRanges.ALL]);
  const request = getRequest(root, ranges);
  const read = await readAll(request, writeResponse(provider, request), { hashSeq });
  assertEquals(read.size, 700);
  for (let i = 0; i < 700; i++) {
    assertEquals([...wholeData(read.get(i + 1)!)], [i & 255, i >> 8]);
  }
  // Without it, or with another hash seq, the children cannot be verified.
  const response = await collect(writeResponse(provider, request));
  await assertRejects(readAll(request, sliced(response, () => 999)), ChildHashesUnknownError);
  const other = HashSeq.from(children.slice(1));
  await assertRejects(
    readAll(request, sliced(response, () => 999), { hashSeq: other }),
    ChildHashesUnknownError,
  );
  // Only the first chunk of the hash seq, then children: still not enough without the copy.
  const partly = getRequest(
    root,
    ChunkRangesSeq.fromRangesInfinite([ChunkRanges.range(0, 1), ChunkRanges.LAST]),
  );
  const partResponse = await collect(writeResponse(provider, partly));
  await assertRejects(readAll(partly, sliced(partResponse, () => 999)), ChildHashesUnknownError);
  const withCopy = await readAll(partly, sliced(partResponse, () => 999), { hashSeq });
  assertEquals(withCopy.size, 701);
  assertEquals(toHex(wholeData(withCopy.get(0)!)), toHex(hashSeq.bytes.subarray(0, 1024)));
});

Deno.test("a missing child cuts the stream with BlobNotFoundError; the bytes before it verify", async () => {
  const { collection, provider } = collectionFixture(6);
  const missing = collection.entries[3];
  provider.delete(missing.hash);
  const request = getAll(collection.hash);
  const sent: Uint8Array[] = [];
  const e = await assertRejects(async () => {
    for await (const part of writeResponse(provider, request)) sent.push(part.slice());
  }, BlobNotFoundError);
  assertEquals([e.index, toHex(e.hash)], [5, toHex(missing.hash)]);
  assert(e instanceof ProvideError);
  const t = await assertRejects(
    readAll(request, sliced(concat(sent), () => 4096)),
    ResponseTruncatedError,
  );
  assertEquals(t.index, 5);
  // The root itself missing.
  provider.delete(collection.hash);
  const r = await assertRejects(collect(writeResponse(provider, request)), BlobNotFoundError);
  assertEquals(r.index, 0);
});

Deno.test("sources that cannot serve the data stop the stream with BlobUnavailableError", async () => {
  const rand = seededRandom(8);
  const data = randomBytes(100000, rand);
  const outboard = outboardOf(data);
  const hash = outboard.root;
  const provider = new MemoryProvider();
  // Data lost past 50000 bytes: the first groups go out, then the stream stops.
  provider.put(hash, memorySource(data.subarray(0, 50000), outboard));
  const e = await assertRejects(
    collect(writeResponse(provider, getBlob(hash))),
    BlobUnavailableError,
  );
  assert(e.cause instanceof HashMismatchError && e.index === 0);
  // A source for another blob under this hash.
  const other = outboardOf(data.subarray(1));
  provider.put(hash, memorySource(data.subarray(1), other));
  await assertRejects(collect(writeResponse(provider, getBlob(hash))), BlobUnavailableError);
  // A source at another chunk group size.
  provider.put(hash, memorySource(data, outboardOf(data, 0)));
  await assertRejects(collect(writeResponse(provider, getBlob(hash))), BlobUnavailableError);
  // Children of a blob that is not a hash seq (33 bytes).
  const notSeq = provider.add(randomBytes(33, rand));
  const u = await assertRejects(
    collect(writeResponse(provider, getAll(notSeq))),
    BlobUnavailableError,
  );
  assert(u.cause instanceof InvalidHashSeqError && u.index === 0);
  // A stored hash seq whose bytes were altered: no child hash is taken from it.
  const seqBytes = HashSeq.from([hash, hash]).bytes;
  const seqOutboard = outboardOf(seqBytes);
  const altered = seqBytes.slice();
  altered[40] ^= 1;
  provider.put(seqOutboard.root, memorySource(altered, seqOutboard));
  const childrenOnly = getRequest(
    seqOutboard.root,
    ChunkRangesSeq.fromRangesInfinite([ChunkRanges.EMPTY, ChunkRanges.ALL]),
  );
  const c = await assertRejects(
    collect(writeResponse(provider, childrenOnly)),
    BlobUnavailableError,
  );
  assert(c.cause instanceof HashMismatchError && c.index === 0);
  // The reader refuses such a blob as a hash seq too, once it is verified.
  const sent: Uint8Array[] = [];
  await assertRejects(async () => {
    for await (const part of writeResponse(provider, getAll(notSeq))) sent.push(part.slice());
  }, BlobUnavailableError);
  await assertRejects(readAll(getAll(notSeq), sliced(concat(sent), () => 10)), InvalidHashSeqError);
});

Deno.test("the reader: flipped bytes, truncation and trailing bytes are typed errors", async () => {
  const { rand, collection, provider } = collectionFixture(9);
  const request = getAll(collection.hash);
  const response = await collect(writeResponse(provider, request));
  for (let i = 0; i < 60; i++) {
    // A flip in a size header may make the reader wait for bytes that never come.
    const at = randomInt(rand, 0, response.length - 1);
    const bad = response.slice();
    bad[at] ^= 1 << randomInt(rand, 0, 7);
    const e = await assertRejects(
      readAll(request, sliced(bad, () => randomInt(rand, 1, 9000))),
      ResponseError,
      `flip at ${at}`,
    );
    assert(e instanceof ResponseVerificationError || e instanceof ResponseTruncatedError, `${e}`);
    const cut = randomInt(rand, 0, response.length - 1);
    await assertRejects(
      readAll(request, sliced(response.subarray(0, cut), () => 3000)),
      ResponseTruncatedError,
      `cut at ${cut}`,
    );
  }
  // Any flip in the hash seq's bytes (blob 0 is one group: header, then raw data) is a mismatch.
  for (let at = 8; at < 8 + collection.hashSeq.bytes.length; at += 7) {
    const bad = response.slice();
    bad[at] ^= 0x80;
    await assertRejects(readAll(request, sliced(bad, () => 50)), ResponseVerificationError);
  }
  const padded = concat([response, Uint8Array.of(0)]);
  const e = await assertRejects(
    readAll(request, sliced(padded, () => 4096)),
    ResponseTrailingBytesError,
  );
  assertEquals(e.offset, response.length);
  // A GetMany answered with an extra blob.
  const one = getManyRequest([collection.hash], ChunkRangesSeq.BLOB);
  const twice = await collect(
    writeResponse(provider, getManyRequest([collection.hash, collection.hash], ChunkRangesSeq.ALL)),
  );
  await assertRejects(readAll(one, sliced(twice, () => 100)), ResponseTrailingBytesError);
});

Deno.test("randomised responses and mutations: the reader throws only ResponseError and ends", async () => {
  const { rand, collection, provider } = collectionFixture(12);
  const requests: Request[] = [
    getAll(collection.hash),
    getRequest(
      collection.hash,
      ChunkRangesSeq.fromRangesInfinite([ChunkRanges.ALL, ChunkRanges.range(1, 3)]),
    ),
    getManyRequest(collection.entries.map((e) => e.hash), ChunkRangesSeq.VERIFIED_CHILD_SIZES),
  ];
  for (const request of requests) {
    const response = await collect(writeResponse(provider, request));
    for (let i = 0; i < 40; i++) {
      const bad = rand() < 0.5 ? response.slice() : randomBytes(randomInt(rand, 0, 3000), rand);
      if (bad.length > 0) bad[randomInt(rand, 0, bad.length - 1)] = randomInt(rand, 0, 255);
      try {
        await readAll(request, sliced(bad, () => randomInt(rand, 1, 5000)));
        assertEquals(
          toHex(blake3(bad)),
          toHex(blake3(response)),
          "only an unchanged response reads",
        );
      } catch (e) {
        assert(e instanceof ResponseError, `${e}`);
      }
    }
  }
});
