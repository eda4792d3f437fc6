/**
 * Ed25519 for Willow'25: strict verification on both backends (WebCrypto and the noble
 * fallback), the small-order and non-canonical cases WebCrypto alone would let through, the point
 * check decoders use, and `is_communal`.
 */
import * as noble from "@noble/ed25519";
import { assert, assertEquals, assertThrows } from "./assert.ts";
import { randomBytes, seededRandom } from "./random.ts";
import { InvalidWillowValueError } from "../src/willow/errors.ts";
import {
  asPublicKey,
  asSignature,
  ed25519Backend,
  generateKeyPair,
  generateNamespaceKeyPair,
  isCommunal,
  isPointEncoding,
  type NamespaceId,
  sign,
  useEd25519Backend,
  verify,
} from "../src/willow/keys.ts";

const P = 2n ** 255n - 19n;
const L = 2n ** 252n + 27742317777372353535851937790883648493n;

function littleEndian(n: bigint, length = 32): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++, n >>= 8n) out[i] = Number(n & 0xffn);
  return out;
}

function scalarOf(bytes: Uint8Array): bigint {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]);
  return n;
}

const identity = littleEndian(1n);
/** R = identity, S = 0: verifies under the identity key for every message, cofactored or not. */
const forged: Uint8Array<ArrayBuffer> = Uint8Array.from([...identity, ...new Uint8Array(32)]);
const message: Uint8Array<ArrayBuffer> = new TextEncoder().encode("willow");

/** The eight points of small order, found as the multiples of a point of order 8. */
function smallOrderPoints(): Uint8Array[] {
  const order8 = noble.Point.fromHex(
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
  );
  const out: Uint8Array[] = [];
  let p = noble.Point.ZERO;
  for (let i = 0; i < 8; i++, p = p.add(order8)) out.push(p.toBytes());
  return out;
}

async function onBothBackends(fn: () => Promise<void>): Promise<void> {
  const native = await ed25519Backend();
  try {
    for (const backend of ["webcrypto", "noble"] as const) {
      if (backend === "webcrypto" && native !== "webcrypto") continue;
      useEd25519Backend(backend);
      await fn();
    }
  } finally {
    useEd25519Backend(native);
  }
}

Deno.test("willow keys: sign and verify, and flipped bits fail, on both backends", async () => {
  await onBothBackends(async () => {
    const pair = await generateKeyPair();
    const sig = await sign(pair.secretKey, message);
    assert(await verify(pair.publicKey, sig, message));
    assertEquals(await noble.verifyAsync(sig, message, pair.publicKey), true, "noble agrees");
    for (const i of [0, 31, 32, 63]) {
      const bad = sig.slice();
      bad[i] ^= 1;
      assert(!await verify(pair.publicKey, bad, message), `flipped signature byte ${i}`);
    }
    assert(!await verify(pair.publicKey, sig, Uint8Array.of(1)), "other message");
    assert(!await verify(pair.publicKey, sig.subarray(1), message), "short signature");
  });
});

Deno.test("willow keys: non-canonical S (S + ℓ) is rejected", async () => {
  await onBothBackends(async () => {
    const pair = await generateKeyPair();
    const sig = await sign(pair.secretKey, message);
    const malleated = sig.slice();
    malleated.set(littleEndian(scalarOf(sig.subarray(32)) + L), 32);
    assert(!await verify(pair.publicKey, malleated, message));
  });
});

Deno.test("willow keys: small-order keys and R are rejected, which WebCrypto alone accepts", async () => {
  const small = smallOrderPoints();
  assertEquals(new Set(small.map((b) => b.join())).size, 8);
  await onBothBackends(async () => {
    assert(!await verify(identity, forged, message), "identity key forgery");
    for (const pk of small) assert(!await verify(pk, forged, message));
    const pair = await generateKeyPair();
    const sig = await sign(pair.secretKey, message);
    for (const r of small) {
      assert(!await verify(pair.publicKey, Uint8Array.from([...r, ...sig.subarray(32)]), message));
    }
  });
  if (await ed25519Backend() === "webcrypto") {
    const key = await crypto.subtle.importKey("raw", identity, "Ed25519", false, ["verify"]);
    const raw = await crypto.subtle.verify("Ed25519", key, forged, message);
    console.log(`raw WebCrypto on the identity-key forgery: ${raw ? "accepts" : "rejects"}`);
  }
});

Deno.test("willow keys: non-canonical point encodings are rejected", async () => {
  const identityPlusP = littleEndian(1n + P);
  const identityNegativeZero = identity.slice();
  identityNegativeZero[31] |= 0x80;
  await onBothBackends(async () => {
    assert(!await verify(identityPlusP, forged, message), "A with y = 1 + p");
    assert(!await verify(identityNegativeZero, forged, message), "A = identity with sign bit");
    const nonCanonicalR = Uint8Array.from([...identityPlusP, ...new Uint8Array(32)]);
    assert(!await verify(identity, nonCanonicalR, message), "R with y = 1 + p");
  });
});

Deno.test("willow keys: isPointEncoding agrees with noble's (dalek-like) decompression", () => {
  const rand = seededRandom(2024);
  let points = 0;
  for (let i = 0; i < 300; i++) {
    const bytes = randomBytes(32, rand);
    let expected = true;
    try {
      noble.Point.fromBytes(bytes, true);
    } catch {
      expected = false;
    }
    assertEquals(isPointEncoding(bytes), expected);
    assertEquals(isPointEncoding(bytes), expected, "cached answer");
    if (expected) points++;
  }
  assert(points > 100 && points < 200, `about half of all strings are points (${points})`);
  assert(isPointEncoding(littleEndian(1n + P)), "non-canonical but decompressible, as in dalek");
  assert(!isPointEncoding(new Uint8Array(31)));
});

Deno.test("willow keys: is_communal is the last bit of the last byte, and key kinds generate", async () => {
  const key = new Uint8Array(32);
  assert(isCommunal(key as NamespaceId));
  key[31] = 0x18; // the Willow'25 default namespace id ends in 24: communal
  assert(isCommunal(key as NamespaceId));
  key[31] = 0x01;
  assert(!isCommunal(key as NamespaceId));
  key[31] = 0x80;
  assert(isCommunal(key as NamespaceId), "only the least significant bit counts");
  assert(isCommunal((await generateNamespaceKeyPair("communal")).publicKey));
  assert(!isCommunal((await generateNamespaceKeyPair("owned")).publicKey));
});

Deno.test("willow keys: asPublicKey and asSignature check what the route layer parses", async () => {
  const pair = await generateKeyPair();
  assertEquals(asPublicKey(pair.publicKey.slice()), pair.publicKey);
  const notPoint = new Uint8Array(32);
  notPoint[0] = 2;
  assertThrows(() => asPublicKey(notPoint), InvalidWillowValueError);
  assertThrows(() => asPublicKey(pair.publicKey.subarray(1)), InvalidWillowValueError);
  assertEquals(asSignature(new Uint8Array(64)).length, 64);
  assertThrows(() => asSignature(new Uint8Array(63)), InvalidWillowValueError);
});
