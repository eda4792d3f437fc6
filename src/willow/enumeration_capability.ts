/**
 * Meadowcap enumeration capabilities (willowprotocol.org `private_interest_overlap.tsx`,
 * "Meadowcap Enumeration Capabilities"): read access to every subspace of a namespace at some
 * unspecified path, which private interest overlap needs to reveal which subspaces exist. The
 * namespace key signs `0x04 ‖ user` for the first user; each delegation is signed by the previous
 * receiver over the previous signature followed by the new user. There are no areas.
 *
 * @module
 */

import { InvalidWillowValueError } from "./errors.ts";
import {
  type KeyPair,
  type NamespaceId,
  publicKeyOf,
  sign,
  type Signature,
  type UserPublicKey,
  verify,
} from "./keys.ts";
import { bytesEqual } from "../blake3/hash.ts";

export interface EnumerationDelegation {
  readonly user: UserPublicKey;
  readonly signature: Signature;
}

/** Meadowcap `McEnumerationCapability`. */
export interface EnumerationCapability {
  readonly namespaceKey: NamespaceId;
  readonly userKey: UserPublicKey;
  readonly initialAuthorisation: Signature;
  readonly delegations: readonly EnumerationDelegation[];
}

export function enumerationReceiver(cap: EnumerationCapability): UserPublicKey {
  return cap.delegations.at(-1)?.user ?? cap.userKey;
}

function initialMessage(user: UserPublicKey): Uint8Array {
  return Uint8Array.from([0x04, ...user]);
}

/** What the receiver of the first `count` delegations signs to delegate to `newUser`. */
function enumerationHandover(
  cap: EnumerationCapability,
  count: number,
  newUser: UserPublicKey,
): Uint8Array {
  const prev = count === 0 ? cap.initialAuthorisation : cap.delegations[count - 1].signature;
  return Uint8Array.from([...prev, ...newUser]);
}

/** A fresh enumeration capability for `user`, signed by the namespace key pair. */
export async function enumerationCapability(
  namespace: KeyPair,
  user: UserPublicKey,
): Promise<EnumerationCapability> {
  return {
    namespaceKey: namespace.publicKey,
    userKey: user,
    initialAuthorisation: await sign(namespace.secretKey, initialMessage(user)),
    delegations: [],
  };
}

/** Delegates to `newUser`, signed with the current receiver's secret key. */
export async function delegateEnumeration(
  cap: EnumerationCapability,
  receiverSecretKey: Uint8Array,
  newUser: UserPublicKey,
): Promise<EnumerationCapability> {
  if (!bytesEqual(await publicKeyOf(receiverSecretKey), enumerationReceiver(cap))) {
    throw new InvalidWillowValueError("only the receiver can delegate a capability");
  }
  const signature = await sign(
    receiverSecretKey,
    enumerationHandover(cap, cap.delegations.length, newUser),
  );
  return { ...cap, delegations: [...cap.delegations, { user: newUser, signature }] };
}

/** Whether the initial authorisation and every delegation signature verify. */
export async function isValidEnumerationCapability(cap: EnumerationCapability): Promise<boolean> {
  if (!await verify(cap.namespaceKey, cap.initialAuthorisation, initialMessage(cap.userKey))) {
    return false;
  }
  let prevUser = cap.userKey;
  for (let i = 0; i < cap.delegations.length; i++) {
    const d = cap.delegations[i];
    if (!await verify(prevUser, d.signature, enumerationHandover(cap, i, d.user))) return false;
    prevUser = d.user;
  }
  return true;
}
