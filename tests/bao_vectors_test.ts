/**
 * The official Bao test vectors (oconnor663/bao tests/test_vectors.json, copied to
 * tests/vectors/; see SOURCES.md). At chunk group log k = 0 our trees are plain bao, so every
 * hash, combined encoding, outboard, seek and slice must match byte for byte, and every listed
 * corruption must be caught.
 */
import { assert, assertEquals, assertThrows } from "./assert.ts";
import vectors from "./vectors/bao_test_vectors.json" with { type: "json" };
import { asHash, parseHash, toHex } from "../src/blake3/hash.ts";
import { hash } from "../src/blake3/tree.ts";
import { encodeRanges, memorySource, sizeHeader } from "../src/bao/encode.ts";
import { collect } from "../src/bytes.ts";
import { BaoError } from "../src/bao/errors.ts";
import { MemOutboard, outboardOf } from "../src/bao/outboard.ts";
import { BaoTree, InvalidTreeError } from "../src/bao/tree.ts";
import { validRanges } from "../src/bao/validate.ts";
import { ChunkRanges } from "../src/ranges/chunk_ranges.ts";
import { decodeAll } from "./bao_helpers.ts";

/** Bao's vector input: a little-endian u32 counter from 1, cut to `len` bytes. */
function baoInput(len: number): Uint8Array {
  const out = new Uint8Array(len + 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i * 4 < len; i++) view.setUint32(i * 4, i + 1, true);
  return out.subarray(0, len);
}

async function combined(input: Uint8Array): Promise<Uint8Array> {
  const ob = outboardOf(input, 0);
  const items = await collect(encodeRanges(memorySource(input, ob), ChunkRanges.ALL));
  return Uint8Array.from([...sizeHeader(input.length), ...items]);
}

function flip(bytes: Uint8Array, offset: number): Uint8Array {
  const copy = bytes.slice();
  copy[offset] ^= 1;
  return copy;
}

Deno.test("bao vectors: hash", () => {
  for (const c of vectors.hash) assertEquals(toHex(hash(baoInput(c.input_len))), c.bao_hash);
});

Deno.test("bao vectors: combined encoding, decoding in any slicing, every corruption fails", async () => {
  for (const c of vectors.encode) {
    const input = baoInput(c.input_len);
    const root = parseHash(c.bao_hash);
    const encoded = await combined(input);
    assertEquals(encoded.length, c.output_len, `length ${c.input_len}`);
    assertEquals(toHex(hash(encoded)), c.encoded_blake3, `bytes ${c.input_len}`);
    for (const step of [1, 7, 64, 1000, encoded.length]) {
      const d = decodeAll(root, ChunkRanges.ALL, 0, encoded, step);
      assertEquals(d.data, input, `decode ${c.input_len} step ${step}`);
      assert(d.sizeVerified);
    }
    for (const off of c.corruptions) {
      assertThrows(
        () => decodeAll(root, ChunkRanges.ALL, 0, flip(encoded, off), 64),
        BaoError,
        `corruption at ${off} of ${c.input_len}`,
      );
    }
  }
});

/** Verifies data with a bao outboard file (8-byte size header, then pre-order pairs). */
async function checkWithOutboard(root: Uint8Array, outboardFile: Uint8Array, input: Uint8Array) {
  const size = Number(new DataView(outboardFile.buffer).getBigUint64(0, true));
  const ob = new MemOutboard(asHash(root), new BaoTree(size, 0), "pre", outboardFile.subarray(8));
  return await validRanges(memorySource(input, ob));
}

Deno.test("bao vectors: outboard bytes, and every outboard or input corruption detected", async () => {
  for (const c of vectors.outboard) {
    const input = baoInput(c.input_len);
    const root = parseHash(c.bao_hash);
    const ob = outboardOf(input, 0, "pre");
    const file = Uint8Array.from([...sizeHeader(input.length), ...ob.pairs]);
    assertEquals(file.length, c.output_len);
    assertEquals(toHex(hash(file)), c.encoded_blake3);
    assert((await checkWithOutboard(root, file, input)).isAll);
    for (const off of c.outboard_corruptions) {
      let valid: ChunkRanges | undefined;
      try {
        valid = await checkWithOutboard(root, flip(file, off), input);
      } catch (e) {
        assert(e instanceof InvalidTreeError, `${e}`);
      }
      assert(valid === undefined || !valid.isAll, `outboard corruption at ${off}`);
    }
    for (const off of c.input_corruptions) {
      const valid = await checkWithOutboard(root, file, flip(input, off));
      assert(!valid.isAll, `input corruption at ${off} of ${c.input_len}`);
      // Outboard-based encoding refuses to send the corrupted data as well.
      const source = memorySource(flip(input, off), ob);
      let threw = false;
      try {
        await collect(encodeRanges(source, ChunkRanges.ALL));
      } catch (e) {
        threw = e instanceof BaoError;
      }
      assert(threw, `encoding corrupted input at ${off}`);
    }
  }
});

Deno.test("bao vectors: seeking, as the encoding of the ranges from the seek point on", async () => {
  for (const c of vectors.seek) {
    const input = baoInput(c.input_len);
    const root = hash(input);
    const ob = outboardOf(input, 0);
    for (const off of c.seek_offsets) {
      const ranges = ChunkRanges.range(Math.floor(off / 1024));
      const items = await collect(encodeRanges(memorySource(input, ob), ranges));
      const encoded = Uint8Array.from([...sizeHeader(input.length), ...items]);
      const d = decodeAll(root, ranges, 0, encoded, 100);
      const from = Math.min(off, input.length);
      assertEquals(d.bytesFrom(from), input.subarray(from), `seek ${off} in ${c.input_len}`);
      assert(d.sizeVerified, "reading to EOF proves the size");
    }
  }
});

Deno.test("bao vectors: every slice, byte for byte, decoded, and every corruption fails", async () => {
  let slices = 0;
  for (const c of vectors.slice) {
    const input = baoInput(c.input_len);
    const root = parseHash(c.bao_hash);
    const ob = outboardOf(input, 0);
    for (const s of c.slices) {
      const ranges = ChunkRanges.fromBytes(s.start, s.start + Math.max(s.len, 1));
      const items = await collect(encodeRanges(memorySource(input, ob), ranges));
      const slice = Uint8Array.from([...sizeHeader(input.length), ...items]);
      const what = `slice ${s.start}+${s.len} of ${c.input_len}`;
      assertEquals(slice.length, s.output_len, what);
      assertEquals(toHex(hash(slice)), s.output_blake3, what);
      const d = decodeAll(root, ranges, 0, slice, 13);
      const from = Math.min(s.start, input.length);
      const to = Math.min(s.start + s.len, input.length);
      assertEquals(d.bytesFrom(from).subarray(0, to - from), input.subarray(from, to), what);
      for (const off of s.corruptions) {
        assertThrows(
          () => decodeAll(root, ranges, 0, flip(slice, off), 13),
          BaoError,
          `${what} @${off}`,
        );
      }
      slices++;
    }
  }
  assertEquals(slices, 222);
});
