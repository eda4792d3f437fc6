/**
 * Read proofs: how a client shows it may read part of a namespace that is not public, over
 * plain HTTP requests. Meadowcap read capabilities say who may read which area; possession of the
 * receiver's key is proven by signing the request itself, as WGPS proves it by signing a session
 * challenge. Here the "challenge" is the request: method, target (path and query, which name the
 * area read) and a timestamp the gateway requires to be within five minutes of its clock, so a
 * captured proof is good for that one request target, briefly.
 *
 * This is the gateway's own scheme (no Willow spec covers HTTP reads). The signed message is
 * `willow-gateway-read-v1 LF method LF target LF timestamp`, UTF-8, timestamp in Unix
 * milliseconds as decimal digits.
 *
 * @module
 */

import type { Area } from "./area.ts";
import { areaIncludesArea } from "./area.ts";
import { bytesEqual } from "../blake3/hash.ts";
import { type NamespaceId, type Signature, verify } from "./keys.ts";
import { grantedArea, isValidCapability, type McCapability, receiver } from "./meadowcap.ts";

/** How far a proof's timestamp may be from the gateway's clock. */
export const READ_PROOF_WINDOW_MS = 5 * 60_000;

export interface ReadProof {
  readonly capability: McCapability;
  /** When the client made the proof, Unix milliseconds. */
  readonly timestamp: number;
  /** The capability receiver's signature over `readProofMessage`. */
  readonly signature: Signature;
}

/** What the request reads, as the gateway sees it. */
export interface ReadRequest {
  readonly method: string;
  /** Path and query, as sent. */
  readonly target: string;
  readonly namespace: NamespaceId;
  /** The area the request reads; the capability must grant all of it. */
  readonly area: Area;
}

/** The bytes a read proof signs. */
export function readProofMessage(method: string, target: string, timestamp: number): Uint8Array {
  return new TextEncoder().encode(
    `willow-gateway-read-v1\n${method.toUpperCase()}\n${target}\n${timestamp}`,
  );
}

/**
 * Why `proof` does not let `request` read, or `undefined` if it does: a valid read capability
 * for the namespace whose granted area includes the area read, a fresh timestamp, and the
 * receiver's signature over the request.
 */
export async function readProofFailure(
  proof: ReadProof,
  request: ReadRequest,
  now = Date.now(),
  isValid: (cap: McCapability) => Promise<boolean> = isValidCapability,
): Promise<string | undefined> {
  const cap = proof.capability;
  if (cap.accessMode !== "read") return "the capability is not a read capability";
  if (!bytesEqual(cap.namespaceKey, request.namespace)) {
    return "the capability is for another namespace";
  }
  if (!areaIncludesArea(grantedArea(cap), request.area)) {
    return "the capability does not grant the area read";
  }
  if (
    !Number.isSafeInteger(proof.timestamp) || Math.abs(now - proof.timestamp) > READ_PROOF_WINDOW_MS
  ) {
    return "the proof's timestamp is not within five minutes of the gateway's clock";
  }
  const message = readProofMessage(request.method, request.target, proof.timestamp);
  if (!await verify(receiver(cap), proof.signature, message)) {
    return "the signature is not the capability receiver's over this request";
  }
  if (!await isValid(cap)) return "the capability is not valid";
  return undefined;
}
