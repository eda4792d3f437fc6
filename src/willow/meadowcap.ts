/**
 * Meadowcap (willowprotocol.org `meadowcap.tsx`, status final): capabilities that grant read or
 * write access to an area of a namespace, their delegation, their validity, and
 * `is_authorised_write`, which decides whether an entry may enter a store.
 *
 * A communal capability stems from the user (= subspace) key itself and starts out granting that
 * subspace; an owned one stems from a signature of the namespace key and starts out granting the
 * whole namespace. Each delegation names a new user and an area inside the previous one and is
 * signed by the previous receiver over a "handover" byte string. `is_communal` (Willow'25: the
 * key's last bit is 0) fixes which kind a namespace accepts, so nobody can present an owned
 * capability for a communal namespace or the reverse.
 *
 * The spec's `is_authorised_write` never compares the capability's namespace with the entry's;
 * `isAuthorisedWrite` does (willow.md §4.3), or a capability for one namespace would authorise
 * writes to any other.
 *
 * @module
 */

import { type Area, areaIncludesArea, areaIncludesEntry, fullArea, subspaceArea } from "./area.ts";
import { writeAreaInArea } from "./area_encoding.ts";
import { encode } from "./codec.ts";
import type { Entry } from "./entry.ts";
import { writeEntry } from "./entry_encoding.ts";
import { InvalidWillowValueError } from "./errors.ts";
import {
  isCommunal,
  type KeyPair,
  type NamespaceId,
  publicKeyOf,
  sign,
  type Signature,
  type UserPublicKey,
  verify,
} from "./keys.ts";
import { bytesEqual } from "../blake3/hash.ts";

export type AccessMode = "read" | "write";

/** One step of a delegation chain: `user` may act within `area`, as `signature` proves. */
export interface Delegation {
  readonly area: Area;
  readonly user: UserPublicKey;
  readonly signature: Signature;
}

export interface CommunalCapability {
  readonly kind: "communal";
  readonly accessMode: AccessMode;
  readonly namespaceKey: NamespaceId;
  /** The subspace this capability is for, and the user it first grants access to. */
  readonly userKey: UserPublicKey;
  readonly delegations: readonly Delegation[];
}

export interface OwnedCapability {
  readonly kind: "owned";
  readonly accessMode: AccessMode;
  readonly namespaceKey: NamespaceId;
  /** The user the namespace key first grants access to, for the whole namespace. */
  readonly userKey: UserPublicKey;
  /** The namespace key's signature over `ownedInitialMessage(accessMode, userKey)`. */
  readonly initialAuthorisation: Signature;
  readonly delegations: readonly Delegation[];
}

/** Meadowcap `McCapability`. */
export type McCapability = CommunalCapability | OwnedCapability;

/** Meadowcap `MeadowcapAuthorisationToken`: a write capability and the receiver's signature. */
export interface AuthorisationToken {
  readonly capability: McCapability;
  /** The receiver's signature over `encode_entry(entry)`. */
  readonly signature: Signature;
}

/** The user the capability grants access to: the last delegation's, else `userKey`. */
export function receiver(cap: McCapability): UserPublicKey {
  return cap.delegations.at(-1)?.user ?? cap.userKey;
}

/** The area the capability grants access to. */
export function grantedArea(cap: McCapability): Area {
  return cap.delegations.at(-1)?.area ?? baseArea(cap);
}

/** The granted area before any delegation: the user's subspace, or the whole namespace. */
export function baseArea(cap: McCapability): Area {
  return cap.kind === "communal" ? subspaceArea(cap.userKey) : fullArea();
}

/** The bytes the namespace key signs to authorise an owned capability's first user. */
export function ownedInitialMessage(mode: AccessMode, user: UserPublicKey): Uint8Array {
  return Uint8Array.from([mode === "read" ? 0x02 : 0x03, ...user]);
}

/**
 * The bytes the receiver of the first `count` delegations of `cap` signs to delegate to
 * `newUser` within `newArea` (`communal_handover`, `owned_handover`).
 */
export function handover(
  cap: McCapability,
  count: number,
  newArea: Area,
  newUser: UserPublicKey,
): Uint8Array {
  const prevArea = count === 0 ? baseArea(cap) : cap.delegations[count - 1].area;
  return encode((w) => {
    if (count === 0 && cap.kind === "communal") {
      w.byte(cap.accessMode === "read" ? 0x00 : 0x01);
      w.bytes(cap.namespaceKey);
    }
    writeAreaInArea(w, newArea, prevArea);
    if (count > 0) w.bytes(cap.delegations[count - 1].signature);
    else if (cap.kind === "owned") w.bytes(cap.initialAuthorisation);
    w.bytes(newUser);
  });
}

/** A communal capability for `user`'s own subspace; the namespace must be communal. */
export function communalCapability(
  namespaceKey: NamespaceId,
  user: UserPublicKey,
  accessMode: AccessMode,
): CommunalCapability {
  if (!isCommunal(namespaceKey)) {
    throw new InvalidWillowValueError("communal capabilities exist only in communal namespaces");
  }
  return { kind: "communal", accessMode, namespaceKey, userKey: user, delegations: [] };
}

/** An owned capability for the whole namespace, signed by the (owned) namespace key pair. */
export async function ownedCapability(
  namespace: KeyPair,
  user: UserPublicKey,
  accessMode: AccessMode,
): Promise<OwnedCapability> {
  if (isCommunal(namespace.publicKey)) {
    throw new InvalidWillowValueError("owned capabilities exist only in owned namespaces");
  }
  return {
    kind: "owned",
    accessMode,
    namespaceKey: namespace.publicKey,
    userKey: user,
    initialAuthorisation: await sign(namespace.secretKey, ownedInitialMessage(accessMode, user)),
    delegations: [],
  };
}

/**
 * Delegates `cap` to `newUser` within `newArea`, signed with the receiver's secret key. Throws
 * `InvalidWillowValueError` if the area is not inside the granted area or the key is not the
 * receiver's.
 */
export async function delegate<C extends McCapability>(
  cap: C,
  receiverSecretKey: Uint8Array,
  newArea: Area,
  newUser: UserPublicKey,
): Promise<C> {
  if (!areaIncludesArea(grantedArea(cap), newArea)) {
    throw new InvalidWillowValueError("a delegation must stay inside the granted area");
  }
  if (!bytesEqual(await publicKeyOf(receiverSecretKey), receiver(cap))) {
    throw new InvalidWillowValueError("only the receiver can delegate a capability");
  }
  const signature = await sign(
    receiverSecretKey,
    handover(cap, cap.delegations.length, newArea, newUser),
  );
  return { ...cap, delegations: [...cap.delegations, { area: newArea, user: newUser, signature }] };
}

/**
 * Meadowcap validity: the namespace is of the capability's kind, an owned capability's initial
 * authorisation verifies under the namespace key, and every delegation stays inside the previous
 * granted area and is signed by the previous receiver over its handover.
 */
export async function isValidCapability(cap: McCapability): Promise<boolean> {
  if (isCommunal(cap.namespaceKey) !== (cap.kind === "communal")) return false;
  if (
    cap.kind === "owned" &&
    !await verify(
      cap.namespaceKey,
      cap.initialAuthorisation,
      ownedInitialMessage(cap.accessMode, cap.userKey),
    )
  ) {
    return false;
  }
  // Areas first (cheap, and a chain that fails one costs no signature check), then every
  // signature at once: the checks run side by side on the verification workers, so a long
  // chain costs one round trip rather than one per delegation.
  let prevArea = baseArea(cap);
  for (const d of cap.delegations) {
    if (!areaIncludesArea(prevArea, d.area)) return false;
    prevArea = d.area;
  }
  const checks = cap.delegations.map((d, i) =>
    verify(
      i === 0 ? cap.userKey : cap.delegations[i - 1].user,
      d.signature,
      handover(cap, i, d.area, d.user),
    )
  );
  return (await Promise.all(checks)).every((ok) => ok);
}

/** Signs `entry` with the capability receiver's secret key, making its authorisation token. */
export async function authorise(
  entry: Entry,
  capability: McCapability,
  receiverSecretKey: Uint8Array,
): Promise<AuthorisationToken> {
  const signature = await sign(receiverSecretKey, encode((w) => writeEntry(w, entry)));
  return { capability, signature };
}

/** Options of `isAuthorisedWrite` for callers that check many writes. */
export interface WriteCheckOptions {
  /** `encode_entry(entry)`, when the caller has it already. */
  readonly encodedEntry?: Uint8Array;
  /** Decides the capability's validity (default `isValidCapability`): where a cache goes. */
  readonly isValid?: (cap: McCapability) => Promise<boolean>;
}

/**
 * `meadowcap_is_authorised_write`, plus the namespace check the spec leaves out: the capability
 * is valid, grants write access to the entry's namespace and an area including the entry, and its
 * receiver signed `encode_entry(entry)`.
 */
export async function isAuthorisedWrite(
  entry: Entry,
  token: AuthorisationToken,
  options: WriteCheckOptions = {},
): Promise<boolean> {
  const cap = token.capability;
  const message = options.encodedEntry ?? encode((w) => writeEntry(w, entry));
  return cap.accessMode === "write" &&
    bytesEqual(cap.namespaceKey, entry.namespaceId) &&
    areaIncludesEntry(grantedArea(cap), entry) &&
    await verify(receiver(cap), token.signature, message) &&
    await (options.isValid ?? isValidCapability)(cap);
}

/**
 * Longest delegation chain this gateway verifies. Meadowcap sets no limit, but each delegation
 * costs a signature check, and anyone can build a long valid chain in a communal namespace (every
 * user is the root of their own subspace): without a bound, 60 KB of request would buy a third of
 * a second of CPU. Real chains are a handful of hops.
 */
export const MAX_DELEGATIONS = 64;

/** `InvalidWillowValueError` if `cap` has more delegations than `MAX_DELEGATIONS`. */
export function checkChainLength(cap: McCapability): McCapability {
  if (cap.delegations.length > MAX_DELEGATIONS) {
    throw new InvalidWillowValueError(
      `a capability with ${cap.delegations.length} delegations: this gateway verifies at most ${MAX_DELEGATIONS}`,
    );
  }
  return cap;
}
