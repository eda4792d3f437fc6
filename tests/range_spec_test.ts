/**
 * Postcard varints, RangeSpec and RangeSpecSeq: the worked hexdumps of the brief §4 and of
 * iroh-blobs' `range_spec.rs` wire tests, strict rejection of malformed bytes, and randomised
 * round trips (including boundaries past 2^53, checked against u64 semantics).
 */
import { assert, assertEquals, assertThrows } from "./assert.ts";
import { fromHex, toHex } from "../src/blake3/hash.ts";
import { DecodeError } from "../src/protocol/decode_error.ts";
import { decodeVarint, encodeVarint, U64_MAX } from "../src/protocol/varint.ts";
import { ChunkRanges, LAST_CHUNK } from "../src/ranges/chunk_ranges.ts";
import { ChunkRangesSeq, decodeRangeSpec, encodeRangeSpec } from "../src/ranges/range_spec.ts";
import { randomInt, seededRandom } from "./random.ts";

const hex = (s: string) => fromHex(s.replace(/\s+/g, ""))!;
const varints = (...values: bigint[]) => hex(values.map((v) => toHex(encodeVarint(v))).join(""));

Deno.test("varint: known encodings, and decoding returns the end offset", () => {
  const cases: [bigint, string][] = [
    [0n, "00"],
    [1n, "01"],
    [127n, "7f"],
    [128n, "8001"],
    [196n, "c401"],
    [10000n, "904e"],
    [2n ** 53n, "8080808080808010"],
    [U64_MAX, "ffffffffffffffffff01"],
  ];
  for (const [value, encoded] of cases) {
    assertEquals(toHex(encodeVarint(value)), encoded, `${value}`);
    const bytes = hex("aa" + encoded + "bb");
    assertEquals(decodeVarint(bytes, 1), { value, end: 1 + encoded.length / 2 });
  }
  assertThrows(() => encodeVarint(-1n), RangeError);
  assertThrows(() => encodeVarint(U64_MAX + 1n), RangeError);
});

Deno.test("varint: truncated, overlong, non-canonical and > u64::MAX are rejected", () => {
  const bad = [
    "", // nothing
    "80", // continuation, then the end
    "ffffffff", // truncated inside
    "8000", // 0 with a trailing zero group
    "ff00", // 127 with a trailing zero group
    "ffffffffffffffffff8000", // 11 bytes
    "ffffffffffffffffff81", // 10th byte continues
    "ffffffffffffffffff02", // 2^64
    "ffffffffffffffffff7f", // far past u64
  ];
  for (const b of bad) assertThrows(() => decodeVarint(hex(b), 0), DecodeError, b);
});

Deno.test("varint: random u64 values round-trip and use ⌈bits/7⌉ bytes", () => {
  const rand = seededRandom(7);
  for (let i = 0; i < 2000; i++) {
    const bits = randomInt(rand, 0, 64);
    let v = 0n;
    for (let b = 0; b < bits; b++) v = (v << 1n) | (rand() < 0.5 ? 1n : 0n);
    const enc = encodeVarint(v);
    assertEquals(enc.length, Math.max(1, Math.ceil(v.toString(2).length / 7)));
    assertEquals(decodeVarint(enc, 0), { value: v, end: enc.length });
  }
});

Deno.test("RangeSpec: the brief's and iroh's hexdumps", () => {
  const cases: [ChunkRanges, string][] = [
    [ChunkRanges.EMPTY, "00"],
    [ChunkRanges.ALL, "01 00"],
    [ChunkRanges.range(64), "01 40"],
    [ChunkRanges.range(10000), "01 90 4e"],
    [ChunkRanges.range(0, 64), "02 00 40"],
    [ChunkRanges.range(1, 3).union(ChunkRanges.range(9, 13)), "04 01 02 06 04"],
    [ChunkRanges.LAST, "01 ff ff ff ff ff ff ff ff ff 01"],
  ];
  for (const [ranges, dump] of cases) {
    assertEquals(toHex(encodeRangeSpec(ranges)), toHex(hex(dump)), ranges.toString());
    assert(decodeRangeSpec(hex(dump)).equals(ranges), dump);
  }
});

Deno.test("RangeSpecSeq: iroh's hexdumps, and the constructors' contents", () => {
  const cases: [ChunkRangesSeq, string][] = [
    [ChunkRangesSeq.EMPTY, "00"],
    [ChunkRangesSeq.ALL, "01 00 01 00"],
    [ChunkRangesSeq.BLOB, "02 00 01 00 01 00"],
    [
      ChunkRangesSeq.fromRanges([ChunkRanges.range(1, 3), ChunkRanges.range(7, 13)]),
      "03 00 02 01 02 01 02 07 06 01 00",
    ],
    [
      ChunkRangesSeq.fromRangesInfinite([
        ChunkRanges.EMPTY,
        ChunkRanges.EMPTY,
        ChunkRanges.EMPTY,
        ChunkRanges.range(7),
        ChunkRanges.ALL,
      ]),
      "02 03 01 07 01 01 00",
    ],
  ];
  for (const [seq, dump] of cases) {
    assertEquals(toHex(seq.encode()), toHex(hex(dump)));
    assert(ChunkRangesSeq.decode(hex(dump)).equals(seq), dump);
  }
  assert(ChunkRangesSeq.BLOB.get(0).isAll && ChunkRangesSeq.BLOB.get(1).isEmpty);
  assert(!ChunkRangesSeq.BLOB.isInfinite && ChunkRangesSeq.ALL.isInfinite);
  assert(ChunkRangesSeq.ALL.get(12345).isAll);
  assert(ChunkRangesSeq.VERIFIED_SIZE.get(0).equals(ChunkRanges.LAST));
  assert(ChunkRangesSeq.VERIFIED_SIZE.get(1).isEmpty);
  assert(ChunkRangesSeq.VERIFIED_CHILD_SIZES.get(0).isAll);
  assert(ChunkRangesSeq.VERIFIED_CHILD_SIZES.get(99).equals(ChunkRanges.LAST));
});

Deno.test("RangeSpecSeq: from_ranges merges equal neighbours like iroh (its canonical cases)", () => {
  const mk = (rs: [number, number][]) => rs.map(([a, b]) => ChunkRanges.range(a, b));
  const cases: [[number, number][], number][] = [
    [[[0, 1], [0, 0]], 2],
    [[[1, 2], [1, 2], [1, 2]], 2],
    [[[1, 2], [1, 2], [2, 3], [2, 3]], 3],
  ];
  for (const [list, runs] of cases) {
    const seq = ChunkRangesSeq.fromRanges(mk(list));
    assertEquals(seq.runs.length, runs);
    mk(list).forEach((r, i) => assert(seq.get(i).equals(r)));
    assert(seq.get(list.length).isEmpty);
  }
});

Deno.test("RangeSpecSeq: nonEmpty lists wanted indices in order, bounded, skipping empty runs", () => {
  const seq = ChunkRangesSeq.fromRangesInfinite([
    ChunkRanges.ALL,
    ChunkRanges.EMPTY,
    ChunkRanges.range(0, 2),
    ChunkRanges.range(0, 2),
    ChunkRanges.EMPTY,
    ChunkRanges.LAST,
  ]);
  assertEquals([...seq.nonEmpty(0, 8)].map(([i, r]) => `${i}:${r}`), [
    `0:0..`,
    `2:0..2`,
    `3:0..2`,
    `5:${LAST_CHUNK}..`,
    `6:${LAST_CHUNK}..`,
    `7:${LAST_CHUNK}..`,
  ]);
  assertEquals([...seq.nonEmpty(3, 6)].map(([i]) => i), [3, 5]);
  // An empty run of 2^52 indices is skipped at once, and a finite sequence ends.
  const far = ChunkRangesSeq.decode(varints(3n, 0n, 0n, 2n ** 52n, 1n, 0n, 1n, 0n));
  assertEquals([...far.nonEmpty()].map(([i]) => i), [2 ** 52]);
});

Deno.test("RangeSpec/Seq: malformed bytes are rejected with DecodeError", () => {
  const badSpecs = [
    "", // no count
    "02 00", // one boundary of two
    "02 05 00", // zero delta: boundaries must ascend
    "03 01 01 00", // zero delta later on
    "05 00", // count past the input
    "01 00 00", // trailing byte
    "02 ff ff ff ff ff ff ff ff ff 01 01", // sum past u64::MAX
    "01 80 00", // non-canonical varint
  ];
  for (const b of badSpecs) assertThrows(() => decodeRangeSpec(hex(b)), DecodeError, b);
  const badSeqs = [
    "", // no count
    "01 00", // a run without its spec
    "02 00 01 00 00 00", // zero index delta after the first run
    "03 00 00", // count past the input
    "01 00 01 00 ff", // trailing byte
    "01 00 02 05 00", // bad spec inside
  ];
  for (const b of badSeqs) assertThrows(() => ChunkRangesSeq.decode(hex(b)), DecodeError, b);
  // Blob indices past 2^53 - 1 cannot name a blob.
  assertThrows(
    () => ChunkRangesSeq.decode(varints(1n, 2n ** 53n, 0n)),
    DecodeError,
  );
  assertThrows(
    () => ChunkRangesSeq.decode(varints(2n, 0n, 0n, U64_MAX, 0n)),
    DecodeError,
  );
});

/** The chunks really selected of a blob whose last chunk is `c` (bao-tree `truncate_ranges`). */
function effective(boundaries: bigint[], c: bigint): string {
  const out: string[] = [];
  for (let i = 0; i < boundaries.length; i += 2) {
    const a = boundaries[i];
    const b = i + 1 < boundaries.length ? boundaries[i + 1] : undefined;
    if (a > c) out.push(`${c}`);
    else for (let x = a; x < (b === undefined || b > c ? c + 1n : b); x++) out.push(`${x}`);
  }
  return [...new Set(out)].join(",");
}

Deno.test("RangeSpec: boundaries past 2^53 decode to an equivalent set; LAST_CHUNK is u64::MAX", () => {
  const rand = seededRandom(53);
  const L = BigInt(LAST_CHUNK);
  const pick = (): bigint => {
    const r = rand();
    if (r < 0.4) return BigInt(randomInt(rand, 0, 40));
    if (r < 0.6) return L + BigInt(randomInt(rand, -3, 3));
    if (r < 0.8) return U64_MAX - BigInt(randomInt(rand, 0, 3));
    return BigInt(randomInt(rand, 0, 2 ** 30)) * 2n ** 33n;
  };
  for (let i = 0; i < 2000; i++) {
    const n = randomInt(rand, 0, 5);
    const values = [...new Set(Array.from({ length: n }, pick))].sort((a, b) => (a < b ? -1 : 1));
    const deltas = values.map((v, j) => v - (j === 0 ? 0n : values[j - 1]));
    const decoded = decodeRangeSpec(varints(BigInt(values.length), ...deltas));
    const asBig = decoded.boundaries.map(BigInt);
    for (const c of [0n, 5n, 17n, 39n]) {
      assertEquals(effective(asBig, c), effective(values, c), `${values} at last chunk ${c}`);
    }
    // Re-encoding is stable: LAST_CHUNK goes out as u64::MAX and comes back as itself.
    assert(decodeRangeSpec(encodeRangeSpec(decoded)).equals(decoded));
  }
});

Deno.test("RangeSpecSeq: random lists of ranges round-trip through bytes (iroh's proptest)", () => {
  const rand = seededRandom(11);
  const randomRanges = (): ChunkRanges => {
    let r = ChunkRanges.EMPTY;
    for (let i = randomInt(rand, 0, 3); i > 0; i--) {
      const a = randomInt(rand, 0, 100), b = randomInt(rand, 0, 100);
      r = r.union(
        rand() < 0.1 ? ChunkRanges.range(a) : ChunkRanges.range(Math.min(a, b), Math.max(a, b)),
      );
    }
    return rand() < 0.05 ? r.union(ChunkRanges.LAST) : r;
  };
  for (let i = 0; i < 500; i++) {
    const list = Array.from({ length: randomInt(rand, 0, 10) }, randomRanges);
    const seq = ChunkRangesSeq.decode(ChunkRangesSeq.fromRanges(list).encode());
    list.forEach((r, j) => assert(seq.get(j).equals(r), `${j}`));
    assert(seq.get(list.length).isEmpty && !seq.isInfinite);
    const inf = ChunkRangesSeq.decode(ChunkRangesSeq.fromRangesInfinite(list).encode());
    list.forEach((r, j) => assert(inf.get(j).equals(r), `${j}`));
    const last = list.length > 0 ? list[list.length - 1] : ChunkRanges.EMPTY;
    assert(inf.get(list.length + 5).equals(last));
  }
});
