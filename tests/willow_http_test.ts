/**
 * `/willow` through HTTP against a real gateway: namespaces, delegation, writes and payload
 * reads with every blob semantic, submissions with every kind of bad authorisation (403), read
 * proofs for namespaces that are not public, and secrets that never leave the store.
 */
import { assert, assertEquals } from "./assert.ts";
import { fromHex, toHex } from "../src/blake3/hash.ts";
import { hash } from "../src/blake3/tree.ts";
import { readMcCapability, writeMcCapability } from "../src/willow/capability_encoding.ts";
import { decode, encode } from "../src/willow/codec.ts";
import { type Entry, makeEntry } from "../src/willow/entry.ts";
import { writeEntry } from "../src/willow/entry_encoding.ts";
import {
  asPublicKey,
  generateKeyPair,
  generateNamespaceKeyPair,
  type KeyPair,
  sign,
  type Signature,
  type SubspaceId,
} from "../src/willow/keys.ts";
import {
  communalCapability,
  delegate,
  type McCapability,
  type OwnedCapability,
  receiver,
} from "../src/willow/meadowcap.ts";
import { U64_MAX } from "../src/willow/params.ts";
import { parseHash } from "../src/blake3/hash.ts";
import { Collection } from "../src/collection/collection.ts";
import { ChunkRanges } from "../src/ranges/chunk_ranges.ts";
import { ChunkRangesSeq } from "../src/ranges/range_spec.ts";
import { encodeRequest, getRequest } from "../src/protocol/request.ts";
import { type Path, pathFromStrings, pathOf } from "../src/willow/path.ts";
import { subspaceArea } from "../src/willow/area.ts";
import { pathToUrl } from "../src/willow/path_url.ts";
import { readProofMessage } from "../src/willow/read_proof.ts";
import { keys } from "../src/willow/store/layout.ts";
import { SecretStore } from "../src/willow/store/secret_store.ts";
import { encodeSubmissionHead, SUBMISSION_TYPE } from "../src/willow/submission.ts";
import { now } from "../src/willow/time.ts";
import { type TestGateway, withGateway as withTestGateway } from "./gateway_helpers.ts";
import { spawnGateway } from "./processes.ts";
import { seededRandom } from "./random.ts";

const TOKEN = "willow-admin";
const SECRET = "7f".repeat(32);
const AUTH = { Authorization: `Bearer ${TOKEN}` };
const utf8 = new TextEncoder();

/** A fresh gateway with the admin token and a secret key, unless `env` says otherwise. */
function withGateway(
  fn: (g: TestGateway) => Promise<void>,
  env: Record<string, string> = { GATEWAY_TOKEN: TOKEN, GATEWAY_SECRET_KEY: SECRET },
): Promise<void> {
  return withTestGateway(fn, env);
}

async function json(res: Response): Promise<Record<string, unknown>> {
  return await res.json();
}

/** An admin `PUT` of `body` at `path` (after the gateway's URL): its status and JSON answer. */
async function put(
  g: { url: string },
  path: string,
  body: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${g.url}${path}`, { method: "PUT", headers: AUTH, body });
  return { status: res.status, body: await json(res) };
}

/** The payload digest of the entry a `put` answered with. */
function digestOf(answer: { body: Record<string, unknown> }): string {
  return (answer.body.entry as Record<string, string>).payloadDigest;
}

interface Created {
  ns: string;
  user: string;
}

async function createNamespace(
  g: { url: string },
  body: Record<string, unknown> = {},
): Promise<Created> {
  const res = await fetch(`${g.url}/willow/namespaces`, {
    method: "POST",
    headers: { ...AUTH, "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  assertEquals(res.status, 201);
  const { namespace, user } = await json(res);
  return { ns: namespace as string, user: user as string };
}

async function delegated(
  g: { url: string },
  ns: string,
  body: Record<string, unknown>,
): Promise<McCapability> {
  const res = await fetch(`${g.url}/willow/${ns}/capabilities`, {
    method: "POST",
    headers: { ...AUTH, "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  const answer = await json(res);
  assertEquals(res.status, 201, JSON.stringify(answer));
  return decode(fromHex(answer.capability as string)!, readMcCapability);
}

function entryIn(ns: string, subspace: Uint8Array, path: string[], payload: string, t = now()) {
  const bytes = utf8.encode(payload);
  return makeEntry({
    namespaceId: asPublicKey(fromHex(ns)!),
    subspaceId: subspace as SubspaceId,
    path: pathFromStrings(...path),
    timestamp: t,
    payloadLength: BigInt(bytes.length),
    payloadDigest: hash(bytes),
  });
}

async function signed(entry: Entry, signer: KeyPair): Promise<Signature> {
  return await sign(signer.secretKey, encode((w) => writeEntry(w, entry)));
}

/** POSTs a submission; returns status and JSON. */
async function submit(
  g: { url: string },
  ns: string,
  entry: Entry,
  cap: McCapability,
  signature: Signature,
  payload?: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const head = encodeSubmissionHead(entry, cap, signature);
  const body = new Uint8Array([...head, ...(payload === undefined ? [] : utf8.encode(payload))]);
  const res = await fetch(`${g.url}/willow/${ns}/entries`, {
    method: "POST",
    headers: { "Content-Type": SUBMISSION_TYPE },
    body,
  });
  return { status: res.status, body: await json(res) };
}

/** The read-proof headers for `method` on `target`, signed by `signer` for `cap`. */
async function proofHeaders(
  cap: McCapability,
  signer: KeyPair,
  method: string,
  target: string,
  timestamp = Date.now(),
): Promise<Record<string, string>> {
  const signature = await sign(signer.secretKey, readProofMessage(method, target, timestamp));
  const capBytes = encode((w) => writeMcCapability(w, cap));
  return {
    "Willow-Read-Capability": toHex(capBytes),
    "Willow-Read-Timestamp": String(timestamp),
    "Willow-Read-Signature": toHex(signature),
  };
}

Deno.test("willow http: namespaces need the admin token and a configured secret key", async () => {
  await withGateway(async (g) => {
    const res = await fetch(`${g.url}/willow/namespaces`, { method: "POST", body: "{}" });
    assertEquals(res.status, 401);
    await res.body?.cancel();
    const { ns, user } = await createNamespace(g, { kind: "communal", public: true });
    assertEquals([ns.length, user.length], [64, 64]);
    assertEquals(fromHex(ns)![31] & 1, 0, "a communal namespace key");
    const bad = await fetch(`${g.url}/willow/namespaces`, {
      method: "POST",
      headers: AUTH,
      body: JSON.stringify({ kind: "shared" }),
    });
    assertEquals(bad.status, 400);
    await bad.body?.cancel();
    // Admin JSON is small: a large body is refused, declared or streamed (300 MB took 1 GB).
    const padded = JSON.stringify({ kind: "owned", pad: "x".repeat(70_000) });
    for (const body of [padded, ReadableStream.from([new TextEncoder().encode(padded)])]) {
      const big = await fetch(`${g.url}/willow/namespaces`, {
        method: "POST",
        headers: AUTH,
        body,
      });
      assertEquals([big.status, (await json(big)).error], [413, "payload too large"]);
    }
  });
  await withGateway(async (g) => {
    const res = await fetch(`${g.url}/willow/namespaces`, {
      method: "POST",
      headers: AUTH,
      body: "{}",
    });
    assertEquals(res.status, 503);
    assert(String((await json(res)).detail).includes("GATEWAY_SECRET_KEY"));
  }, { GATEWAY_TOKEN: TOKEN });
});

Deno.test("willow http: PUT stores a payload that GET serves with every blob semantic", async () => {
  await withGateway(async (g) => {
    const { ns, user } = await createNamespace(g, { public: true });
    const url = `${g.url}/willow/${ns}/${user}/blog/hello%20world.txt`;
    const put = await fetch(url, { method: "PUT", headers: AUTH, body: "hello, willow" });
    assertEquals(put.status, 201);
    const stored = await json(put);
    assertEquals(stored.status, "stored");
    const entry = stored.entry as Record<string, string>;
    assertEquals(entry.path, "/blog/hello%20world.txt");
    assertEquals(entry.payloadDigest, toHex(hash(utf8.encode("hello, willow"))));
    const get = await fetch(url);
    assertEquals(get.status, 200);
    assertEquals(await get.text(), "hello, willow");
    assertEquals(get.headers.get("Willow-Entry-Timestamp"), entry.timestamp);
    assertEquals(get.headers.get("Willow-Payload-Digest"), entry.payloadDigest);
    assertEquals(get.headers.get("ETag"), `"${entry.payloadDigest}"`);
    assertEquals(get.headers.get("Content-Type"), "text/plain; charset=utf-8");
    assertEquals(get.headers.get("Cache-Control"), "no-cache");
    assertEquals(
      get.headers.get("Content-Disposition"),
      `inline; filename="hello world.txt"; filename*=UTF-8''hello%20world.txt`,
    );
    const range = await fetch(url, { headers: { Range: "bytes=7-" } });
    assertEquals(range.status, 206);
    assertEquals(range.headers.get("Content-Range"), "bytes 7-12/13");
    assertEquals(await range.text(), "willow");
    const multi = await fetch(url, { headers: { Range: "bytes=0-1,7-8" } });
    assertEquals(multi.status, 206);
    assert(multi.headers.get("Content-Type")!.startsWith("multipart/byteranges"));
    await multi.body?.cancel();
    // A refusal answers the request's range or conditions, not the payload: never stored.
    const unsatisfiable = await fetch(url, { headers: { Range: "bytes=50-" } });
    assertEquals(unsatisfiable.status, 416);
    assertEquals(unsatisfiable.headers.get("Cache-Control"), "no-store");
    await unsatisfiable.body?.cancel();
    const failed = await fetch(url, { headers: { "If-Match": '"another"' } });
    assertEquals(failed.status, 412);
    assertEquals(failed.headers.get("Cache-Control"), "no-store");
    await failed.body?.cancel();
    const cached = await fetch(url, { headers: { "If-None-Match": `"${entry.payloadDigest}"` } });
    assertEquals(cached.status, 304);
    assertEquals(cached.headers.get("Cache-Control"), "no-cache");
    await cached.body?.cancel();
    const head = await fetch(url, { method: "HEAD" });
    assertEquals(head.headers.get("Content-Length"), "13");
    // A newer write at the same path replaces the payload.
    const again = await fetch(url, { method: "PUT", headers: AUTH, body: "bye" });
    assertEquals((await json(again)).status, "stored");
    assertEquals(await (await fetch(url)).text(), "bye");
    // A path ending in an empty component names no file.
    const unnamed = await fetch(`${url}/`, { method: "PUT", headers: AUTH, body: "no name" });
    assertEquals(unnamed.status, 201);
    await unnamed.body?.cancel();
    const noName = await fetch(`${url}/`);
    assertEquals([await noName.text(), noName.headers.get("Content-Disposition")], [
      "no name",
      null,
    ]);
    const missing = await fetch(`${g.url}/willow/${ns}/${user}/blog/nothing`);
    assertEquals(missing.status, 404);
    await missing.body?.cancel();
    const noAdmin = await fetch(url, { method: "PUT", body: "x" });
    assertEquals(noAdmin.status, 401);
    await noAdmin.body?.cancel();
  });
});

Deno.test("willow http: any path, dot components and raw bytes included, is written and read back", async () => {
  await withGateway(async (g) => {
    const { ns, user } = await createNamespace(g, { public: true });
    const rand = seededRandom(23);
    const components: Uint8Array[][] = [
      [utf8.encode("a"), utf8.encode(".."), utf8.encode("b")],
      [utf8.encode("."), utf8.encode("x/y"), new Uint8Array([0, 255, 37])],
      ...Array.from({ length: 6 }, () =>
        Array.from({ length: 1 + Math.floor(rand() * 3) }, () => {
          const pick = [".", "/", "%", "a", " ", "é", "?", "#"];
          return utf8.encode(
            Array.from({ length: Math.floor(rand() * 4) }, () =>
              pick[Math.floor(rand() * pick.length)])
              .join(""),
          );
        })),
    ];
    // A first component of its own for each, so that none is a prefix of another (and pruned).
    const paths = components.map((cs, i) => pathOf([utf8.encode(`p${i}`), ...cs]));
    const at = (p: Path) =>
      `${g.url}/willow/${ns}/${user}?path=${encodeURIComponent(pathToUrl(p))}`;
    for (const [i, p] of paths.entries()) {
      const put = await fetch(at(p), { method: "PUT", headers: AUTH, body: `payload ${i}` });
      const answer = await json(put);
      assertEquals(put.status, 201, JSON.stringify(answer));
      assertEquals((answer.entry as Record<string, unknown>).path, pathToUrl(p));
    }
    for (const [i, p] of paths.entries()) {
      const got = await fetch(at(p));
      assertEquals([got.status, await got.text()], [200, `payload ${i}`], pathToUrl(p));
    }
    // A path in both places is refused rather than guessed.
    const both = await fetch(`${at(paths[0])}`.replace(`/${user}?`, `/${user}/a?`));
    assertEquals(both.status, 400);
    await both.body?.cancel();
  });
});

Deno.test("willow http: the gateway writes to a communal namespace in its own subspace only", async () => {
  await withGateway(async (g) => {
    const { ns, user } = await createNamespace(g, { kind: "communal", public: true });
    assertEquals((await put(g, `/willow/${ns}/${user}/a`, "mine")).status, 201);
    const other = toHex((await generateKeyPair()).publicKey);
    assertEquals((await put(g, `/willow/${ns}/${other}/a`, "theirs")).status, 403);
  });
});

Deno.test("willow http: submitted entries are stored, obsolete or refused", async () => {
  await withGateway(async (g) => {
    const { ns } = await createNamespace(g, { public: true });
    const alfie = await generateKeyPair();
    const cap = await delegated(g, ns, {
      mode: "write",
      user: toHex(alfie.publicKey),
      area: { path: "/blog" },
    });
    assertEquals(toHex(receiver(cap)), toHex(alfie.publicKey));
    const e = entryIn(ns, alfie.publicKey, ["blog", "one"], "first post", 1000n);
    const ok = await submit(g, ns, e, cap, await signed(e, alfie), "first post");
    assertEquals(ok.status, 201, JSON.stringify(ok.body));
    assertEquals(ok.body.status, "stored");
    const read = await fetch(`${g.url}/willow/${ns}/${toHex(alfie.publicKey)}/blog/one`);
    assertEquals(await read.text(), "first post");
    const older = entryIn(ns, alfie.publicKey, ["blog", "one"], "draft", 999n);
    const obsolete = await submit(g, ns, older, cap, await signed(older, alfie));
    assertEquals([obsolete.status, obsolete.body.status, obsolete.body.reason], [
      200,
      "obsolete",
      "newer",
    ]);
    const later = entryIn(ns, alfie.publicKey, ["blog", "two"], "second", 2000n);
    const mismatch = await submit(g, ns, later, cap, await signed(later, alfie), "not it");
    assertEquals(mismatch.status, 400);
    const garbage = await fetch(`${g.url}/willow/${ns}/entries`, {
      method: "POST",
      body: new Uint8Array([1, 2, 3]),
    });
    assertEquals(garbage.status, 400);
    await garbage.body?.cancel();
    const unknown = toHex((await generateNamespaceKeyPair("owned")).publicKey);
    const elsewhere = await submit(g, unknown, e, cap, await signed(e, alfie));
    assertEquals(elsewhere.status, 404);
  });
});

Deno.test("willow http: bad input from review: areas, long paths, longer payloads, limits", async () => {
  await withGateway(async (g) => {
    const { ns, user } = await createNamespace(g, { public: true });
    const alfie = await generateKeyPair();
    // An area that is not an object of known fields grants nothing: 400, never everything.
    for (const area of ["abc", 42, [1], { prefix: "/blog" }, { path: 7 }, { from: "x" }]) {
      const res = await fetch(`${g.url}/willow/${ns}/capabilities`, {
        method: "POST",
        headers: { ...AUTH, "Content-Type": "application/json" },
        body: JSON.stringify({ mode: "read", user: toHex(alfie.publicKey), area }),
      });
      assertEquals(res.status, 400, JSON.stringify(area));
      await res.body?.cancel();
    }
    // A path whose KV key would be too long: 400 to write, read or list, not a failed KV read.
    const long = "/" + "%00".repeat(1000);
    for (
      const [method, url] of [
        ["PUT", `${g.url}/willow/${ns}/${user}${long}`],
        ["GET", `${g.url}/willow/${ns}/${user}${long}`],
        [
          "GET",
          `${g.url}/willow/${ns}/entries?subspace=${user}&prefix=${encodeURIComponent(long)}`,
        ],
      ]
    ) {
      const res = await fetch(url, { method, headers: AUTH, body: method === "PUT" ? "x" : null });
      assertEquals(
        [res.status, (await json(res)).error],
        [400, "path too long"],
        `${method} ${url}`,
      );
    }
    // A payload longer than the entry says is the wrong payload (400), not an upload over the
    // gateway's limit (413).
    const cap = await delegated(g, ns, { mode: "write", user: toHex(alfie.publicKey) });
    const e = entryIn(ns, alfie.publicKey, ["p"], "eleven byte");
    const longer = await submit(g, ns, e, cap, await signed(e, alfie), "eleven bytes!");
    assertEquals([longer.status, longer.body.error], [400, "payload mismatch"]);
    // Listing: `limit` in digits only; a public namespace's listing may be cached by anyone.
    const bad = await fetch(`${g.url}/willow/${ns}/entries?limit=1e2`);
    assertEquals(bad.status, 400);
    await bad.body?.cancel();
    const list = await fetch(`${g.url}/willow/${ns}/entries?limit=10`);
    assertEquals(list.headers.get("Cache-Control"), "no-cache");
    await list.body?.cancel();
    // After an entry with the greatest timestamp, nothing newer can be written below it: 409.
    const last = entryIn(ns, alfie.publicKey, ["far"], "end", U64_MAX);
    assertEquals((await submit(g, ns, last, cap, await signed(last, alfie), "end")).status, 201);
    const blocked = await put(g, `/willow/${ns}/${toHex(alfie.publicKey)}/far/x`, "later");
    assertEquals(blocked.status, 409);
  });
});

Deno.test("willow http: concurrent PUTs to one path all land, one after another", async () => {
  await withGateway(async (g) => {
    const { ns, user } = await createNamespace(g, { public: true });
    const bodies = Array.from({ length: 6 }, (_, i) => `version ${i}`);
    const answers = await Promise.all(
      bodies.map((body) => put(g, `/willow/${ns}/${user}/conc`, body)),
    );
    for (const a of answers) assertEquals([a.status, a.body.status], [201, "stored"]);
    // The newest by Willow's order (timestamp, then digest; the lengths here are equal) is what
    // the path holds: the others were each stored, then pruned by a newer one.
    const order = (a: typeof answers[number]) => {
      const e = a.body.entry as Record<string, string>;
      return [BigInt(e.timestamp), e.payloadDigest] as const;
    };
    const newest = answers.reduce((a, b) => {
      const [ta, da] = order(a), [tb, db] = order(b);
      return ta > tb || (ta === tb && da > db) ? a : b;
    });
    const read = await fetch(`${g.url}/willow/${ns}/${user}/conc`);
    assertEquals(
      await read.text(),
      bodies[answers.indexOf(newest)],
    );
  });
});

Deno.test("willow http: the gateway process verifies submissions on its worker threads", async () => {
  // main.ts, as `deno task start` runs it, hands signatures to verification workers.
  const dir = await Deno.makeTempDir({ prefix: "willow-process-" });
  const g = await spawnGateway(`${dir}/gateway.kv`, {
    GATEWAY_TOKEN: TOKEN,
    GATEWAY_SECRET_KEY: SECRET,
  });
  try {
    const { ns } = await createNamespace(g, { public: true });
    const alfie = await generateKeyPair();
    const cap = await delegated(g, ns, { mode: "write", user: toHex(alfie.publicKey) });
    const entries = Array.from(
      { length: 40 },
      (_, i) => entryIn(ns, alfie.publicKey, ["notes", String(i)], `note ${i}`, 1000n + BigInt(i)),
    );
    const outcomes = await Promise.all(entries.map(async (e, i) => {
      const signature = await signed(e, alfie);
      // Every other one with a flipped bit in its signature.
      if (i % 2 === 1) signature[i % 64] ^= 1;
      return (await submit(g, ns, e, cap, signature)).status;
    }));
    assertEquals(outcomes, entries.map((_, i) => i % 2 === 0 ? 201 : 403));
    const list = await json(await fetch(`${g.url}/willow/${ns}/entries`));
    assertEquals((list.entries as unknown[]).length, 20);
  } finally {
    await g.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

/**
 * Every refusal is paired with a write that differs from it in the one respect tested and is
 * accepted, so each 403 is shown to come from that respect.
 */
Deno.test("willow http: every kind of unauthorised write is refused with 403", async () => {
  await withGateway(async (g) => {
    const { ns } = await createNamespace(g, { public: true });
    const communal = await createNamespace(g, { kind: "communal", public: true });
    const other = await createNamespace(g, { public: true });
    const [alfie, betty, mallory] = await Promise.all([1, 2, 3].map(() => generateKeyPair()));
    const blog = await delegated(g, ns, {
      mode: "write",
      user: toHex(alfie.publicKey),
      area: { path: "/blog" },
    });
    let n = 0;
    /** Submits a fresh entry at `path` of `subspace` in `space`; returns the status. */
    const status = async (
      space: string,
      subspace: SubspaceId,
      path: string[],
      cap: McCapability,
      by: KeyPair,
    ) => {
      const e = entryIn(space, subspace, [...path, String(n++)], "x", 10n);
      return (await submit(g, space, e, cap, await signed(e, by))).status;
    };
    const pair = async (label: string, bad: Promise<number>, good: Promise<number>) => {
      assertEquals([await bad, await good], [403, 201], label);
    };
    // A valid chain of two delegations, and one area outside the granted one.
    const toBetty = await delegate(blog, alfie.secretKey, {
      subspace: betty.publicKey,
      path: pathFromStrings("blog", "b"),
      times: { start: 0n },
    }, betty.publicKey);
    await pair(
      "outside the granted area",
      status(ns, betty.publicKey, ["blog", "c"], toBetty, betty),
      status(ns, betty.publicKey, ["blog", "b"], toBetty, betty),
    );
    // A delegation to an area outside its parent's. Delegation areas are encoded relative to the
    // previous area, so on the wire this exists only for a communal capability's first
    // delegation (encoded in the full area, granted within the user's subspace).
    const own = communalCapability(asPublicKey(fromHex(communal.ns)!), alfie.publicKey, "write");
    const escaped: McCapability = {
      ...own,
      delegations: [{
        area: { subspace: betty.publicKey, path: pathFromStrings(), times: { start: 0n } },
        user: betty.publicKey,
        signature: await sign(alfie.secretKey, utf8.encode("never checked: the area is wrong")),
      }],
    };
    const within = await delegate(own, alfie.secretKey, {
      subspace: alfie.publicKey,
      path: pathFromStrings(),
      times: { start: 0n },
    }, betty.publicKey);
    await pair(
      "delegation outside the parent area",
      status(communal.ns, betty.publicKey, [], escaped, betty),
      status(communal.ns, alfie.publicKey, [], within, betty),
    );
    await pair(
      "wrong signer",
      status(ns, alfie.publicKey, ["blog"], blog, mallory),
      status(ns, alfie.publicKey, ["blog"], blog, alfie),
    );
    const reader = await delegated(g, ns, {
      mode: "read",
      user: toHex(alfie.publicKey),
      area: { path: "/blog" },
    });
    await pair(
      "read capability used to write",
      status(ns, alfie.publicKey, ["blog"], reader, alfie),
      status(ns, alfie.publicKey, ["blog"], blog, alfie),
    );
    const foreign = await delegated(g, other.ns, { mode: "write", user: toHex(alfie.publicKey) });
    await pair(
      "capability for another namespace",
      status(ns, alfie.publicKey, ["blog"], foreign, alfie),
      status(other.ns, alfie.publicKey, ["blog"], foreign, alfie),
    );
    // A communal namespace key used as an owned one (signed "by the namespace" as well as anyone
    // can: with the user's own key).
    const fakeOwned: OwnedCapability = {
      kind: "owned",
      accessMode: "write",
      namespaceKey: asPublicKey(fromHex(communal.ns)!),
      userKey: alfie.publicKey,
      initialAuthorisation: await sign(alfie.secretKey, Uint8Array.from([3, ...alfie.publicKey])),
      delegations: [],
    };
    await pair(
      "communal key used as owned",
      status(communal.ns, alfie.publicKey, [], fakeOwned, alfie),
      status(communal.ns, alfie.publicKey, [], own, alfie),
    );
  });
});

Deno.test("willow http: a namespace that is not public is read with a read proof", async () => {
  await withGateway(async (g) => {
    const { ns, user } = await createNamespace(g);
    const path = `/willow/${ns}/${user}/private/notes`;
    assertEquals((await put(g, path, "secret notes")).status, 201);
    const status = async (target: string, headers: Record<string, string> = {}) => {
      const res = await fetch(g.url + target, { headers });
      await res.body?.cancel();
      return res.status;
    };
    assertEquals(await status(path), 403);
    const carol = await generateKeyPair();
    const cap = await delegated(g, ns, {
      mode: "read",
      user: toHex(carol.publicKey),
      area: { path: "/private" },
    });
    assertEquals(await status(path, await proofHeaders(cap, carol, "GET", path)), 200);
    const res = await fetch(g.url + path, { headers: await proofHeaders(cap, carol, "GET", path) });
    assertEquals(res.headers.get("Cache-Control"), "private, no-cache");
    assertEquals(await res.text(), "secret notes");
    // Stale, for another request, by another key, outside the area, or a write capability.
    const stale = Date.now() - 6 * 60_000;
    assertEquals(await status(path, await proofHeaders(cap, carol, "GET", path, stale)), 403);
    assertEquals(await status(path, await proofHeaders(cap, carol, "GET", path + "x")), 403);
    const dave = await generateKeyPair();
    assertEquals(await status(path, await proofHeaders(cap, dave, "GET", path)), 403);
    const outside = `/willow/${ns}/${user}/public`;
    assertEquals(await status(outside, await proofHeaders(cap, carol, "GET", outside)), 403);
    const writer = await delegated(g, ns, { mode: "write", user: toHex(carol.publicKey) });
    assertEquals(await status(path, await proofHeaders(writer, carol, "GET", path)), 403);
    // Listing needs the proof to cover the area listed.
    const list = `/willow/${ns}/entries?subspace=${user}&prefix=/private`;
    assertEquals(await status(list), 403);
    const listed = await fetch(g.url + list, {
      headers: await proofHeaders(cap, carol, "GET", list),
    });
    assertEquals(listed.status, 200);
    const entries = (await json(listed)).entries as Record<string, string>[];
    assertEquals(entries.map((e) => e.path), ["/private/notes"]);
    const everything = `/willow/${ns}/entries`;
    assertEquals(await status(everything, await proofHeaders(cap, carol, "GET", everything)), 403);
    assertEquals(await status(path, { "Willow-Read-Timestamp": "1" }), 400);
  });
});

Deno.test("willow http: payloads of a namespace that is not public are not public blobs", async () => {
  await withGateway(async (g) => {
    const { ns, user } = await createNamespace(g);
    const digest = digestOf(await put(g, `/willow/${ns}/${user}/private/key`, "secret data"));
    const E = ChunkRanges.EMPTY;
    const status = async (target: string, init: RequestInit = {}) => {
      const res = await fetch(g.url + target, init);
      await res.body?.cancel();
      return res.status;
    };
    const getBody = encodeRequest(
      getRequest(parseHash(digest), ChunkRangesSeq.fromRanges([ChunkRanges.ALL, E])),
    );
    const publicReads = async () => [
      await status(`/blobs/${digest}`),
      await status(`/blobs/${digest}`, { method: "HEAD" }),
      await status(`/blobs/${digest}?format=bao`),
      await status(`/blobs/${digest}/outboard`),
      await status(`/get/${digest}`),
      await status(`/get`, { method: "POST", body: getBody as Uint8Array<ArrayBuffer> }),
    ];
    // Knowing the digest reads nothing, and does not even tell that it is stored.
    assertEquals(await publicReads(), [404, 404, 404, 404, 404, 404]);
    const found = await json(await fetch(`${g.url}/discovery/${digest}`));
    assertEquals([found.complete, found.size], [false, null]);
    // Nor does a collection made up to name it (its own blobs uploaded, not the payload).
    const made = Collection.create([{ name: "key.txt", hash: parseHash(digest) }]);
    for (const blob of [made.meta, made.hashSeq.bytes]) {
      const up = await fetch(`${g.url}/blobs`, {
        method: "POST",
        headers: AUTH,
        body: blob as Uint8Array<ArrayBuffer>,
      });
      assertEquals(up.status, 201);
      await up.body?.cancel();
    }
    const listing = await json(await fetch(`${g.url}/collections/${toHex(made.hash)}`));
    assertEquals((listing.entries as { size: number | null }[])[0].size, null);
    assertEquals(await status(`/collections/${toHex(made.hash)}/key.txt`), 404);
    // only-if-cached answers as for a blob that is not here (412), not as for one refused.
    const cachedOnly = { headers: { "Cache-Control": "only-if-cached" } };
    assertEquals(await status(`/blobs/${digest}`, cachedOnly), 412);
    assertEquals(await status(`/blobs/${"ab".repeat(32)}`, cachedOnly), 412);
    // Nor an entry of another namespace that names it: anyone may write to a communal one.
    const communal = await createNamespace(g, { kind: "communal", public: true });
    const mallory = await generateKeyPair();
    const stolen = makeEntry({
      namespaceId: asPublicKey(fromHex(communal.ns)!),
      subspaceId: mallory.publicKey as SubspaceId,
      path: pathFromStrings("stolen.txt"),
      timestamp: now(),
      payloadLength: 11n,
      payloadDigest: parseHash(digest),
    });
    const own = communalCapability(
      asPublicKey(fromHex(communal.ns)!),
      mallory.publicKey,
      "write",
    );
    const taken = await submit(g, communal.ns, stolen, own, await signed(stolen, mallory));
    assertEquals(taken.status, 201, "a valid entry is stored; its payload is not its to have");
    const theft = await fetch(
      `${g.url}/willow/${communal.ns}/${toHex(mallory.publicKey)}/stolen.txt`,
    );
    assertEquals([theft.status, (await json(theft)).detail], [
      404,
      "the entry's payload is not stored here",
    ]);
    // Nor an entry of the same namespace, where its author may write but not read the original.
    const carol = await generateKeyPair();
    const carolArea = { subspace: user, path: "/carol" };
    const carolWrite = await delegated(g, ns, {
      mode: "write",
      user: toHex(carol.publicKey),
      area: carolArea,
    });
    const carolRead = await delegated(g, ns, {
      mode: "read",
      user: toHex(carol.publicKey),
      area: carolArea,
    });
    const copied = makeEntry({
      ...stolen,
      namespaceId: asPublicKey(fromHex(ns)!),
      subspaceId: asPublicKey(fromHex(user)!) as SubspaceId,
      path: pathFromStrings("carol", "x"),
    });
    const put2 = await submit(g, ns, copied, carolWrite, await signed(copied, carol));
    assertEquals(put2.status, 201);
    const target = `/willow/${ns}/${user}/carol/x`;
    const carolGet = await fetch(g.url + target, {
      headers: await proofHeaders(carolRead, carol, "GET", target),
    });
    assertEquals([carolGet.status, (await json(carolGet)).detail], [
      404,
      "the entry's payload is not stored here",
    ]);
    const absent = makeEntry({
      ...stolen,
      path: pathFromStrings("absent.txt"),
      payloadDigest: hash(utf8.encode("nothing")),
    });
    await submit(g, communal.ns, absent, own, await signed(absent, mallory));
    const none = await fetch(
      `${g.url}/willow/${communal.ns}/${toHex(mallory.publicKey)}/absent.txt`,
    );
    assertEquals((await json(none)).detail, "the entry's payload is not stored here");
    // Uploaded in public by someone who has the bytes, it is public from then on.
    const upload = await fetch(`${g.url}/blobs`, {
      method: "POST",
      headers: AUTH,
      body: "secret data",
    });
    // As new to the public as fresh bytes: 201, not 200 "already stored".
    assertEquals([upload.status, (await json(upload)).hash], [201, digest]);
    assertEquals(await publicReads(), [200, 200, 200, 200, 200, 200]);
    // A public namespace's payloads are public blobs at once.
    const open = await createNamespace(g, { public: true });
    const sharedDigest = digestOf(
      await put(g, `/willow/${open.ns}/${open.user}/note`, "shared data"),
    );
    assertEquals(await status(`/blobs/${sharedDigest}`), 200);
  });
});

Deno.test("willow http: a payload grant lasts as long as its entry", async () => {
  await withGateway(async (g) => {
    const { ns, user } = await createNamespace(g);
    const grants = async () => {
      const found: string[] = [];
      for await (const e of g.kv.list({ prefix: ["willow", "grant"] })) {
        found.push(toHex(e.key[2] as Uint8Array));
      }
      return found.sort();
    };
    const first = digestOf(await put(g, `/willow/${ns}/${user}/doc`, "version one"));
    assertEquals(await grants(), [first]);
    // A later write to the same path prunes the first entry: its grant goes with it.
    const second = digestOf(await put(g, `/willow/${ns}/${user}/doc`, "version two"));
    assertEquals(await grants(), [second]);
    // So does a write to a prefix, which prunes everything below it.
    const third = digestOf(await put(g, `/willow/${ns}/${user}`, "the whole subspace"));
    assertEquals(await grants(), [third]);
    // An entry that arrives with its bytes but loses to a newer one keeps no grant either.
    const alfie = await generateKeyPair();
    const cap = await delegated(g, ns, { mode: "write", user: toHex(alfie.publicKey) });
    const late = makeEntry({
      ...entryIn(ns, alfie.publicKey, ["late"], "too late", 1n),
      subspaceId: asPublicKey(fromHex(user)!) as SubspaceId,
    });
    const lost = await submit(g, ns, late, cap, await signed(late, alfie), "too late");
    assertEquals([lost.status, lost.body.reason], [200, "newer"]);
    assertEquals(await grants(), [third]);
    // Nor does one refused for a path no KV key can hold.
    const long = makeEntry({
      ...entryIn(ns, alfie.publicKey, ["\0".repeat(1000)], "a long way"),
      subspaceId: asPublicKey(fromHex(user)!) as SubspaceId,
    });
    const refused = await submit(g, ns, long, cap, await signed(long, alfie), "a long way");
    assertEquals([refused.status, refused.body.error], [400, "path too long"]);
    assertEquals(await grants(), [third]);
  });
});

Deno.test("willow http: empty payloads, proof headers where none is needed, long chains", async () => {
  await withGateway(async (g) => {
    // An entry of an empty payload, submitted without bytes (none can follow), is served.
    const { ns, user } = await createNamespace(g);
    const walt = await generateKeyPair();
    const area = { subspace: user, path: "/walt" };
    const write = await delegated(g, ns, { mode: "write", user: toHex(walt.publicKey), area });
    const read = await delegated(g, ns, { mode: "read", user: toHex(walt.publicKey), area });
    const empty = makeEntry({
      ...entryIn(ns, walt.publicKey, ["walt", "empty"], ""),
      subspaceId: asPublicKey(fromHex(user)!) as SubspaceId,
    });
    const stored = await submit(g, ns, empty, write, await signed(empty, walt));
    assertEquals(stored.status, 201, JSON.stringify(stored.body));
    const target = `/willow/${ns}/${user}/walt/empty`;
    const got = await fetch(g.url + target, {
      headers: await proofHeaders(read, walt, "GET", target),
    });
    assertEquals([got.status, await got.text()], [200, ""]);
    // A public namespace needs no proof, and ignores a broken one.
    const open = await createNamespace(g, { public: true });
    assertEquals((await put(g, `/willow/${open.ns}/${open.user}/note`, "hi")).status, 201);
    const loose = await fetch(`${g.url}/willow/${open.ns}/${open.user}/note`, {
      headers: { "Willow-Read-Timestamp": "1", "Willow-Read-Capability": "zz" },
    });
    assertEquals([loose.status, await loose.text()], [200, "hi"]);
    // A chain longer than the gateway verifies is refused before any signature is checked.
    const communal = await createNamespace(g, { kind: "communal", public: true });
    let holder = await generateKeyPair();
    const owner = holder;
    let cap: McCapability = communalCapability(
      asPublicKey(fromHex(communal.ns)!),
      holder.publicKey,
      "write",
    );
    for (let i = 0; i < 65; i++) {
      const next = await generateKeyPair();
      cap = await delegate(
        cap,
        holder.secretKey,
        subspaceArea(owner.publicKey as SubspaceId),
        next.publicKey,
      );
      holder = next;
    }
    const long = makeEntry({
      ...entryIn(communal.ns, owner.publicKey, ["chain"], "x"),
    });
    const refused = await submit(g, communal.ns, long, cap, await signed(long, holder), "x");
    assertEquals(refused.status, 400);
    assert(String(refused.body.detail).includes("at most 64"), JSON.stringify(refused.body));
  });
});

Deno.test("willow http: listing entries by subspace, prefix, time and pages", async () => {
  await withGateway(async (g) => {
    const { ns, user } = await createNamespace(g, { public: true });
    for (const p of ["a/1", "a/2", "b/1"]) {
      const res = await fetch(`${g.url}/willow/${ns}/${user}/${p}`, {
        method: "PUT",
        headers: AUTH,
        body: p,
      });
      await res.body?.cancel();
    }
    const list = async (query: string) =>
      await json(await fetch(`${g.url}/willow/${ns}/entries${query}`));
    const all = (await list("")).entries as Record<string, string>[];
    assertEquals(all.map((e) => e.path), ["/a/1", "/a/2", "/b/1"]);
    assert(all.every((e) => e.subspace === user && e.signature.length === 128));
    const a = (await list(`?subspace=${user}&prefix=/a`)).entries as Record<string, string>[];
    assertEquals(a.map((e) => e.path), ["/a/1", "/a/2"]);
    const from = all[1].timestamp;
    const later = (await list(`?from=${from}`)).entries as Record<string, string>[];
    assertEquals(later.map((e) => e.path), ["/a/2", "/b/1"]);
    const first = await list(`?subspace=${user}&limit=2`);
    assertEquals((first.entries as unknown[]).length, 2);
    const rest = await list(`?subspace=${user}&limit=2&cursor=${first.next}`);
    assertEquals((rest.entries as Record<string, string>[]).map((e) => e.path), ["/b/1"]);
    assertEquals((await list(`?subspace=${user}&limit=3`)).next, undefined, "nothing follows");
    for (const bad of ["limit=0", "limit=1001", "from=x", "from=5&to=5", "cursor=garbage!"]) {
      const res = await fetch(`${g.url}/willow/${ns}/entries?${bad}`);
      assertEquals(res.status, 400, bad);
      await res.body?.cancel();
    }
  });
});

Deno.test("willow http: secret keys are sealed at rest and never served", async () => {
  await withGateway(async (g) => {
    const { ns, user } = await createNamespace(g, { public: true });
    const secrets = new SecretStore(g.kv, fromHex(SECRET)!);
    const nsSecret = await secrets.get("namespace", fromHex(ns)!);
    const userSecret = await secrets.get("user", fromHex(user)!);
    assert(nsSecret !== undefined && userSecret !== undefined);
    const hexes = [toHex(nsSecret), toHex(userSecret)];
    // Not in any KV value in the clear.
    for await (const e of g.kv.list({ prefix: [] })) {
      const value = JSON.stringify(e.value, replacer) ?? "";
      for (const h of hexes) assert(!value.includes(h), `secret in the clear at ${String(e.key)}`);
    }
    // Not in any answer of the routes that talk about the namespace.
    const answers: string[] = [];
    answers.push(JSON.stringify((await put(g, `/willow/${ns}/${user}/x`, "x")).body));
    answers.push(await (await fetch(`${g.url}/willow/${ns}/entries`)).text());
    const cap = await fetch(`${g.url}/willow/${ns}/capabilities`, {
      method: "POST",
      headers: AUTH,
      body: JSON.stringify({ mode: "read", user }),
    });
    answers.push(await cap.text());
    for (const h of hexes) assert(answers.every((a) => !a.toLowerCase().includes(h)));
    const probe = await fetch(`${g.url}/willow/${ns}/secrets`);
    assertEquals(probe.status, 400, "no such route: `secrets` is read as a subspace id");
    await probe.body?.cancel();
    // The wrong gateway key does not open them.
    const wrong = new SecretStore(g.kv, new Uint8Array(32));
    let failed = false;
    await wrong.get("user", fromHex(user)!).catch(() => failed = true);
    assert(failed);
    assert((await g.kv.get(keys.secret("user", fromHex(user)!))).value !== null);
  });
});

/** JSON for KV values holding byte arrays: as hex. */
function replacer(_key: string, value: unknown): unknown {
  if (value instanceof Uint8Array) return toHex(value);
  if (typeof value === "bigint") return String(value);
  return value;
}
