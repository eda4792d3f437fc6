/**
 * Ed25519 for Willow'25 (willowprotocol.org `willow25.tsx`, "Cryptographic Primitives"):
 * namespace ids, subspace ids and Meadowcap user keys are 32-byte public keys, signatures are 64
 * raw bytes, and a namespace is communal iff the least significant bit of its key's last byte is
 * 0 (willow-rs `willow_25/src/namespace.rs`).
 *
 * Verification is strict, as Willow'25 intends (it names ed25519-dalek `verify_strict`,
 * willowprotocol.org issue #175): S must be canonical (< ℓ), A and R must be canonical point
 * encodings (y < p, no "negative zero" x) and must not be of small order. Deno's WebCrypto
 * Ed25519 (about 17× faster than JavaScript) already rejects non-canonical S, A and R but
 * accepts small-order keys (the all-identity forgery `A = R = identity, S = 0` verifies for every
 * message), so the small-order blacklist is checked here before either backend runs. Where
 * WebCrypto has no Ed25519, `@noble/ed25519` verifies instead, in its RFC 8032 mode plus a
 * torsion-freeness check of A and R: noble's equation is cofactored, WebCrypto's is not, and with
 * both points in the prime-order subgroup the two agree, so the fallback accepts a subset of what
 * WebCrypto accepts (they differ only on mixed-order points no honest signer produces).
 *
 * Decoding a key needs less: willow-rs accepts any 32 bytes that decompress to a curve point
 * (dalek `VerifyingKey::from_bytes`, which tolerates non-canonical y), and the official vectors
 * reject those that do not. `isPointEncoding` checks exactly that, with a cache, because the
 * check costs a field exponentiation (~75 µs) and a gateway sees the same few keys again and
 * again.
 *
 * @module
 */

import * as noble from "@noble/ed25519";
import { toHex } from "../blake3/hash.ts";
import { InvalidWillowValueError } from "./errors.ts";
import { PUBLIC_KEY_LENGTH, SIGNATURE_LENGTH } from "./params.ts";
import { type VerifyPool, VerifyPoolError } from "./verify_pool.ts";

declare const publicKeyBrand: unique symbol;
/** The 32-byte encoding of an Ed25519 public key (a curve point). */
export type PublicKey = Uint8Array & { readonly [publicKeyBrand]: true };
/** Willow'25 `NamespaceId` = Meadowcap `NamespacePublicKey`. */
export type NamespaceId = PublicKey;
/** Willow'25 `SubspaceId` = Meadowcap `UserPublicKey`. */
export type SubspaceId = PublicKey;
/** A Meadowcap user (the receiver of a capability, the signer of entries). */
export type UserPublicKey = PublicKey;

declare const signatureBrand: unique symbol;
/** A 64-byte Ed25519 signature (R ‖ S). */
export type Signature = Uint8Array & { readonly [signatureBrand]: true };

/** A key pair: `secretKey` is the 32-byte RFC 8032 seed. */
export interface KeyPair {
  readonly publicKey: PublicKey;
  readonly secretKey: Uint8Array;
}

const P = 2n ** 255n - 19n;
const L = 2n ** 252n + 27742317777372353535851937790883648493n;

/**
 * The canonical encodings of the eight points of small order (the identity, the point of order
 * 2, the two of order 4 and the four of order 8). Non-canonical encodings of them are rejected
 * before this list is consulted.
 */
const SMALL_ORDER = new Set([
  "0100000000000000000000000000000000000000000000000000000000000000",
  "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  "0000000000000000000000000000000000000000000000000000000000000000",
  "0000000000000000000000000000000000000000000000000000000000000080",
  "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
  "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
  "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
  "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
]);

/** The 32 little-endian bytes of `n`. */
function littleEndianBytes(n: bigint): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++, n >>= 8n) out[i] = Number(n & 0xffn);
  return out;
}

const P_BYTES = littleEndianBytes(P);
const L_BYTES = littleEndianBytes(L);
const ONE_BYTES = littleEndianBytes(1n);
const P_MINUS_ONE_BYTES = littleEndianBytes(P - 1n);

/**
 * Compares the 255-bit little-endian number in `bytes` (the top bit, a point encoding's sign,
 * masked off when `masked`) with `bound`: negative, zero or positive. Bytewise, without BigInt:
 * this runs for every signature a store verifies.
 */
function compareLE(bytes: Uint8Array, bound: Uint8Array, masked: boolean): number {
  for (let i = 31; i >= 0; i--) {
    const b = i === 31 && masked ? bytes[i] & 0x7f : bytes[i];
    if (b !== bound[i]) return b - bound[i];
  }
  return 0;
}

/** Willow'25 `is_communal`: the least significant bit of the key's last byte is 0. */
export function isCommunal(namespace: NamespaceId): boolean {
  return (namespace[PUBLIC_KEY_LENGTH - 1] & 1) === 0;
}

const pointCache = new Map<string, boolean>();
const POINT_CACHE_LIMIT = 4096;

/** True iff the 32 bytes decompress to a curve point (ed25519-dalek `VerifyingKey::from_bytes`). */
export function isPointEncoding(bytes: Uint8Array): boolean {
  if (bytes.length !== PUBLIC_KEY_LENGTH) return false;
  const hex = toHex(bytes);
  const cached = pointCache.get(hex);
  if (cached !== undefined) return cached;
  let ok = true;
  try {
    noble.Point.fromBytes(bytes, true);
  } catch {
    ok = false;
  }
  if (pointCache.size >= POINT_CACHE_LIMIT) pointCache.clear();
  pointCache.set(hex, ok);
  return ok;
}

/** Brands 32 bytes that encode a curve point as a public key. */
export function asPublicKey(bytes: Uint8Array): PublicKey {
  if (!isPointEncoding(bytes)) {
    throw new InvalidWillowValueError("not the 32-byte encoding of an Ed25519 point");
  }
  return bytes as PublicKey;
}

/** Brands 64 bytes as a signature (any 64 bytes are; validity is `verify`'s business). */
export function asSignature(bytes: Uint8Array): Signature {
  if (bytes.length !== SIGNATURE_LENGTH) {
    throw new InvalidWillowValueError(`a signature is 64 bytes, got ${bytes.length}`);
  }
  return bytes as Signature;
}

/** First bytes of the small-order encodings, to skip the set lookup for almost every point. */
const SMALL_ORDER_FIRST = new Set([...SMALL_ORDER].map((h) => parseInt(h.slice(0, 2), 16)));

/** Canonical (y < p, and x = 0 only with a clear sign bit) and not of small order. */
function isStrictPoint(bytes: Uint8Array): boolean {
  if (compareLE(bytes, P_BYTES, true) >= 0) return false;
  if (
    (bytes[31] & 0x80) !== 0 &&
    (compareLE(bytes, ONE_BYTES, true) === 0 || compareLE(bytes, P_MINUS_ONE_BYTES, true) === 0)
  ) {
    return false;
  }
  return !SMALL_ORDER_FIRST.has(bytes[0]) || !SMALL_ORDER.has(toHex(bytes));
}

type Backend = "webcrypto" | "noble";
let backendChoice: Promise<Backend> | undefined;

async function probeWebCrypto(): Promise<Backend> {
  try {
    const seed = new Uint8Array(32);
    const key = await crypto.subtle.importKey("pkcs8", pkcs8(seed), "Ed25519", false, ["sign"]);
    await crypto.subtle.sign("Ed25519", key, new Uint8Array(0));
    return "webcrypto";
  } catch {
    return "noble";
  }
}

/** Which implementation signs and verifies: WebCrypto where it has Ed25519, else noble. */
export function ed25519Backend(): Promise<Backend> {
  backendChoice ??= probeWebCrypto();
  return backendChoice;
}

/** Forces a backend (tests check that both give the same answers). */
export function useEd25519Backend(backend: Backend): void {
  backendChoice = Promise.resolve(backend);
}

/** WebCrypto takes only bytes backed by a plain `ArrayBuffer`; copy anything else. */
function owned(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes.buffer instanceof ArrayBuffer
    ? bytes as Uint8Array<ArrayBuffer>
    : new Uint8Array(bytes) as Uint8Array<ArrayBuffer>;
}

/** RFC 8410 PKCS #8 wrapping of a 32-byte Ed25519 seed, the only raw form WebCrypto imports. */
function pkcs8(seed: Uint8Array): Uint8Array<ArrayBuffer> {
  const prefix = [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04];
  return Uint8Array.from([...prefix, 0x22, 0x04, 0x20, ...seed]);
}

/** Signs `message` with a 32-byte seed. */
export async function sign(secretKey: Uint8Array, message: Uint8Array): Promise<Signature> {
  if (secretKey.length !== 32) throw new InvalidWillowValueError("a secret key is 32 bytes");
  if (await ed25519Backend() === "webcrypto") {
    const key = await crypto.subtle.importKey("pkcs8", pkcs8(secretKey), "Ed25519", false, [
      "sign",
    ]);
    return new Uint8Array(await crypto.subtle.sign("Ed25519", key, owned(message))) as Signature;
  }
  return await noble.signAsync(message, secretKey) as Signature;
}

const verifyingKeys = new Map<string, Promise<CryptoKey>>();
const VERIFYING_KEY_LIMIT = 4096;

/**
 * The imported WebCrypto key of `publicKey`, cached: importing costs about a third of a
 * verification, and a store verifies many entries by the same few receivers.
 */
function verifyingKey(publicKey: Uint8Array): Promise<CryptoKey> {
  const hex = toHex(publicKey);
  let key = verifyingKeys.get(hex);
  if (key === undefined) {
    if (verifyingKeys.size >= VERIFYING_KEY_LIMIT) verifyingKeys.clear();
    key = crypto.subtle.importKey("raw", owned(publicKey.slice()), "Ed25519", false, ["verify"]);
    verifyingKeys.set(hex, key);
  }
  return key;
}

/** Where WebCrypto verifications run when not on this thread (see `verifyOn`). */
let pool: VerifyPool | undefined;

/**
 * Sends WebCrypto verifications to `workers` from now on (`undefined`: back to this thread).
 * The strict checks still run here first, so every answer stays the same.
 */
export function verifyOn(workers: VerifyPool | undefined): void {
  pool = workers;
}

/** Strict Ed25519 verification (see the module comment for exactly what is rejected). */
export async function verify(
  publicKey: Uint8Array,
  signature: Uint8Array,
  message: Uint8Array,
): Promise<boolean> {
  if (publicKey.length !== PUBLIC_KEY_LENGTH || signature.length !== SIGNATURE_LENGTH) {
    return false;
  }
  const r = signature.subarray(0, 32);
  if (compareLE(signature.subarray(32), L_BYTES, false) >= 0) return false;
  if (!isStrictPoint(publicKey) || !isStrictPoint(r)) return false;
  if (await ed25519Backend() === "webcrypto") {
    const workers = pool;
    if (workers !== undefined) {
      try {
        const answer = await workers.verify(publicKey, signature, message);
        if (answer !== undefined) return answer;
        // WebCrypto threw there: verify here, where the same exception reaches the caller.
      } catch (e) {
        if (!(e instanceof VerifyPoolError)) throw e;
        // Workers are gone or cannot run here: verify on this thread from now on (unless
        // another pool was installed meanwhile).
        if (pool === workers) pool = undefined;
      }
    }
    const key = await verifyingKey(publicKey);
    return await crypto.subtle.verify("Ed25519", key, owned(signature), owned(message));
  }
  if (!await noble.verifyAsync(signature, message, publicKey, { zip215: false })) return false;
  return noble.Point.fromBytes(publicKey).isTorsionFree() &&
    noble.Point.fromBytes(r).isTorsionFree();
}

/** A fresh key pair. */
export async function generateKeyPair(): Promise<KeyPair> {
  const secretKey = crypto.getRandomValues(new Uint8Array(32));
  return { secretKey, publicKey: await publicKeyOf(secretKey) };
}

/** The public key of a 32-byte seed. */
export async function publicKeyOf(secretKey: Uint8Array): Promise<PublicKey> {
  return await noble.getPublicKeyAsync(secretKey) as PublicKey;
}

/**
 * A fresh namespace key pair of the wanted kind: draws keys until `isCommunal` agrees (one draw
 * in two on average), as willow-rs `NamespaceId25::new_communal` / `new_owned` do.
 */
export async function generateNamespaceKeyPair(kind: "communal" | "owned"): Promise<KeyPair> {
  for (;;) {
    const pair = await generateKeyPair();
    if (isCommunal(pair.publicKey) === (kind === "communal")) return pair;
  }
}
