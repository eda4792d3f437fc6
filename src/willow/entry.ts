/**
 * Entries, the "newer than" order and prefix pruning (willowprotocol.org `data_model.tsx`,
 * "Entries" and "Stores").
 *
 * A store holds no two entries `old` and `new` of one subspace where `new.path` is a prefix of
 * `old.path` and `new` is newer than `old`: a newer entry at `blog` deletes every older one at
 * `blog/...`. Ingesting an entry `e` into a store is the join with `{e}`, which in practice is two
 * steps, both of which `prunes` decides:
 *
 * 1. `e` is obsolete (the store stays as it is) if some stored `f` prunes it, or equals it;
 * 2. otherwise every stored `f` that `e` prunes is removed, and `e` is inserted.
 *
 * The spec's store definition uses "newer" (timestamp, then digest, then length) while its join
 * drops only entries with a *strictly smaller timestamp* under a prefix; the two disagree for two
 * entries with equal timestamps at a path and its extension. The predicates here follow the store
 * definition, which the spec calls the formal definition of prefix pruning.
 *
 * @module
 */

import { bytesEqual, type Hash } from "../blake3/hash.ts";
import { InvalidWillowValueError } from "./errors.ts";
import type { NamespaceId, SubspaceId } from "./keys.ts";
import { DIGEST_LENGTH, U64_MAX } from "./params.ts";
import { isPrefixOf, type Path, pathsEqual } from "./path.ts";
import { compareFixedBytes } from "./range.ts";

/** The metadata of one payload. */
export interface Entry {
  readonly namespaceId: NamespaceId;
  readonly subspaceId: SubspaceId;
  readonly path: Path;
  /** u64 microseconds; see `time.ts` for the epoch this gateway uses. */
  readonly timestamp: bigint;
  /** u64 bytes. */
  readonly payloadLength: bigint;
  /** BLAKE3 of the payload, ordered bytewise. */
  readonly payloadDigest: Hash;
}

/** Checks the u64 fields and the digest length; the ids and path are checked by their types. */
export function makeEntry(fields: Entry): Entry {
  for (
    const [name, v] of [["timestamp", fields.timestamp], ["payloadLength", fields.payloadLength]]
  ) {
    if (typeof v !== "bigint" || v < 0n || v > U64_MAX) {
      throw new InvalidWillowValueError(`${name} must be a u64 bigint`);
    }
  }
  if (fields.payloadDigest.length !== DIGEST_LENGTH) {
    throw new InvalidWillowValueError("a payload digest is 32 bytes");
  }
  return Object.freeze({ ...fields });
}

/**
 * The "newer than" order as a comparison: positive when `a` is newer than `b` (greater timestamp,
 * then greater digest, then greater payload length), zero when neither is.
 */
export function compareNewer(a: Entry, b: Entry): number {
  if (a.timestamp !== b.timestamp) return a.timestamp > b.timestamp ? 1 : -1;
  const d = compareFixedBytes(a.payloadDigest, b.payloadDigest);
  if (d !== 0) return d;
  if (a.payloadLength !== b.payloadLength) return a.payloadLength > b.payloadLength ? 1 : -1;
  return 0;
}

/** Whether `a` is newer than `b`. */
export function isNewer(a: Entry, b: Entry): boolean {
  return compareNewer(a, b) > 0;
}

/** Same namespace and same subspace: the only entries that can prune each other. */
function sameSubspace(a: Entry, b: Entry): boolean {
  return bytesEqual(a.namespaceId, b.namespaceId) && bytesEqual(a.subspaceId, b.subspaceId);
}

/** Whether `newer` deletes `older` from a store: same subspace, prefix path, and newer. */
export function prunes(newer: Entry, older: Entry): boolean {
  return sameSubspace(newer, older) && isPrefixOf(newer.path, older.path) && isNewer(newer, older);
}

/** Whether two entries are the same entry (every field equal). */
export function entriesEqual(a: Entry, b: Entry): boolean {
  return sameSubspace(a, b) && pathsEqual(a.path, b.path) && compareNewer(a, b) === 0;
}

/** Ingest step 1: `candidate` changes nothing if the stored entry prunes or equals it. */
export function isObsoletedBy(candidate: Entry, stored: Entry): boolean {
  return prunes(stored, candidate) || entriesEqual(stored, candidate);
}
