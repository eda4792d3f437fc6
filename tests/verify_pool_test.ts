/**
 * Ed25519 verification on worker threads: the same answers as on the calling thread for valid
 * and damaged signatures (in batches larger than one message), the strict checks of Willow'25
 * still applied with a pool installed, and a pool that is gone handing verification back.
 */
import { assert, assertEquals, assertRejects } from "./assert.ts";
import { seededRandom } from "./random.ts";
import { generateKeyPair, type KeyPair, sign, verify, verifyOn } from "../src/willow/keys.ts";
import { VerifyPool, VerifyPoolError } from "../src/willow/verify_pool.ts";

interface Case {
  publicKey: Uint8Array;
  signature: Uint8Array;
  message: Uint8Array;
}

/** `n` signatures by a few signers, about a third of them damaged in key, signature or message. */
async function cases(n: number, seed: number): Promise<Case[]> {
  const rand = seededRandom(seed);
  const signers: KeyPair[] = await Promise.all([1, 2, 3].map(() => generateKeyPair()));
  return await Promise.all(Array.from({ length: n }, async (_, i) => {
    const by = signers[i % signers.length];
    const message = new TextEncoder().encode(`message ${i} ${rand()}`);
    const signature: Uint8Array = await sign(by.secretKey, message);
    const c = { publicKey: by.publicKey as Uint8Array, signature, message };
    switch (Math.floor(rand() * 6)) {
      case 0:
        signature[Math.floor(rand() * 64)] ^= 1 << Math.floor(rand() * 8);
        break;
      case 1:
        message[0] ^= 1;
        break;
      case 2:
        c.publicKey = signers[(i + 1) % signers.length].publicKey;
        break;
    }
    return c;
  }));
}

Deno.test("verify pool: the same answers as this thread, in batches of any size", async () => {
  const all = await cases(700, 1);
  const here = await Promise.all(all.map((c) => verify(c.publicKey, c.signature, c.message)));
  assert(here.some((v) => v) && here.some((v) => !v), "both outcomes occur");
  const pool = new VerifyPool(2);
  try {
    const direct = await Promise.all(
      all.map((c) => pool.verify(c.publicKey, c.signature, c.message)),
    );
    assertEquals(direct, here);
    // One at a time too: a batch of one.
    assertEquals(await pool.verify(all[0].publicKey, all[0].signature, all[0].message), here[0]);
    verifyOn(pool);
    const viaKeys = await Promise.all(all.map((c) => verify(c.publicKey, c.signature, c.message)));
    assertEquals(viaKeys, here);
  } finally {
    verifyOn(undefined);
    pool.close();
  }
});

Deno.test("verify pool: Willow's strict checks still apply with a pool installed", async () => {
  const identity = new Uint8Array(32);
  identity[0] = 1;
  // R = identity, S = 0 under the identity key: WebCrypto alone accepts it for any message.
  const forged = new Uint8Array(64);
  forged[0] = 1;
  const pool = new VerifyPool(1);
  verifyOn(pool);
  try {
    assertEquals(await verify(identity, forged, new TextEncoder().encode("any")), false);
    // …while the pool answers genuine signatures.
    const signer = await generateKeyPair();
    const message = new TextEncoder().encode("genuine");
    assertEquals(
      await verify(signer.publicKey, await sign(signer.secretKey, message), message),
      true,
    );
  } finally {
    verifyOn(undefined);
    pool.close();
  }
});

Deno.test("verify pool: a closed pool refuses, and verification falls back to this thread", async () => {
  const [c] = await cases(1, 2);
  // Whatever the case drew (genuine or damaged), the answer must not change.
  const expected = await verify(c.publicKey, c.signature, c.message);
  const pool = new VerifyPool(1);
  assertEquals(await pool.verify(c.publicKey, c.signature, c.message), expected);
  const pending = pool.verify(c.publicKey, c.signature, c.message);
  pool.close();
  await assertRejects(() => pending, VerifyPoolError);
  await assertRejects(() => pool.verify(c.publicKey, c.signature, c.message), VerifyPoolError);
  verifyOn(pool);
  try {
    assertEquals(await verify(c.publicKey, c.signature, c.message), expected);
  } finally {
    verifyOn(undefined);
  }
});
