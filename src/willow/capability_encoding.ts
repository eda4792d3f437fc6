/**
 * Capability encodings (willowprotocol.org `encodings.tsx`, "Capabilities"):
 * `EncodeCommunalCapability` / `encode_communal_capability`, `EncodeOwnedCapability` /
 * `encode_owned_capability`, `EncodeMcCapability` / `encode_mc_capability` and
 * `EncodeMcEnumerationCapability`.
 *
 * A header byte carries the kind and access mode in its top two bits (00 communal read, 01
 * communal write, 10 owned read, 11 owned write) and a 6-bit CompactU64 tag for the number of
 * delegations; then the namespace key, the user key, an owned capability's initial
 * authorisation, the count's bytes and each delegation as its area (relative to the previous
 * granted area), user and signature.
 *
 * The first delegation's area is encoded relative to the full area, for communal capabilities
 * too, as willow-rs does (`meadowcap/src/communal_capability.rs`, `UnverifiedCommunalCapability`
 * `encode`/`decode`: `Area::new_full()`) and as the official vectors (2025-07) require. This
 * deviates from the spec since its fix of 2025-11-21 (willowprotocol.org 13248a0, "Fix
 * copy-paste oversight", `encodings.tsx` "Capabilities"), which encodes a communal capability's
 * first delegation relative to the user's subspace area; we follow the deployed implementation
 * (decision of the lead, issue 6). The handover a delegation signs is unaffected: both the spec
 * and willow-rs write it relative to the subspace area (`meadowcap.ts` `handover`).
 *
 * Decoding does not verify signatures or namespace kinds; `isValidCapability` does.
 *
 * @module
 */

import { fullArea } from "./area.ts";
import { readAreaInArea, writeAreaInArea } from "./area_encoding.ts";
import { Reader, Writer } from "./codec.ts";
import {
  bitsAt,
  minimalTag,
  placeBits,
  readC64,
  readTagged,
  writeC64,
  writeTagged,
} from "./compact_u64.ts";
import type { EnumerationCapability, EnumerationDelegation } from "./enumeration_capability.ts";
import { WillowDecodeError } from "./errors.ts";
import { readPublicKey, readSignature } from "./id_encoding.ts";
import {
  type AccessMode,
  type CommunalCapability,
  type Delegation,
  type McCapability,
  type OwnedCapability,
} from "./meadowcap.ts";

/** The two top header bits of each kind and mode. */
function kindBits(kind: McCapability["kind"], mode: AccessMode): number {
  return (kind === "owned" ? 2 : 0) | (mode === "write" ? 1 : 0);
}

function writeCapability(w: Writer, cap: McCapability): void {
  const count = BigInt(cap.delegations.length);
  const tag = minimalTag(count, 6);
  w.byte(placeBits(kindBits(cap.kind, cap.accessMode), 0, 2) | placeBits(tag, 2, 6));
  w.bytes(cap.namespaceKey);
  w.bytes(cap.userKey);
  if (cap.kind === "owned") w.bytes(cap.initialAuthorisation);
  writeTagged(w, count, tag, 6);
  let prev = fullArea();
  for (const d of cap.delegations) {
    writeAreaInArea(w, d.area, prev);
    w.bytes(d.user);
    w.bytes(d.signature);
    prev = d.area;
  }
}

function readCapability(r: Reader, kind: McCapability["kind"]): McCapability {
  const header = r.byte();
  const bits = bitsAt(header, 0, 2);
  if ((bits >> 1 === 1) !== (kind === "owned")) {
    throw new WillowDecodeError("invalid", `header announces another kind than ${kind}`);
  }
  const accessMode: AccessMode = bits & 1 ? "write" : "read";
  const namespaceKey = readPublicKey(r);
  const userKey = readPublicKey(r);
  const initialAuthorisation = kind === "owned" ? readSignature(r) : undefined;
  const count = readTagged(r, bitsAt(header, 2, 6), 6, r.canonic);
  const delegations: Delegation[] = [];
  const cap = initialAuthorisation === undefined
    ? { kind: "communal" as const, accessMode, namespaceKey, userKey, delegations }
    : {
      kind: "owned" as const,
      accessMode,
      namespaceKey,
      userKey,
      initialAuthorisation,
      delegations,
    };
  let prev = fullArea();
  for (let i = 0n; i < count; i++) {
    const area = readAreaInArea(r, prev);
    delegations.push({ area, user: readPublicKey(r), signature: readSignature(r) });
    prev = area;
  }
  return cap;
}

/** `encode_communal_capability`. */
export function writeCommunalCapability(w: Writer, cap: CommunalCapability): void {
  writeCapability(w, cap);
}

/** `EncodeCommunalCapability` (canonic: `encode_communal_capability`). */
export function readCommunalCapability(r: Reader): CommunalCapability {
  return readCapability(r, "communal") as CommunalCapability;
}

/** `encode_owned_capability`. */
export function writeOwnedCapability(w: Writer, cap: OwnedCapability): void {
  writeCapability(w, cap);
}

/** `EncodeOwnedCapability` (canonic: `encode_owned_capability`). */
export function readOwnedCapability(r: Reader): OwnedCapability {
  return readCapability(r, "owned") as OwnedCapability;
}

/** `encode_mc_capability`: the communal or owned encoding, told apart by the first bit. */
export function writeMcCapability(w: Writer, cap: McCapability): void {
  writeCapability(w, cap);
}

/** `EncodeMcCapability` (canonic: `encode_mc_capability`). */
export function readMcCapability(r: Reader): McCapability {
  return readCapability(r, r.peek() & 0x80 ? "owned" : "communal");
}

/** `EncodeMcEnumerationCapability`. */
export function writeEnumerationCapability(w: Writer, cap: EnumerationCapability): void {
  w.bytes(cap.namespaceKey);
  w.bytes(cap.userKey);
  w.bytes(cap.initialAuthorisation);
  writeC64(w, BigInt(cap.delegations.length));
  for (const d of cap.delegations) {
    w.bytes(d.user);
    w.bytes(d.signature);
  }
}

/** `EncodeMcEnumerationCapability` (a relation without canonic subset). */
export function readEnumerationCapability(r: Reader): EnumerationCapability {
  const namespaceKey = readPublicKey(r);
  const userKey = readPublicKey(r);
  const initialAuthorisation = readSignature(r);
  const count = readC64(r, false);
  const delegations: EnumerationDelegation[] = [];
  for (let i = 0n; i < count; i++) {
    delegations.push({ user: readPublicKey(r), signature: readSignature(r) });
  }
  return { namespaceKey, userKey, initialAuthorisation, delegations };
}
