import { assert, assertEquals, assertThrows } from "./assert.ts";
import { createBLAKE3 } from "hash-wasm";
import vectors from "./vectors/blake3_test_vectors.json" with { type: "json" };
import { Hasher } from "../src/blake3/hasher.ts";
import {
  InvalidHashError,
  parseHash,
  parseTypedHash,
  toBase32,
  toHex,
} from "../src/blake3/hash.ts";
import { availableBackends, withBackend } from "../src/blake3/kernel.ts";
import { portableBackend } from "../src/blake3/portable.ts";
import { loadSimdBackend } from "../src/blake3/simd.ts";
import { hash, hashXof, subtreeCv } from "../src/blake3/tree.ts";
import { randomBytes, seededRandom } from "./random.ts";

function vectorInput(len: number): Uint8Array {
  return Uint8Array.from({ length: len }, (_, i) => i % 251);
}

const reference = await createBLAKE3();
function referenceHash(data: Uint8Array): string {
  reference.init();
  reference.update(data);
  return reference.digest("hex");
}

for (const backend of availableBackends()) {
  Deno.test(`blake3 [${backend.name}]: every official vector, one-shot, XOF and streaming`, () =>
    withBackend(backend, () => {
      for (const c of vectors.cases) {
        const input = vectorInput(c.input_len);
        assertEquals(toHex(hash(input)), c.hash.slice(0, 64), `hash, len ${c.input_len}`);
        assertEquals(toHex(hashXof(input, 131)), c.hash, `xof, len ${c.input_len}`);
        for (const step of [1, 63, 1000, 1024, 4096]) {
          const h = new Hasher();
          for (let o = 0; o < input.length; o += step) h.update(input.subarray(o, o + step));
          assertEquals(toHex(h.finalize()), c.hash.slice(0, 64), `stream ${step}, ${c.input_len}`);
        }
      }
    }));

  Deno.test(`blake3 [${backend.name}]: agrees with hash-wasm around slab and power-of-two sizes`, () =>
    withBackend(backend, () => {
      const rand = seededRandom(1);
      const sizes = [0, 1, 1023, 1024, 1025, 16383, 16384, 16385];
      for (let p = 15; p <= 22; p++) sizes.push(2 ** p - 1, 2 ** p, 2 ** p + 1);
      sizes.push(3 * 2 ** 20 + 12345);
      for (const size of sizes) {
        const data = randomBytes(size, rand);
        const expected = referenceHash(data);
        assertEquals(toHex(hash(data)), expected, `one-shot ${size}`);
        const h = new Hasher();
        let o = 0;
        while (o < size) {
          const n = Math.floor(rand() * 300_000) + 1;
          h.update(data.subarray(o, o + n));
          o += n;
        }
        assertEquals(toHex(h.finalize()), expected, `stream ${size}`);
      }
    }));
}

Deno.test("blake3: every backend gives the same subtree CVs at unaligned offsets", () => {
  const rand = seededRandom(2);
  for (let i = 0; i < 200; i++) {
    const size = Math.floor(rand() * (1 << 20)) + 1;
    const log = Math.floor(rand() * 11);
    const start = Math.floor(rand() * 2 ** 20) * 2 ** log;
    const offset = Math.floor(rand() * 8);
    const buf = randomBytes(size + offset, rand).subarray(offset);
    const expected = new Uint8Array(32 * Math.ceil(size / (1024 << log)));
    portableBackend.subtreeCvs(buf, start, log, expected);
    for (const backend of availableBackends()) {
      const out = new Uint8Array(expected.length);
      backend.subtreeCvs(buf, start, log, out);
      assertEquals(toHex(out), toHex(expected), `${backend.name} size ${size} log ${log}`);
    }
  }
});

Deno.test("blake3: a subtree at chunk counter 2^32 and beyond uses the high counter word", () => {
  // Counters above 2^32 reach blobs over 4 TiB; both words of the counter must be hashed.
  const data = randomBytes(4096, seededRandom(3));
  const a = subtreeCv(data, 2 ** 32, false);
  const b = subtreeCv(data, 0, false);
  const c = subtreeCv(data, 2 ** 33, false);
  assertEquals(new Set([toHex(a), toHex(b), toHex(c)]).size, 3);
  const expected = new Uint8Array(32);
  portableBackend.subtreeCvs(data, 2 ** 32 + 4, 2, expected);
  for (const backend of availableBackends()) {
    const out = new Uint8Array(32);
    backend.subtreeCvs(data, 2 ** 32 + 4, 2, out);
    assertEquals(toHex(out), toHex(expected), backend.name);
  }
});

Deno.test("blake3: both SIMD builds match the portable backend at edge sizes and counters", async () => {
  // The runtime uses one build; the other (plain SIMD, for engines without relaxed SIMD) must
  // be checked too. Sizes straddle blocks, chunks, the 4- and 8-chunk groups and 1 MiB; the
  // counters make the low word wrap inside a group (carry into the high word per lane).
  const builds = [await loadSimdBackend(["relaxed"]), await loadSimdBackend(["plain"])];
  assert(builds.every((b) => b !== undefined), "Deno runs both SIMD builds");
  const rand = seededRandom(4);
  const sizes = [0, 1, 63, 64, 65, 1023, 1024, 1025, 3 * 1024, 4 * 1024 + 1, 7 * 1024 + 1000];
  sizes.push(8 * 1024, 8 * 1024 + 64, 12 * 1024 - 1, 17 * 1024, 2 ** 20 - 1, 2 ** 20);
  const starts = [0, 2 ** 32 - 3, 2 ** 32 - 6, 2 ** 33 + 1, 2 ** 53 - 2 ** 11];
  for (const size of sizes) {
    const data = randomBytes(size, rand);
    for (const start of starts) {
      for (const log of [0, 1, 3, 10]) {
        const expected = new Uint8Array(32 * Math.max(1, Math.ceil(size / (1024 << log))));
        portableBackend.subtreeCvs(data, start, log, expected);
        for (const backend of builds) {
          const out = new Uint8Array(expected.length);
          assertEquals(backend!.subtreeCvs(data, start, log, out), expected.length / 32);
          assertEquals(toHex(out), toHex(expected), `${backend!.name} ${size} ${start} ${log}`);
        }
      }
    }
  }
});

Deno.test("hash text forms: hex and base32 round-trip, everything else is rejected", () => {
  const h = hash(new Uint8Array(0));
  const hex = toHex(h);
  assertEquals(hex, "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262");
  assertEquals(toHex(parseHash(hex)), hex);
  const b32 = toBase32(h);
  assertEquals(b32.length, 52);
  assertEquals(toHex(parseHash(b32)), hex);
  // One spelling per hash: lowercase only.
  for (const bad of ["", "af13", hex + "0", hex.slice(0, 63) + "g", b32.slice(0, 51) + "1"]) {
    assertThrows(() => parseHash(bad), InvalidHashError);
  }
  assertThrows(() => parseHash(hex.toUpperCase()), InvalidHashError, "lowercase");
  assertThrows(() => parseHash(b32.toUpperCase()), InvalidHashError, "lowercase");
  // What a person types (CLI arguments) may be in either case.
  assertEquals(toHex(parseTypedHash(hex.toUpperCase())), hex);
  // A base32 string whose unused trailing bits are set names no hash.
  const last = "abcdefghijklmnopqrstuvwxyz234567".indexOf(b32[51]);
  const noncanonical = b32.slice(0, 51) + "abcdefghijklmnopqrstuvwxyz234567"[last ^ 1];
  assertThrows(() => parseHash(noncanonical), InvalidHashError, "canonical");
});
