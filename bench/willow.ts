/**
 * Willow benchmark (issue 6): 100,000 authorised entries ingested through the entry store on a
 * Deno KV file, as deployed locally: every entry's signature verified (`WriteVerifier`, on the
 * gateway's verification workers), obsolete checks against every prefix, slots written with the
 * subspace's version check. The entries
 * belong to 16 writers, each with a capability the namespace owner delegated for its own
 * subspace, at paths `posts/<n mod 100>/<n>`.
 *
 * Baselines from the same run: raw WebCrypto Ed25519 verification of the same 100,000 signatures
 * (keys imported once), at the same concurrency; and raw Deno KV writes of the same slots (keys
 * and values as the store writes them, 256 per commit, no reads or checks) into a fresh file:
 * the storage ceiling, since every stored entry is at least that one write. The target
 * is absolute: at least 10,000 entries per second.
 */
import { hash } from "../src/blake3/tree.ts";
import { BlobStore } from "../src/store/blob_store.ts";
import { openReaders } from "../src/store/open_kv.ts";
import { encode } from "../src/willow/codec.ts";
import { type Entry, makeEntry } from "../src/willow/entry.ts";
import { writeEntry } from "../src/willow/entry_encoding.ts";
import {
  generateKeyPair,
  generateNamespaceKeyPair,
  type KeyPair,
  sign,
  type Signature,
} from "../src/willow/keys.ts";
import { delegate, type McCapability, ownedCapability } from "../src/willow/meadowcap.ts";
import { pathFromStrings } from "../src/willow/path.ts";
import { pathKey } from "../src/willow/path_key.ts";
import { ALL_TIMES } from "../src/willow/range.ts";
import { EntryStore } from "../src/willow/store/entry_store.ts";
import { encodeSlot, keys as slotKeys } from "../src/willow/store/layout.ts";
import { blobPayloads } from "../src/willow/store/payloads.ts";
import { verifyPoolForThisMachine } from "../src/willow/verify_pool.ts";
import { verifyOn } from "../src/willow/keys.ts";
import { WriteVerifier } from "../src/willow/write_verifier.ts";
import { type Figure, report } from "./harness.ts";

const ENTRIES = 100_000;
const WRITERS = 16;
/**
 * Entries in flight at once, for ingestion and for the baseline alike: what a bulk import or a
 * sync session hands the store. The store commits what is in flight together, so fewer would
 * mean more, smaller commits.
 */
const IN_FLIGHT = 2048;

interface Signed {
  readonly entry: Entry;
  readonly message: Uint8Array;
  readonly signature: Signature;
  readonly writer: number;
}

/** Runs `fn` for every index below `n`, at most `IN_FLIGHT` at a time. */
async function pool(n: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: IN_FLIGHT }, async () => {
    while (next < n) await fn(next++);
  }));
}

async function setup(): Promise<{ signed: Signed[]; caps: McCapability[]; users: KeyPair[] }> {
  const namespace = await generateNamespaceKeyPair("owned");
  const owner = await generateKeyPair();
  const root = await ownedCapability(namespace, owner.publicKey, "write");
  const users = await Promise.all(Array.from({ length: WRITERS }, () => generateKeyPair()));
  const caps = await Promise.all(users.map((u) =>
    delegate(root, owner.secretKey, {
      subspace: u.publicKey,
      path: pathFromStrings("posts"),
      times: ALL_TIMES,
    }, u.publicKey)
  ));
  const signed: Signed[] = new Array(ENTRIES);
  const t0 = Date.now() * 1000;
  await pool(ENTRIES, async (i) => {
    const writer = i % WRITERS;
    const body = new TextEncoder().encode(`post ${i}`);
    const entry = makeEntry({
      namespaceId: namespace.publicKey,
      subspaceId: users[writer].publicKey,
      path: pathFromStrings("posts", String(i % 100), String(i)),
      timestamp: BigInt(t0 + i),
      payloadLength: BigInt(body.length),
      payloadDigest: hash(body),
    });
    const message = encode((w) => writeEntry(w, entry));
    signed[i] = { entry, message, signature: await sign(users[writer].secretKey, message), writer };
  });
  return { signed, caps, users };
}

/** Slots written per commit by the raw KV baseline: about what the store commits at once. */
const RAW_BATCH = 256;

/** Entries/s of plain `set`s of each entry's slot, `RAW_BATCH` per commit, into a fresh KV file. */
async function rawSlotWrites(signed: readonly Signed[]): Promise<number> {
  const dir = await Deno.makeTempDir({ prefix: "bench-willow-raw-" });
  const kv = await Deno.openKv(`${dir}/raw.kv`);
  const capabilityId = new Uint8Array(32);
  const t = performance.now();
  for (let i = 0; i < signed.length; i += RAW_BATCH) {
    const op = kv.atomic();
    for (const { entry, signature } of signed.slice(i, i + RAW_BATCH)) {
      const slot = encodeSlot({
        entry: {
          t: entry.timestamp,
          l: entry.payloadLength,
          d: entry.payloadDigest,
          s: signature,
          c: capabilityId,
        },
      });
      op.set(slotKeys.slot(entry.namespaceId, entry.subspaceId, pathKey(entry.path)), slot);
    }
    if (!(await op.commit()).ok) throw new Error("a raw KV commit failed");
  }
  const rate = signed.length / ((performance.now() - t) / 1000);
  kv.close();
  await Deno.remove(dir, { recursive: true });
  return rate;
}

export async function willowBench(): Promise<boolean> {
  const { signed, caps, users } = await setup();
  const keys = await Promise.all(
    users.map((u) =>
      crypto.subtle.importKey("raw", new Uint8Array(u.publicKey), "Ed25519", false, ["verify"])
    ),
  );
  let t = performance.now();
  let valid = 0;
  await pool(ENTRIES, async (i) => {
    const s = signed[i];
    const ok = await crypto.subtle.verify(
      "Ed25519",
      keys[s.writer],
      new Uint8Array(s.signature),
      new Uint8Array(s.message),
    );
    if (ok) valid++;
  });
  const rawRate = ENTRIES / ((performance.now() - t) / 1000);
  if (valid !== ENTRIES) throw new Error(`only ${valid} signatures verified`);

  const dir = await Deno.makeTempDir({ prefix: "bench-willow-" });
  // As `main.ts` opens a local file: extra read connections, slots and payload sizes read there.
  const kv = await Deno.openKv(`${dir}/gateway.kv`);
  const readers = await openReaders(`${dir}/gateway.kv`);
  const blobs = new BlobStore(kv, { readers });
  const store = new EntryStore(kv, blobPayloads(blobs), { reader: blobs.reader() });
  const verifier = new WriteVerifier();
  // As the gateway runs: signatures verified on worker threads (one per core beyond the first).
  const workers = verifyPoolForThisMachine();
  verifyOn(workers);
  let stored = 0;
  t = performance.now();
  await pool(ENTRIES, async (i) => {
    const s = signed[i];
    const a = await verifier.authorise(s.entry, caps[s.writer], s.signature);
    if (a === undefined) throw new Error(`entry ${i} is not authorised`);
    if ((await store.ingest(a)).status === "stored") stored++;
  });
  const ingestRate = ENTRIES / ((performance.now() - t) / 1000);
  verifyOn(undefined);
  workers?.close();
  const namespace = signed[0].entry.namespaceId;
  let listed = 0;
  let cursor: string | undefined;
  do {
    const page = await store.query(namespace, { limit: 1000, cursor });
    listed += page.entries.length;
    cursor = page.cursor;
  } while (cursor !== undefined);
  await blobs.close();
  for (const reader of readers) reader.close();
  kv.close();
  await Deno.remove(dir, { recursive: true });
  if (stored !== ENTRIES || listed !== ENTRIES) {
    throw new Error(`stored ${stored} and listed ${listed} of ${ENTRIES} entries`);
  }

  const kvRate = await rawSlotWrites(signed);

  const figures: Figure[] = [
    {
      name: "raw WebCrypto Ed25519 verify (baseline)",
      value: rawRate,
      unit: "/s",
    },
    {
      name: "raw KV writes of the same slots (baseline)",
      value: kvRate,
      unit: "/s",
    },
    {
      name: "ingest authorised entries (KV file)",
      value: ingestRate,
      unit: "/s",
      target: 10_000,
      note: `${(ingestRate / rawRate).toFixed(2)}× raw verification, ${
        (ingestRate / kvRate).toFixed(2)
      }× raw KV writes`,
    },
  ];
  return report(
    `Willow: ${ENTRIES.toLocaleString("en")} entries by ${WRITERS} writers, ${IN_FLIGHT} in flight`,
    figures,
  );
}
