/**
 * Bao trees with chunk groups (k = 4 is iroh-blobs): the sizes bao-tree's own tests and the brief
 * state, a recursive reference encoder written straight from the rule, and randomised checks of
 * outboards, encodings and the streaming verifier.
 */
import { assert, assertEquals, assertThrows } from "./assert.ts";
import { toHex } from "../src/blake3/hash.ts";
import { ceilLog2, hash, parentCv, subtreeCv } from "../src/blake3/tree.ts";
import { BaoDecoder } from "../src/bao/decode.ts";
import { encodeRanges, memorySource, sizeHeader } from "../src/bao/encode.ts";
import { collect } from "../src/bytes.ts";
import { BaoError, HashMismatchError, TruncatedError } from "../src/bao/errors.ts";
import { MemOutboard, OutboardBuilder, outboardOf } from "../src/bao/outboard.ts";
import { BaoTree } from "../src/bao/tree.ts";
import { validRanges } from "../src/bao/validate.ts";
import { encodedLength, walkGroups, walkWire } from "../src/bao/walk.ts";
import { ChunkRanges } from "../src/ranges/chunk_ranges.ts";
import { concat, decodeAll } from "./bao_helpers.ts";
import { randomBytes, randomInt, seededRandom } from "./random.ts";

/** bao-tree's test data: byte i = (i / 1024) mod 256. */
function treeTestData(len: number): Uint8Array {
  return Uint8Array.from({ length: len }, (_, i) => Math.floor(i / 1024) % 256);
}

async function encode(data: Uint8Array, k: number, ranges: ChunkRanges): Promise<Uint8Array> {
  return await collect(encodeRanges(memorySource(data, outboardOf(data, k)), ranges));
}

/**
 * Reference encoder, recursive over the data like bao-tree's `encode_selected_rec`: a subtree
 * is skipped when the query misses it, sent raw when it is one chunk or a fully queried subtree
 * of at most 2^k chunks, else sent as its pair followed by both halves. Right-edge subtrees
 * match queries past the end.
 */
function referenceEncode(data: Uint8Array, k: number, query: ChunkRanges): Uint8Array {
  const out: Uint8Array[] = [];
  const totalChunks = Math.max(1, Math.ceil(data.length / 1024));
  const rec = (start: number, bytes: Uint8Array, isRoot: boolean): Uint8Array => {
    const chunks = Math.max(1, Math.ceil(bytes.length / 1024));
    const ext = start + chunks === totalChunks ? Infinity : start + chunks;
    const wanted = query.intersects(start, ext);
    if (chunks === 1) {
      if (wanted) out.push(bytes);
      return subtreeCv(bytes, start, isRoot);
    }
    if (wanted && query.covers(start, ext) && chunks <= 2 ** k) {
      out.push(bytes);
      return subtreeCv(bytes, start, isRoot);
    }
    const mid = 2 ** (ceilLog2(chunks) - 1);
    const slot = out.length;
    if (wanted) out.push(new Uint8Array(64));
    const left = rec(start, bytes.subarray(0, mid * 1024), false);
    const right = rec(start + mid, bytes.subarray(mid * 1024), false);
    if (wanted) out[slot] = concat([left, right]);
    return parentCv(left, right, isRoot);
  };
  rec(0, data, true);
  return concat(out);
}

function randomRanges(rand: () => number, chunks: number): ChunkRanges {
  let set = ChunkRanges.EMPTY;
  const n = randomInt(rand, 1, 4);
  for (let i = 0; i < n; i++) {
    const start = randomInt(rand, 0, chunks + 2);
    const open = rand() < 0.2;
    set = set.union(ChunkRanges.range(start, open ? undefined : start + randomInt(rand, 1, 40)));
  }
  return set;
}

Deno.test("k=4: one chunk of a 16 MiB + 12345 blob is 15 pairs and 1024 bytes (bao-tree)", async () => {
  const data = treeTestData(16 * 1024 * 1024 + 12345);
  const ob = outboardOf(data, 4);
  for (const chunk of [0, 1000, 3000]) {
    const items = await collect(
      encodeRanges(memorySource(data, ob), ChunkRanges.range(chunk, chunk + 1)),
    );
    assertEquals(items.length, 15 * 64 + 1024, `chunk ${chunk}`);
    assertEquals(encodedLength(ob.tree, ChunkRanges.range(chunk, chunk + 1)), items.length);
  }
});

Deno.test("k=4: chunks 16..24 of a 32-chunk blob are one 8 KiB leaf and 2 pairs (bao-tree)", () => {
  const tree = new BaoTree(32 * 1024, 4);
  const items = [...walkWire(tree, ChunkRanges.range(16, 24))];
  const leaves = items.filter((i) => i.type === "leaf");
  assertEquals(leaves.length, 1);
  assertEquals(tree.byteRange(leaves[0].start, leaves[0].end), [16 * 1024, 24 * 1024]);
  assertEquals(items.filter((i) => i.type === "parent").length, 2);
});

Deno.test("k=4: last-chunk proofs of 1025, 16384, 16385 and 100000 bytes (brief §3)", async () => {
  const expected: [number, number][] = [[1025, 65], [16384, 1280], [16385, 65], [100000, 864]];
  for (const [size, len] of expected) {
    const data = treeTestData(size);
    const encoded = await encode(data, 4, ChunkRanges.LAST);
    assertEquals(encoded.length, len, `size ${size}`);
    const d = decodeAll(hash(data), ChunkRanges.LAST, 4, concat([sizeHeader(size), encoded]), 1);
    assert(d.sizeVerified, `size ${size} proven`);
    assertEquals(d.size, size);
  }
});

Deno.test("k=4: an empty blob and a whole small blob are the header and the raw bytes", async () => {
  for (const size of [0, 1, 1000, 16384]) {
    const data = treeTestData(size);
    assertEquals(await encode(data, 4, ChunkRanges.ALL), data);
    const d = decodeAll(hash(data), ChunkRanges.ALL, 4, concat([sizeHeader(size), data]), 5);
    assertEquals(d.data, data);
    assert(d.sizeVerified);
  }
  // The empty blob's encoding still checks the empty chunk against the hash.
  assertThrows(
    () => decodeAll(hash(new Uint8Array([1])), ChunkRanges.ALL, 4, sizeHeader(0), 8),
    HashMismatchError,
  );
  // No ranges: nothing at all is sent or expected, not even the size.
  const none = new BaoDecoder(hash(new Uint8Array(0)), ChunkRanges.EMPTY, 4);
  assert(none.done);
  assertEquals(await encode(treeTestData(5000), 4, ChunkRanges.EMPTY), new Uint8Array(0));
});

Deno.test("ranges truncate like bao-tree's truncate_ranges (its documented 7-chunk examples)", () => {
  const size = 7 * 1024;
  const t = (s: string) => ChunkRanges.parse(s).truncate(size).toString();
  assertEquals(t("0..6"), "0..6");
  assertEquals(t("0..7"), "0..");
  assertEquals(t("0..10,11..12"), "0..");
  assertEquals(t("0..6,7..10"), "0..");
  assertEquals(t("3..6,7..10"), "3..");
  assertEquals(t("0..5,7..10"), "0..5,7..");
  assertEquals(t("100.."), "100..");
  assertEquals(ChunkRanges.parse("0..3").truncate(0).toString(), "0..");
});

Deno.test("ranges: firstAtOrAfter finds the next member, against a scan of every chunk", () => {
  const rand = seededRandom(77);
  for (let round = 0; round < 200; round++) {
    const boundaries: number[] = [];
    let x = 0;
    const n = Math.floor(rand() * 7);
    for (let i = 0; i < n; i++) boundaries.push(x += 1 + Math.floor(rand() * 20));
    const set = ChunkRanges.fromBoundaries(boundaries);
    for (let c = 0; c < x + 5; c++) {
      let expected: number | undefined;
      for (let d = c; d < x + 30; d++) {
        if (set.contains(d)) {
          expected = d;
          break;
        }
      }
      assertEquals(set.firstAtOrAfter(c), expected, `${set} from ${c}`);
    }
  }
});

Deno.test("chunksRead: exactly the chunks of the groups a walk reads, past-the-end queries too", () => {
  const rand = seededRandom(78);
  for (let round = 0; round < 300; round++) {
    const size = randomInt(rand, 0, 40 * 16384);
    const tree = new BaoTree(size, 4);
    const cuts = Array.from({ length: 4 }, () => randomInt(rand, 0, tree.chunks + 40))
      .sort((a, b) => a - b);
    const query = ChunkRanges.fromBoundaries(
      [cuts[0], cuts[1] + 1, cuts[2] + 2, cuts[3] + 3].slice(0, rand() < 0.3 ? 3 : 4),
    );
    const read = tree.chunksRead(query);
    let walked = ChunkRanges.EMPTY;
    for (const item of walkGroups(tree, query.truncate(size))) {
      if (item.type !== "group") continue;
      assert(read.intersects(item.start, item.end), `${query} of ${size}: group ${item.start}`);
      walked = walked.union(ChunkRanges.range(item.start, item.end));
    }
    assert(walked.isSuperset(read), `${query} of ${size}: ${read} not all walked (${walked})`);
  }
});

Deno.test("randomised: sizes around powers of two, random ranges, k in 0..5, reference bytes", async () => {
  const rand = seededRandom(42);
  const sizes: number[] = [0, 1];
  for (let p = 10; p <= 22; p++) sizes.push(2 ** p - 1, 2 ** p, 2 ** p + 1);
  for (const size of sizes) {
    const data = randomBytes(size, rand);
    const root = hash(data);
    const chunks = Math.max(1, Math.ceil(size / 1024));
    for (const k of [0, 2, 4, 5]) {
      if (size > 2 ** 20 && k !== 4) continue; // keep the big sizes to iroh's k
      const post = new OutboardBuilder(k).update(data).finalize();
      const pre = post.inOrder("pre");
      assertEquals(toHex(post.root), toHex(root));
      assertEquals(pre.inOrder("post").pairs, post.pairs, "orders convert both ways");
      for (let trial = 0; trial < 4; trial++) {
        const query = trial === 0 ? ChunkRanges.ALL : randomRanges(rand, chunks);
        const expected = referenceEncode(data, k, query.truncate(size));
        const fromPre = await collect(encodeRanges(memorySource(data, pre), query));
        const fromPost = await collect(encodeRanges(memorySource(data, post), query));
        const what = `size ${size} k ${k} ranges ${query}`;
        assertEquals(fromPre, expected, what);
        assertEquals(fromPost, expected, what);
        assertEquals(encodedLength(pre.tree, query.truncate(size)), expected.length, what);
        const encoded = concat([sizeHeader(size), expected]);
        const d = decodeAll(root, query, k, encoded, () => randomInt(rand, 1, 40000));
        // Every wanted chunk (within the blob) came out, verified, at its offset.
        const wanted = query.truncate(size);
        for (const p of d.pieces) {
          assertEquals(p.data, data.subarray(p.offset, p.offset + p.data.length), what);
        }
        const got = d.pieces.reduce(
          (s, p) => s.union(ChunkRanges.fromBytes(p.offset, p.offset + p.data.length)),
          ChunkRanges.EMPTY,
        );
        const inBlob = wanted.intersection(ChunkRanges.range(0, chunks));
        assert(got.isSuperset(size === 0 ? ChunkRanges.EMPTY : inBlob), what);
      }
      if (size <= 1 << 16) {
        assert((await validRanges(memorySource(data, pre))).isAll);
      }
    }
  }
});

Deno.test("randomised: any single bit flip or truncation of an encoding is rejected", async () => {
  const rand = seededRandom(7);
  for (let trial = 0; trial < 60; trial++) {
    const size = randomInt(rand, 0, 200_000);
    const data = randomBytes(size, rand);
    const root = hash(data);
    const k = [0, 4][trial % 2];
    const query = trial % 3 === 0 ? ChunkRanges.ALL : randomRanges(rand, Math.ceil(size / 1024));
    const encoded = concat([sizeHeader(size), await encode(data, k, query)]);
    const provesSize = query.truncate(size).intersects(
      Math.max(Math.ceil(size / 1024) - 1, 0),
      Infinity,
    );
    for (let i = 0; i < 20; i++) {
      const bit = randomInt(rand, 0, encoded.length * 8 - 1);
      const bad = encoded.slice();
      bad[bit >> 3] ^= 1 << (bit & 7);
      const what = `flip bit ${bit} of ${encoded.length}, size ${size}, ranges ${query}`;
      let decoded: ReturnType<typeof decodeAll> | undefined;
      try {
        decoded = decodeAll(root, query, k, bad, () => randomInt(rand, 1, 3000));
      } catch (e) {
        assert(e instanceof BaoError, `${what}: ${e}`);
      }
      // Only the size header of an encoding that does not reach the last chunk can change
      // unnoticed (bao spec: the length is unauthenticated until the last chunk), and then the
      // size must not be reported as proven.
      if (decoded !== undefined) {
        assert(bit < 64 && !provesSize && !decoded.sizeVerified, what);
      }
    }
    const cut = randomInt(rand, 0, encoded.length - 1);
    assertThrows(
      () => decodeAll(root, query, k, encoded.subarray(0, cut), 1000),
      TruncatedError,
      `cut at ${cut} of ${encoded.length}`,
    );
  }
});

Deno.test("the verifier yields nothing from an item that fails, and stays failed", () => {
  const data = randomBytes(40_000, seededRandom(9));
  const tree = new BaoTree(data.length, 4);
  const ob = outboardOf(data, 4);
  return encode(data, 4, ChunkRanges.ALL).then((items) => {
    const encoded = concat([sizeHeader(data.length), items]);
    // Corrupt the last byte of the second group: the first group must come out, then an error.
    const secondGroupEnd = 8 + 2 * 64 + 2 * tree.groupBytes - 1;
    assertEquals(ob.tree.groups, 3);
    const bad = encoded.slice();
    bad[secondGroupEnd] ^= 0x80;
    const decoder = new BaoDecoder(hash(data), ChunkRanges.ALL, 4);
    const good = decoder.push(bad.subarray(0, secondGroupEnd));
    assertEquals(good.map((v) => v.offset), [0]);
    const e = assertThrows(() => decoder.push(bad.subarray(secondGroupEnd)), HashMismatchError);
    assertEquals(e.chunk, 16);
    assertEquals(e.encodedOffset, 8 + 2 * 64 + tree.groupBytes);
    assertThrows(() => decoder.push(new Uint8Array(1)), HashMismatchError);
  });
});

Deno.test("storage corruption: the encoder refuses a bad pair or group before sending it", async () => {
  const data = randomBytes(100_000, seededRandom(11));
  const ob = outboardOf(data, 4);
  const badPairs = ob.pairs.slice();
  badPairs[70] ^= 1;
  const badOb = new MemOutboard(ob.root, ob.tree, "pre", badPairs);
  const sent: Uint8Array[] = [];
  let error: unknown;
  try {
    for await (const p of encodeRanges(memorySource(data, badOb), ChunkRanges.ALL)) sent.push(p);
  } catch (e) {
    error = e;
  }
  assert(error instanceof HashMismatchError && error.item === "parent");
  // The first pair (root) and the first group's path went out; the bad pair did not.
  assert(sent.every((p) => p.length !== 64 || !p.every((b, i) => b === badPairs[64 + i])));
  const valid = await validRanges(memorySource(data, badOb));
  assert(!valid.isAll && !valid.isEmpty, `valid ${valid}`);
});

Deno.test("a push that verifies data and then fails hands out the data, then the error", async () => {
  const data = randomBytes(40_000, seededRandom(12));
  const encoded = concat([sizeHeader(data.length), await encode(data, 4, ChunkRanges.ALL)]);
  const bad = encoded.slice();
  bad[bad.length - 1] ^= 1; // inside the third (last) group
  const decoder = new BaoDecoder(hash(data), ChunkRanges.ALL, 4);
  const good = decoder.push(bad);
  assertEquals(good.map((v) => v.offset), [0, 16384]);
  assertEquals(concat(good.map((v) => v.data)), data.subarray(0, 32768));
  assertThrows(() => decoder.finish(), HashMismatchError);
  assertThrows(() => decoder.push(new Uint8Array(0)), HashMismatchError);
});
