/**
 * The namespaces this gateway hosts, over the four stores the seeds name: entries
 * (`EntryStore`), secrets (`SecretStore`), capabilities (`CapabilityStore`) and payloads (the
 * blob store). Creating a namespace, delegating, writing with the gateway's own capabilities,
 * ingesting what others signed, and checking read proofs all happen here; the HTTP routes only
 * translate.
 *
 * A namespace created here gets a fresh namespace key pair and a fresh user key pair (the
 * gateway's identity in that namespace), and full read and write capabilities for that user:
 * owned capabilities for the whole namespace, or, in a communal namespace, communal ones for the
 * user's own subspace (communal namespaces have no owner; the gateway writes to its subspace
 * only).
 *
 * @module
 */

import { bytesEqual, type Hash, toHex } from "../../blake3/hash.ts";
import { hash } from "../../blake3/tree.ts";
import type { BlobStore } from "../../store/blob_store.ts";
import { UploadTooLargeError } from "../../store/errors.ts";
import { U64_MAX } from "../params.ts";
import { type Area, areaIncludesArea, areaIncludesEntry } from "../area.ts";
import { encode } from "../codec.ts";
import { type Entry, makeEntry } from "../entry.ts";
import { writeEntry } from "../entry_encoding.ts";
import {
  generateKeyPair,
  generateNamespaceKeyPair,
  type NamespaceId,
  sign,
  type Signature,
  type SubspaceId,
  type UserPublicKey,
} from "../keys.ts";
import {
  type AccessMode,
  communalCapability,
  delegate,
  type McCapability,
  ownedCapability,
} from "../meadowcap.ts";
import type { Path } from "../path.ts";
import { type ReadProof, readProofFailure, type ReadRequest } from "../read_proof.ts";
import { now } from "../time.ts";
import { WriteVerifier } from "../write_verifier.ts";
import { CapabilityStore } from "./capability_store.ts";
import { entryId, EntryStore, type IngestOutcome, storableKey } from "./entry_store.ts";
import { isObsoleteByNewer } from "./slot_plan.ts";
import {
  NoCapabilityError,
  NoLaterTimestampError,
  NotAuthorisedError,
  PayloadMismatchError,
  StoreContentionError,
  UnknownNamespaceError,
} from "./errors.ts";
import { keys, type NamespaceRecord } from "./layout.ts";
import { blobPayloads, grantPayload, type PayloadStore, revokePayload } from "./payloads.ts";
import { SecretStore } from "./secret_store.ts";
import { keepAlive } from "../../store/lease_keeper.ts";
import { KnownCapabilities } from "../known_capabilities.ts";

/** The digest of the empty payload. */
const EMPTY_DIGEST = hash(new Uint8Array(0));

/** Attempts of a gateway write that keeps losing to concurrent writes at the same path. */
const MAX_WRITE_ATTEMPTS = 10;

export interface HostedNamespacesOptions {
  /** The 32 bytes of `GATEWAY_SECRET_KEY`; without them no namespace can be created or written. */
  readonly gatewaySecret?: Uint8Array;
  /** See `EntryStoreOptions`. */
  readonly staleMs?: number;
}

export interface CreatedNamespace {
  readonly namespace: NamespaceId;
  readonly user: UserPublicKey;
  readonly record: NamespaceRecord;
}

export interface WriteResult {
  readonly entry: Entry;
  readonly outcome: IngestOutcome;
}

/** A payload to store with an entry: its bytes, and the most of them to accept. */
export interface PayloadInput {
  readonly body: ReadableStream<Uint8Array>;
  readonly maxSize: number;
}

export class HostedNamespaces {
  readonly #kv: Deno.Kv;
  /** Read capabilities seen in proofs: a reader sends the same one with every request. */
  readonly #readCapabilities = new KnownCapabilities();
  readonly #blobs: BlobStore;
  readonly #payloads: PayloadStore;
  readonly entries: EntryStore;
  readonly secrets: SecretStore;
  readonly capabilities: CapabilityStore;
  readonly verifier = new WriteVerifier();

  constructor(kv: Deno.Kv, blobs: BlobStore, options: HostedNamespacesOptions = {}) {
    this.#kv = kv;
    this.#blobs = blobs;
    this.#payloads = blobPayloads(blobs);
    this.entries = new EntryStore(kv, this.#payloads, {
      staleMs: options.staleMs,
      reader: blobs.reader(),
    });
    this.secrets = new SecretStore(kv, options.gatewaySecret);
    this.capabilities = new CapabilityStore(kv);
  }

  /** Creates a namespace with fresh keys and the gateway's full capabilities. */
  async create(kind: "owned" | "communal", isPublic: boolean): Promise<CreatedNamespace> {
    const namespace = await generateNamespaceKeyPair(kind);
    const user = await generateKeyPair();
    // Secrets first: without a configured key this fails before anything is stored.
    await this.secrets.put("namespace", namespace);
    await this.secrets.put("user", user);
    for (const mode of ["read", "write"] as const) {
      await this.capabilities.add(
        kind === "owned"
          ? await ownedCapability(namespace, user.publicKey, mode)
          : communalCapability(namespace.publicKey, user.publicKey, mode),
      );
    }
    const record: NamespaceRecord = {
      kind,
      public: isPublic,
      user: user.publicKey,
      createdAt: Date.now(),
    };
    await this.#kv.set(keys.namespace(namespace.publicKey), record);
    return { namespace: namespace.publicKey, user: user.publicKey, record };
  }

  /** The record of a hosted namespace; `UnknownNamespaceError` if it is not hosted here. */
  async get(namespace: NamespaceId): Promise<NamespaceRecord> {
    const record = (await this.#kv.get<NamespaceRecord>(keys.namespace(namespace))).value;
    if (record === null) {
      throw new UnknownNamespaceError(`namespace ${toHex(namespace)} is not hosted here`);
    }
    return record;
  }

  /** The gateway user's secret key in `record`'s namespace. */
  async #userSecret(record: NamespaceRecord): Promise<Uint8Array> {
    const secret = await this.secrets.get("user", record.user);
    if (secret === undefined) throw new NoCapabilityError("the gateway's user key is not stored");
    return secret;
  }

  /**
   * Delegates a `mode` capability for `area` to `to`, from the widest capability the gateway
   * holds that covers the area; stores and returns it.
   */
  async delegate(
    namespace: NamespaceId,
    mode: AccessMode,
    area: Area,
    to: UserPublicKey,
  ): Promise<McCapability> {
    const record = await this.get(namespace);
    const held = await this.capabilities.select(
      namespace,
      record.user as UserPublicKey,
      mode,
      (granted) => areaIncludesArea(granted, area),
    );
    if (held === undefined) {
      throw new NoCapabilityError(`the gateway holds no ${mode} capability for that area`);
    }
    const cap = await delegate(held, await this.#userSecret(record), area, to);
    await this.capabilities.add(cap);
    return cap;
  }

  /**
   * Writes `payload` at `path` of `subspace`, signed with the gateway's widest write capability
   * that covers it. The timestamp is now, or just after the newest entry at a prefix of the path
   * if that is later (a clock behind a peer's must not make the write obsolete on arrival).
   * Writes to one path at once may pick the same timestamp, and then all but one would be
   * obsolete: each that is tries again, just after the entry that won, so every write lands.
   */
  async write(
    namespace: NamespaceId,
    subspace: SubspaceId,
    path: Path,
    payload: PayloadInput,
  ): Promise<WriteResult> {
    const record = await this.get(namespace);
    const secret = await this.#userSecret(record);
    return await this.#withPayload(record, payload, async (blob) => {
      for (let attempt = 0;; attempt++) {
        const latest = await this.entries.latestTimestamp(namespace, subspace, path);
        if (latest === U64_MAX) {
          throw new NoLaterTimestampError(
            "an entry at this path or a prefix of it has the greatest timestamp there is: " +
              "nothing written here can be newer",
          );
        }
        const t = now();
        const entry = makeEntry({
          namespaceId: namespace,
          subspaceId: subspace,
          path,
          timestamp: latest !== undefined && latest >= t ? latest + 1n : t,
          payloadLength: BigInt(blob.size),
          payloadDigest: blob.hash,
        });
        const cap = await this.capabilities.select(
          namespace,
          record.user as UserPublicKey,
          "write",
          (granted) => areaIncludesEntry(granted, entry),
        );
        if (cap === undefined) {
          throw new NoCapabilityError(
            "the gateway holds no write capability for that subspace and path",
          );
        }
        const signature = await sign(secret, encode((w) => writeEntry(w, entry)));
        const outcome = await this.#ingestGranted(
          entry,
          () => this.#ingest(namespace, entry, cap, signature),
        );
        if (!isObsoleteByNewer(outcome) || attempt >= MAX_WRITE_ATTEMPTS) {
          return { entry, outcome };
        }
      }
    });
  }

  /**
   * Ingests an entry signed elsewhere, with its payload if one is given (which must be the one
   * the entry names). The empty payload comes with every entry that names it: no byte could
   * follow to say so. `NotAuthorisedError` unless the token authorises the entry.
   */
  async ingest(
    namespace: NamespaceId,
    entry: Entry,
    capability: McCapability,
    signature: Signature,
    payload?: PayloadInput,
  ): Promise<IngestOutcome> {
    const empty = entry.payloadLength === 0n && bytesEqual(entry.payloadDigest, EMPTY_DIGEST);
    const given = payload ?? (empty ? { body: ReadableStream.from([]), maxSize: 0 } : undefined);
    return await this.#ingest(namespace, entry, capability, signature, given);
  }

  /**
   * `ingest`, for an entry whose payload (if any) is given or already here: the gateway's own
   * writes, which imported it first.
   */
  async #ingest(
    namespace: NamespaceId,
    entry: Entry,
    capability: McCapability,
    signature: Signature,
    payload?: PayloadInput,
  ): Promise<IngestOutcome> {
    const record = await this.get(namespace);
    if (!bytesEqual(entry.namespaceId, namespace)) {
      throw new NotAuthorisedError("the entry belongs to another namespace");
    }
    const authorised = await this.verifier.authorise(entry, capability, signature);
    if (authorised === undefined) {
      throw new NotAuthorisedError("the capability and signature do not authorise this entry");
    }
    if (payload === undefined) return await this.entries.ingest(authorised);
    // Beyond the entry's length the payload cannot be its own: a mismatch, not an upload over
    // the gateway's limit.
    const named = Number(entry.payloadLength);
    const maxSize = Math.min(payload.maxSize, named);
    return await this.#withPayload(record, { ...payload, maxSize }, async (blob) => {
      if (
        !bytesEqual(blob.hash, entry.payloadDigest) || BigInt(blob.size) !== entry.payloadLength
      ) {
        throw new PayloadMismatchError("the payload is not the one the entry names");
      }
      return await this.#ingestGranted(entry, () => this.entries.ingest(authorised));
    }).catch((e) => {
      if (!(e instanceof UploadTooLargeError) || named >= payload.maxSize) throw e;
      throw new PayloadMismatchError(`the payload is longer than the entry's ${named} bytes`);
    });
  }

  /**
   * Imports a payload of `record`'s namespace under a lease (so it is not collected before an
   * entry pins it), runs `use`, and releases the lease. A payload of a namespace that is not
   * public is restricted (`BlobMeta.restricted`): read through the namespace only.
   */
  async #withPayload<T>(
    record: NamespaceRecord,
    payload: PayloadInput,
    use: (blob: { hash: Hash; size: number }) => Promise<T>,
  ): Promise<T> {
    const lease = await this.#blobs.lease();
    // Renewed while the upload lasts, which may be longer than GC lets a silent lease live.
    const keeper = keepAlive(lease, this.#blobs.timings.heartbeatMs);
    try {
      const blob = await this.#blobs.import(payload.body, {
        maxSize: payload.maxSize,
        pin: lease.holder,
        restricted: !record.public,
      });
      keeper.check();
      return await use(blob);
    } finally {
      await keeper.stop();
      await lease.release();
    }
  }

  /**
   * Ingests `entry`, which came with its payload's bytes: it may use that payload if it is
   * restricted (`grantPayload`; a public payload needs no grant), as long as it is stored. The
   * grant comes first, so that the entry serves its payload from the moment it is stored; an
   * entry that lost to a newer one gives it back at once, a pruned one when it is deleted
   * (`PayloadStore.release`).
   */
  async #ingestGranted(
    entry: Entry,
    ingest: () => Promise<IngestOutcome>,
  ): Promise<IngestOutcome> {
    // A path no KV key can hold is refused before anything is granted.
    storableKey(entry.path);
    const meta = await this.#blobs.stat(entry.payloadDigest);
    const id = entryId(entry);
    if (meta?.restricted) await grantPayload(this.#kv, entry.payloadDigest, id, meta);
    let outcome: IngestOutcome;
    try {
      outcome = await ingest();
    } catch (e) {
      // Contention is reported only when no commit landed: the entry is not stored.
      if (meta?.restricted && e instanceof StoreContentionError) {
        await revokePayload(this.#kv, entry.payloadDigest, id);
      }
      throw e;
    }
    if (meta?.restricted && isObsoleteByNewer(outcome)) {
      await revokePayload(this.#kv, entry.payloadDigest, id);
    }
    return outcome;
  }

  /**
   * Whether `entry`'s payload is here for it: stored with the entry's length and, if restricted,
   * brought by this very entry (`PayloadStore.sizes`).
   */
  async payloadHere(entry: Entry): Promise<boolean> {
    const [size] = await this.#payloads.sizes([
      { hash: entry.payloadDigest, entry: entryId(entry) },
    ]);
    return size !== undefined && BigInt(size) === entry.payloadLength;
  }

  /**
   * Checks that `request` may read: the namespace is public, or `proof` proves a read
   * capability granting the area read. `NotAuthorisedError` otherwise. Returns the namespace's
   * record, read for the check (its `public` decides how answers may be cached).
   */
  async authoriseRead(
    request: ReadRequest,
    readProof: () => ReadProof | undefined,
  ): Promise<NamespaceRecord> {
    const record = await this.get(request.namespace);
    // A public namespace needs no proof: whatever proof headers came are not even parsed.
    if (record.public) return record;
    const proof = readProof();
    if (proof === undefined) {
      throw new NotAuthorisedError("this namespace is not public: send a read proof");
    }
    const failure = await readProofFailure(
      proof,
      request,
      Date.now(),
      (cap) => this.#readCapabilities.isValid(cap),
    );
    if (failure !== undefined) throw new NotAuthorisedError(failure);
    return record;
  }
}
