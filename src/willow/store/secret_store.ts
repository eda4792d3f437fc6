/**
 * The secret store: namespace and user secret keys, sealed at rest with AES-256-GCM (WebCrypto)
 * under a key derived with HKDF-SHA-256 from the gateway's `GATEWAY_SECRET_KEY`. Nothing here is
 * ever served; the gateway only signs with these keys.
 *
 * Each secret is sealed with a fresh 96-bit IV and bound (as additional data) to its kind and
 * public key, so a sealed value moved to another record fails to open. Without a configured key
 * nothing can be stored or used (`SecretsUnavailableError`): the gateway refuses to create
 * namespaces rather than keep secrets in the clear or under a key nobody can recover.
 *
 * @module
 */

import { bytesEqual } from "../../blake3/hash.ts";
import { type KeyPair, publicKeyOf } from "../keys.ts";
import { SecretsUnavailableError } from "./errors.ts";
import { keys, type SealedSecret, type SecretKind } from "./layout.ts";

const utf8 = new TextEncoder();
/** HKDF salt and info: change `info` to rotate the derivation scheme. */
const SALT = utf8.encode("willow-gateway/secret-store");
const INFO = utf8.encode("AES-256-GCM v1");

/** Bytes the configured secret must have. */
export const GATEWAY_SECRET_LENGTH = 32;

async function deriveKey(secret: Uint8Array): Promise<CryptoKey> {
  const ikm = await crypto.subtle.importKey("raw", new Uint8Array(secret), "HKDF", false, [
    "deriveKey",
  ]);
  return await crypto.subtle.deriveKey(
    { name: "HKDF", hash: "SHA-256", salt: SALT, info: INFO },
    ikm,
    { name: "AES-GCM", length: 256 },
    false,
    ["encrypt", "decrypt"],
  );
}

function additionalData(kind: SecretKind, publicKey: Uint8Array): Uint8Array<ArrayBuffer> {
  return Uint8Array.from([...utf8.encode(kind), 0, ...publicKey]);
}

export class SecretStore {
  readonly #kv: Deno.Kv;
  readonly #key: Promise<CryptoKey> | undefined;

  /** `gatewaySecret`: the 32 bytes of `GATEWAY_SECRET_KEY`, or `undefined` if none is set. */
  constructor(kv: Deno.Kv, gatewaySecret: Uint8Array | undefined) {
    this.#kv = kv;
    if (gatewaySecret !== undefined && gatewaySecret.length !== GATEWAY_SECRET_LENGTH) {
      throw new SecretsUnavailableError(
        `the gateway secret must be ${GATEWAY_SECRET_LENGTH} bytes`,
      );
    }
    this.#key = gatewaySecret === undefined ? undefined : deriveKey(gatewaySecret);
  }

  /** Whether secrets can be stored and used. */
  get available(): boolean {
    return this.#key !== undefined;
  }

  #sealingKey(): Promise<CryptoKey> {
    if (this.#key === undefined) {
      throw new SecretsUnavailableError("no GATEWAY_SECRET_KEY is configured");
    }
    return this.#key;
  }

  /** Seals and stores the secret key of `pair`. */
  async put(kind: SecretKind, pair: KeyPair): Promise<void> {
    const key = await this.#sealingKey();
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const sealed = new Uint8Array(
      await crypto.subtle.encrypt(
        { name: "AES-GCM", iv, additionalData: additionalData(kind, pair.publicKey) },
        key,
        new Uint8Array(pair.secretKey),
      ),
    );
    await this.#kv.set(keys.secret(kind, pair.publicKey), { iv, sealed } satisfies SealedSecret);
  }

  /** The secret key of `publicKey`, or `undefined` if none is stored. */
  async get(kind: SecretKind, publicKey: Uint8Array): Promise<Uint8Array | undefined> {
    const key = await this.#sealingKey();
    const record = (await this.#kv.get<SealedSecret>(keys.secret(kind, publicKey))).value;
    if (record === null) return undefined;
    let secret: Uint8Array;
    try {
      secret = new Uint8Array(
        await crypto.subtle.decrypt(
          {
            name: "AES-GCM",
            iv: new Uint8Array(record.iv),
            additionalData: additionalData(kind, publicKey),
          },
          key,
          new Uint8Array(record.sealed),
        ),
      );
    } catch {
      throw new SecretsUnavailableError(
        "a stored secret does not open: GATEWAY_SECRET_KEY is not the key it was sealed with",
      );
    }
    if (!bytesEqual(await publicKeyOf(secret), publicKey)) {
      throw new SecretsUnavailableError("a stored secret does not belong to its public key");
    }
    return secret;
  }
}
