/**
 * Fuzz-style tests of every decoder of untrusted wire bytes in the protocol layer: random bytes
 * and single-byte mutations (replace, insert, delete) and truncations of valid requests, range
 * specs, range spec sequences and meta blobs. Each decoder must either succeed, with a value that
 * re-encodes stably, or throw its own typed error, and always return.
 */
import { assert } from "./assert.ts";
import { asHash, toHex } from "../src/blake3/hash.ts";
import {
  decodeCollectionMeta,
  encodeCollectionMeta,
  InvalidCollectionError,
} from "../src/collection/collection.ts";
import { DecodeError } from "../src/protocol/decode_error.ts";
import {
  decodeRequest,
  encodeRequest,
  getAll,
  getBlob,
  getBlobRanges,
  getManyRequest,
  getRequest,
  type Request,
} from "../src/protocol/request.ts";
import { ChunkRanges } from "../src/ranges/chunk_ranges.ts";
import { ChunkRangesSeq, decodeRangeSpec, encodeRangeSpec } from "../src/ranges/range_spec.ts";
import { randomBytes, randomInt, seededRandom } from "./random.ts";

/** A random single-byte change, insertion, deletion or truncation of `valid`, or random bytes. */
function mutate(valid: Uint8Array, rand: () => number): Uint8Array {
  const at = randomInt(rand, 0, Math.max(0, valid.length - 1));
  const byte = rand() < 0.3
    ? [0x00, 0x01, 0x7f, 0x80, 0xff][randomInt(rand, 0, 4)]
    : randomInt(rand, 0, 255);
  switch (randomInt(rand, 0, 4)) {
    case 0: {
      const out = valid.slice();
      if (out.length > 0) out[at] = byte;
      return out;
    }
    case 1:
      return Uint8Array.of(...valid.subarray(0, at), byte, ...valid.subarray(at));
    case 2:
      return Uint8Array.of(...valid.subarray(0, at), ...valid.subarray(at + 1));
    case 3:
      return valid.subarray(0, at);
    default:
      return randomBytes(randomInt(rand, 0, 80), rand);
  }
}

/**
 * Runs `decode` on mutations of each valid encoding: every throw must be one of `allowed`;
 * every success goes to `check`.
 */
function fuzz<T>(
  seed: number,
  valid: Uint8Array[],
  decode: (bytes: Uint8Array) => T,
  allowed: (e: unknown) => boolean,
  check: (value: T, bytes: Uint8Array) => void,
): number {
  const rand = seededRandom(seed);
  let accepted = 0;
  for (let i = 0; i < 6000; i++) {
    const bytes = mutate(valid[i % valid.length], rand);
    let value: T;
    try {
      value = decode(bytes);
    } catch (e) {
      assert(allowed(e), `${toHex(bytes)}: ${e}`);
      continue;
    }
    accepted++;
    check(value, bytes);
  }
  return accepted;
}

const H = [1, 2, 3].map((b) => asHash(new Uint8Array(32).fill(b)));
const SPECS = [
  ChunkRanges.EMPTY,
  ChunkRanges.ALL,
  ChunkRanges.LAST,
  ChunkRanges.range(1, 3).union(ChunkRanges.range(9, 13)),
  ChunkRanges.fromBytes(1000, 200000).union(ChunkRanges.LAST),
  ChunkRanges.range(10000),
];
const SEQS = [
  ChunkRangesSeq.EMPTY,
  ChunkRangesSeq.ALL,
  ChunkRangesSeq.BLOB,
  ChunkRangesSeq.VERIFIED_SIZE,
  ChunkRangesSeq.fromRangesInfinite([ChunkRanges.ALL, ChunkRanges.ALL, ChunkRanges.range(0, 2)]),
  ChunkRangesSeq.fromRanges(SPECS),
];
const isDecodeError = (e: unknown) => e instanceof DecodeError;

Deno.test("fuzz: RangeSpec decoding throws only DecodeError, and what it accepts re-encodes", () => {
  const accepted = fuzz(1, SPECS.map(encodeRangeSpec), decodeRangeSpec, isDecodeError, (r) => {
    assert(decodeRangeSpec(encodeRangeSpec(r)).equals(r));
  });
  assert(accepted > 100, `${accepted}`);
});

Deno.test("fuzz: RangeSpecSeq decoding throws only DecodeError; accepted sequences iterate", () => {
  const valid = SEQS.map((s) => s.encode());
  const accepted = fuzz(2, valid, ChunkRangesSeq.decode, isDecodeError, (seq) => {
    assert(ChunkRangesSeq.decode(seq.encode()).equals(seq));
    let last = -1;
    for (const [i, r] of seq.nonEmpty(0, 1000)) {
      assert(i > last && !r.isEmpty && r.equals(seq.get(i)));
      last = i;
    }
  });
  assert(accepted > 100, `${accepted}`);
});

Deno.test("fuzz: request decoding throws only DecodeError (its subclasses included)", () => {
  const valid = [
    getBlob(H[0]),
    getAll(H[1]),
    getRequest(H[2], ChunkRangesSeq.VERIFIED_SIZE),
    getBlobRanges(H[0], SPECS[4]),
    getRequest(H[1], SEQS[5]),
    getManyRequest(
      H,
      ChunkRangesSeq.fromRanges([ChunkRanges.ALL, ChunkRanges.EMPTY, ChunkRanges.LAST]),
    ),
    getManyRequest([], ChunkRangesSeq.EMPTY),
  ].map(encodeRequest);
  const hashesOf = (r: Request) => (r.type === "get" ? [r.hash] : r.hashes).map(toHex).join();
  const accepted = fuzz(3, valid, decodeRequest, isDecodeError, (request) => {
    const again = decodeRequest(encodeRequest(request));
    assert(again.type === request.type && again.ranges.equals(request.ranges));
    assert(hashesOf(again) === hashesOf(request));
  });
  assert(accepted > 100, `${accepted}`);
});

Deno.test("fuzz: meta blob decoding throws only InvalidCollectionError; accepted names are safe", () => {
  const valid = [
    encodeCollectionMeta([]),
    encodeCollectionMeta(["a.txt", "b.txt"]),
    encodeCollectionMeta(["dir/sub/file.bin", "名前", "x..y"]),
  ];
  const accepted = fuzz(
    4,
    valid,
    decodeCollectionMeta,
    (e) => e instanceof InvalidCollectionError,
    (names) => {
      for (const name of names) {
        assert(!name.split("/").some((s) => s === "" || s === "." || s === ".."), name);
        assert(!name.includes("\\") && !name.includes("\0"), name);
      }
      assert(new Set(names).size === names.length);
    },
  );
  assert(accepted > 100, `${accepted}`);
});
