/**
 * Helpers for the Willow store tests: a namespace with a writer, entries signed for real (so
 * every test goes through `WriteVerifier`), and the stores on a fresh in-memory KV.
 */
import { asHash, type Hash } from "../src/blake3/hash.ts";
import { hash } from "../src/blake3/tree.ts";
import { BlobStore } from "../src/store/blob_store.ts";
import { type Entry, makeEntry } from "../src/willow/entry.ts";
import {
  generateKeyPair,
  generateNamespaceKeyPair,
  type KeyPair,
  sign,
  type SubspaceId,
} from "../src/willow/keys.ts";
import { type McCapability, ownedCapability } from "../src/willow/meadowcap.ts";
import { encode } from "../src/willow/codec.ts";
import { writeEntry } from "../src/willow/entry_encoding.ts";
import { pathFromStrings } from "../src/willow/path.ts";
import { EntryStore } from "../src/willow/store/entry_store.ts";
import { blobPayloads } from "../src/willow/store/payloads.ts";
import { type AuthorisedEntry, WriteVerifier } from "../src/willow/write_verifier.ts";
import { assert } from "./assert.ts";

/** An owned namespace and a user holding its full write capability. */
export interface Writer {
  readonly namespace: KeyPair;
  readonly user: KeyPair;
  readonly capability: McCapability;
  readonly verifier: WriteVerifier;
}

export async function ownedWriter(): Promise<Writer> {
  const namespace = await generateNamespaceKeyPair("owned");
  const user = await generateKeyPair();
  const capability = await ownedCapability(namespace, user.publicKey, "write");
  return { namespace, user, capability, verifier: new WriteVerifier() };
}

/** Payload fields: real ones for a string, or a chosen digest and length. */
export type PayloadSpec = string | { digest: Hash; length: bigint };

export function entryOf(
  w: Writer,
  subspace: SubspaceId,
  path: string[],
  timestamp: bigint,
  payload: PayloadSpec = "",
): Entry {
  const fields = typeof payload === "string"
    ? {
      payloadDigest: hash(new TextEncoder().encode(payload)),
      payloadLength: BigInt(new TextEncoder().encode(payload).length),
    }
    : { payloadDigest: payload.digest, payloadLength: payload.length };
  return makeEntry({
    namespaceId: w.namespace.publicKey,
    subspaceId: subspace,
    path: pathFromStrings(...path),
    timestamp,
    ...fields,
  });
}

/** Signs `entry` with the writer's key and verifies it into an `AuthorisedEntry`. */
export async function authorised(w: Writer, entry: Entry): Promise<AuthorisedEntry> {
  const signature = await sign(w.user.secretKey, encode((x) => writeEntry(x, entry)));
  const a = await w.verifier.authorise(entry, w.capability, signature);
  assert(a !== undefined, "the writer's own entry is authorised");
  return a;
}

/** A digest whose first byte is `b` (for tie-breaks by digest). */
export function digestStartingWith(b: number): Hash {
  const d = new Uint8Array(32);
  d[0] = b;
  return asHash(d);
}

export interface Stores {
  readonly kv: Deno.Kv;
  readonly blobs: BlobStore;
  readonly entries: EntryStore;
}

export async function openStores(): Promise<Stores> {
  const kv = await Deno.openKv(":memory:");
  const blobs = new BlobStore(kv, { unpinnedGraceMs: 0 });
  return { kv, blobs, entries: new EntryStore(kv, blobPayloads(blobs)) };
}
