/**
 * The Willow'25 encoding functions of the parameter types (willowprotocol.org `willow25.tsx`):
 * `encode_namespace_id`, `encode_subspace_id`, `encode_user_pk`, `encode_namespace_sig`,
 * `encode_user_sig` and `encode_payload_digest` are all the identity on their raw bytes.
 *
 * Decoding a key also requires the 32 bytes to encode a curve point, as willow-rs does
 * (`willow_25/src/namespace.rs`, `subspace.rs`: `VerifyingKey::from_bytes`); any 64 bytes decode
 * as a signature (dalek `Signature::from_bytes`) and any 32 bytes as a digest.
 *
 * @module
 */

import { asHash, type Hash } from "../blake3/hash.ts";
import type { Reader } from "./codec.ts";
import { WillowDecodeError } from "./errors.ts";
import { isPointEncoding, type PublicKey, type Signature } from "./keys.ts";
import { DIGEST_LENGTH, PUBLIC_KEY_LENGTH, SIGNATURE_LENGTH } from "./params.ts";

/** A namespace id, subspace id or user key (not checked for being a point in trusted input). */
export function readPublicKey(r: Reader): PublicKey {
  const bytes = r.take(PUBLIC_KEY_LENGTH);
  if (!r.trusted && !isPointEncoding(bytes)) {
    throw new WillowDecodeError("invalid", "public key is not an Ed25519 point");
  }
  return bytes as PublicKey;
}

export function readSignature(r: Reader): Signature {
  return r.take(SIGNATURE_LENGTH) as Signature;
}

export function readDigest(r: Reader): Hash {
  return asHash(r.take(DIGEST_LENGTH));
}
