/**
 * `/willow`: hosted namespaces, their entries and payloads (issue 6; README "Willow"). Thin:
 * parsing, authorisation and status mapping; the work is `HostedNamespaces`'.
 */
import { type Context, Hono } from "hono";
import { fromHex, type Hash, toHex } from "../src/blake3/hash.ts";
import { blobResponse } from "../src/http/blob_response.ts";
import { InvalidQueryError } from "../src/http/errors.ts";
import type { Metrics } from "../src/metrics.ts";
import type { Config } from "../src/config.ts";
import type { BlobStore } from "../src/store/blob_store.ts";
import type { Area } from "../src/willow/area.ts";
import { readMcCapability, writeMcCapability } from "../src/willow/capability_encoding.ts";
import { decode, encode } from "../src/willow/codec.ts";
import type { Entry } from "../src/willow/entry.ts";
import { asPublicKey, asSignature, type PublicKey } from "../src/willow/keys.ts";
import { checkChainLength } from "../src/willow/meadowcap.ts";
import { U64_MAX } from "../src/willow/params.ts";
import { EMPTY_PATH, type Path } from "../src/willow/path.ts";
import { pathFromUrl, pathToUrl } from "../src/willow/path_url.ts";
import { ALL_TIMES, type TimeRange, timeRange, timestampSuccessor } from "../src/willow/range.ts";
import type { ReadProof } from "../src/willow/read_proof.ts";
import type { IngestOutcome, StoredAuthorisedEntry } from "../src/willow/store/entry_store.ts";
import { HostedNamespaces } from "../src/willow/store/namespaces.ts";
import { readSubmission } from "../src/willow/submission.ts";
import { corruptionCounter, servablePayload } from "./blobs.ts";
import { HttpError } from "./errors.ts";
import { BlobNotFoundError } from "../src/store/errors.ts";
import { requireWriter } from "./middleware.ts";
import { requestBody } from "../src/http/request_body.ts";
import { collect } from "../src/bytes.ts";

export interface WillowRouteDeps {
  store: BlobStore;
  metrics: Metrics;
  /** `token` guards the admin routes, `maxUpload` bounds payloads, `secretKey` seals secrets. */
  config: Pick<Config, "token" | "maxUpload" | "secretKey">;
}

/** The read-proof headers (README "Willow"). */
const PROOF_HEADERS = {
  capability: "Willow-Read-Capability",
  timestamp: "Willow-Read-Timestamp",
  signature: "Willow-Read-Signature",
} as const;

/** The payload answers that represent it, and so may be revalidated from a cache. */
const CACHEABLE_STATUSES = new Set([200, 206, 304]);

const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 1000;
const SETTLE_EVERY_MS = 10 * 60_000;

function bytesParam(text: string, what: string, length?: number): Uint8Array {
  const bytes = fromHex(text);
  if (bytes === undefined || (length !== undefined && bytes.length !== length)) {
    const expected = length === undefined
      ? "hex digits, two per byte"
      : `${length * 2} hex digits, got ${text.length} characters`;
    throw new HttpError(400, `invalid ${what}`, `expected ${expected}`);
  }
  return bytes;
}

/** A namespace id, subspace id or user key from hex. */
function keyParam(text: string, what: string): PublicKey {
  return asPublicKey(bytesParam(text, what, 32));
}

function u64Param(text: string, name: string): bigint {
  if (!/^\d{1,20}$/.test(text) || BigInt(text) > U64_MAX) {
    throw new InvalidQueryError(name, "must be a u64 in decimal digits");
  }
  return BigInt(text);
}

/** A u64 given in JSON as a decimal string or a safe integer. */
function u64Json(value: unknown, name: string): bigint | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === "number" && Number.isSafeInteger(value) && value >= 0) return BigInt(value);
  if (typeof value === "string" && /^\d{1,20}$/.test(value) && BigInt(value) <= U64_MAX) {
    return BigInt(value);
  }
  throw new HttpError(400, "invalid body", `${name} must be a u64 (a decimal string)`);
}

const AREA_FIELDS = ["subspace", "path", "from", "to"];

/**
 * The area of a delegation in JSON (README "Willow"): absent for the whole namespace, else an
 * object of `AREA_FIELDS` only. Anything else is refused rather than read as "everything": a
 * misspelt field must not widen what is granted.
 */
function areaJson(value: unknown): Area {
  if (value === undefined || value === null) {
    return { subspace: "any", path: EMPTY_PATH, times: ALL_TIMES };
  }
  if (typeof value !== "object" || Array.isArray(value)) {
    throw new HttpError(400, "invalid body", "area is a JSON object");
  }
  const a = value as Record<string, unknown>;
  const unknown = Object.keys(a).filter((k) => !AREA_FIELDS.includes(k));
  if (unknown.length > 0) {
    throw new HttpError(
      400,
      "invalid body",
      `area has no field ${unknown.join(", ")}; its fields are ${AREA_FIELDS.join(", ")}`,
    );
  }
  for (const field of ["subspace", "path"]) {
    if (a[field] !== undefined && typeof a[field] !== "string") {
      throw new HttpError(400, "invalid body", `area.${field} is a string`);
    }
  }
  return {
    subspace: a.subspace === undefined || a.subspace === "any"
      ? "any"
      : keyParam(a.subspace as string, "subspace"),
    path: a.path === undefined ? EMPTY_PATH : pathFromUrl(a.path as string),
    times: times(u64Json(a.from, "area.from"), u64Json(a.to, "area.to")),
  };
}

function times(from: bigint | undefined, to: bigint | undefined): TimeRange {
  if (from === undefined && to === undefined) return ALL_TIMES;
  if (to !== undefined && to <= (from ?? 0n)) {
    throw new HttpError(400, "invalid time range", "`to` must be greater than `from`");
  }
  return timeRange(from ?? 0n, to);
}

/** Largest admin JSON body: a namespace or a capability request is a few hundred bytes. */
const MAX_JSON_BODY = 64 * 1024;

async function jsonBody(c: Context): Promise<Record<string, unknown>> {
  const tooLarge = () =>
    new HttpError(413, "payload too large", `a JSON body is at most ${MAX_JSON_BODY} bytes`);
  if (Number(c.req.header("Content-Length") ?? 0) > MAX_JSON_BODY) throw tooLarge();
  // Read before parsing: a body that stalls or breaks off fails as such (408, 400), and only
  // what was read whole but is not JSON is an invalid body.
  const bytes = await collect(requestBody(c.req.raw), MAX_JSON_BODY, tooLarge);
  let body: unknown;
  try {
    body = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new HttpError(400, "invalid body", "expected a JSON object");
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new HttpError(400, "invalid body", "expected a JSON object");
  }
  return body as Record<string, unknown>;
}

/** The raw (still percent-encoded) segments of the request path after `/willow/`. */
function rawSegments(c: Context): string[] {
  return new URL(c.req.url).pathname.split("/").slice(2);
}

/**
 * Namespace, subspace and path of `/willow/:ns/:subspace/*path`, or of
 * `/willow/:ns/:subspace?path=<path>`: components `.` and `..` (bytes any Willow path may hold)
 * cannot travel in a URL's path, since clients and servers remove them as dot segments (WHATWG
 * URL, even spelled `%2E`), but they can in a query parameter.
 */
function entryLocation(c: Context): { ns: PublicKey; subspace: PublicKey; path: Path } {
  const [ns, subspace, ...rest] = rawSegments(c);
  const query = c.req.query("path");
  if (query !== undefined && rest.length > 0) {
    throw new HttpError(400, "invalid path", "give the path in the URL or in ?path=, not both");
  }
  return {
    ns: keyParam(ns, "namespace"),
    subspace: keyParam(subspace, "subspace"),
    path: query !== undefined
      ? pathFromUrl(query)
      : rest.length === 0
      ? EMPTY_PATH
      : pathFromUrl("/" + rest.join("/")),
  };
}

/** The read proof in the request's headers, if it carries one. */
function readProof(c: Context): ReadProof | undefined {
  const cap = c.req.header(PROOF_HEADERS.capability);
  const timestamp = c.req.header(PROOF_HEADERS.timestamp);
  const signature = c.req.header(PROOF_HEADERS.signature);
  if (cap === undefined && timestamp === undefined && signature === undefined) return undefined;
  if (cap === undefined || timestamp === undefined || signature === undefined) {
    throw new HttpError(
      400,
      "invalid read proof",
      `send all of ${Object.values(PROOF_HEADERS).join(", ")}`,
    );
  }
  if (!/^\d{1,16}$/.test(timestamp)) {
    throw new HttpError(400, "invalid read proof", "the timestamp is Unix milliseconds");
  }
  return {
    capability: checkChainLength(
      decode(bytesParam(cap, "read proof"), readMcCapability, { canonic: false }),
    ),
    timestamp: Number(timestamp),
    signature: asSignature(bytesParam(signature, "read proof", 64)),
  };
}

/** An entry in JSON: ids and digests in hex, u64s as decimal strings, the path as in URLs. */
function entryJson(e: Entry): Record<string, string> {
  return {
    subspace: toHex(e.subspaceId),
    path: pathToUrl(e.path),
    timestamp: String(e.timestamp),
    payloadLength: String(e.payloadLength),
    payloadDigest: toHex(e.payloadDigest),
  };
}

function storedJson(s: StoredAuthorisedEntry): Record<string, string> {
  return { ...entryJson(s.entry), signature: toHex(s.signature) };
}

function outcomeJson(o: IngestOutcome): Record<string, unknown> {
  return o.status === "stored" ? { status: "stored", pruned: o.pruned } : { ...o };
}

function declaredTooLarge(c: Context, max: number): void {
  const declared = c.req.header("Content-Length");
  if (declared !== undefined && Number(declared) > max) {
    throw new HttpError(413, "payload too large", `the limit is ${max} bytes`);
  }
}

export function willowRoutes(deps: WillowRouteDeps): Hono {
  const { token, maxUpload, secretKey } = deps.config;
  const hosted = new HostedNamespaces(deps.store.kv, deps.store, { gatewaySecret: secretKey });
  const admin = requireWriter(token);
  const app = new Hono();
  // Finish what a process that stopped left behind (pins to release, prunings to complete): on
  // the first Willow request and then at most every SETTLE_EVERY_MS, within a request so that
  // nothing outlives the app. Only work abandoned for 10 minutes is taken up, so it is rare.
  let lastSettled = -Infinity;
  let settling: Promise<void> = Promise.resolve();
  app.use("/willow/*", async (_c, next) => {
    if (Date.now() - lastSettled > SETTLE_EVERY_MS) {
      lastSettled = Date.now();
      settling = hosted.entries.settle().then(
        () => {},
        (e) => console.error("willow: settling failed:", e),
      );
    }
    await settling;
    await next();
  });

  app.post("/willow/namespaces", admin, async (c) => {
    const body = await jsonBody(c);
    const kind = body.kind ?? "owned";
    if (kind !== "owned" && kind !== "communal") {
      throw new HttpError(400, "invalid body", 'kind is "owned" or "communal"');
    }
    if (body.public !== undefined && typeof body.public !== "boolean") {
      throw new HttpError(400, "invalid body", "public is true or false");
    }
    const created = await hosted.create(kind, body.public === true);
    const namespace = toHex(created.namespace);
    c.header("Location", `/willow/${namespace}/entries`);
    return c.json(
      { namespace, user: toHex(created.user), kind, public: created.record.public },
      201,
    );
  });

  app.post("/willow/:ns/capabilities", admin, async (c) => {
    const ns = keyParam(c.req.param("ns"), "namespace");
    const body = await jsonBody(c);
    const mode = body.mode;
    if (mode !== "read" && mode !== "write") {
      throw new HttpError(400, "invalid body", 'mode is "read" or "write"');
    }
    if (typeof body.user !== "string") {
      throw new HttpError(400, "invalid body", "user is a hex key");
    }
    const to = keyParam(body.user, "user");
    const cap = await hosted.delegate(ns, mode, areaJson(body.area), to);
    return c.json({ capability: toHex(encode((w) => writeMcCapability(w, cap))) }, 201);
  });

  app.get("/willow/:ns/entries", async (c) => {
    const ns = keyParam(c.req.param("ns"), "namespace");
    const q = (name: string) => c.req.query(name);
    const subspace = q("subspace") === undefined ? undefined : keyParam(q("subspace")!, "subspace");
    const prefix = pathFromUrl(q("prefix") ?? "");
    const range = times(
      q("from") === undefined ? undefined : u64Param(q("from")!, "from"),
      q("to") === undefined ? undefined : u64Param(q("to")!, "to"),
    );
    const limitText = q("limit");
    const limit = limitText === undefined
      ? DEFAULT_LIMIT
      : /^\d{1,4}$/.test(limitText)
      ? Number(limitText)
      : NaN;
    if (!(limit >= 1 && limit <= MAX_LIMIT)) {
      throw new InvalidQueryError("limit", `must be an integer in 1..${MAX_LIMIT}`);
    }
    const url = new URL(c.req.url);
    const record = await hosted.authoriseRead({
      method: c.req.method,
      target: url.pathname + url.search,
      namespace: ns,
      area: { subspace: subspace ?? "any", path: prefix, times: range },
    }, () => readProof(c));
    const cursor = q("cursor");
    const page = await hosted.entries.query(ns, { subspace, prefix, times: range, limit, cursor })
      .catch((e) => {
        // Deno KV refuses a cursor it did not hand out with a TypeError.
        if (cursor === undefined || !(e instanceof TypeError)) throw e;
        throw new InvalidQueryError("cursor", "is not the `next` of this listing");
      });
    // Entries come and go: revalidate; only a public namespace's listing may be shared.
    c.header("Cache-Control", record.public ? "no-cache" : "private, no-cache");
    return c.json({
      entries: page.entries.map(storedJson),
      ...(page.cursor === undefined ? {} : { next: page.cursor }),
    });
  });

  app.post("/willow/:ns/entries", async (c) => {
    const ns = keyParam(c.req.param("ns"), "namespace");
    const body = requestBody(c.req.raw);
    const s = await readSubmission(body);
    const payload = s.hasPayload ? { body: s.payload, maxSize: maxUpload } : undefined;
    const outcome = await hosted.ingest(ns, s.entry, s.capability, s.signature, payload);
    return c.json(
      { ...outcomeJson(outcome), entry: entryJson(s.entry) },
      outcome.status === "stored" ? 201 : 200,
    );
  });

  const put = async (c: Context) => {
    const { ns, subspace, path } = entryLocation(c);
    declaredTooLarge(c, maxUpload);
    const body = requestBody(c.req.raw);
    const { entry, outcome } = await hosted.write(ns, subspace, path, {
      body,
      maxSize: maxUpload,
    });
    return c.json(
      { ...outcomeJson(outcome), entry: entryJson(entry) },
      outcome.status === "stored" ? 201 : 200,
    );
  };

  const get = async (c: Context) => {
    const { ns, subspace, path } = entryLocation(c);
    const stored = await hosted.entries.get(ns, subspace, path);
    const t = stored?.entry.timestamp;
    const url = new URL(c.req.url);
    const record = await hosted.authoriseRead({
      method: c.req.method,
      target: url.pathname + url.search,
      namespace: ns,
      area: {
        subspace,
        path,
        times: t === undefined ? ALL_TIMES : { start: t, end: timestampSuccessor(t) },
      },
    }, () => readProof(c));
    if (stored === undefined) {
      throw new HttpError(404, "not found", "no entry at this path");
    }
    const { entry } = stored;
    const last = entry.path.at(-1);
    // One answer for every way of not having it: whether the blob exists elsewhere (another
    // namespace's restricted payload, say) is not this entry's reader's business.
    const notHere = new HttpError(404, "not found", "the entry's payload is not stored here");
    if (!(await hosted.payloadHere(entry))) throw notHere;
    const blob = await servablePayload(
      deps.store,
      entry.payloadDigest as Hash,
      last === undefined ? undefined : new TextDecoder().decode(last),
    ).catch((e) => {
      throw e instanceof BlobNotFoundError ? notHere : e;
    });
    const res = await blobResponse(c.req.raw, blob, {
      onCorruption: corruptionCounter(deps.metrics),
    });
    // The payload at a path changes with each newer entry: revalidate (the ETag is the digest).
    // A 412 or 416 keeps its `no-store`: it answers this request's conditions, not the payload.
    if (CACHEABLE_STATUSES.has(res.status)) {
      res.headers.set("Cache-Control", record.public ? "no-cache" : "private, no-cache");
    }
    res.headers.set("Willow-Entry-Timestamp", String(entry.timestamp));
    res.headers.set("Willow-Payload-Digest", toHex(entry.payloadDigest));
    res.headers.set("Willow-Payload-Length", String(entry.payloadLength));
    return res;
  };

  // `/willow/:ns/:subspace` is the empty path; `/willow/:ns/:subspace/` one empty component.
  for (const pattern of ["/willow/:ns/:subspace", "/willow/:ns/:subspace/*"]) {
    app.put(pattern, admin, put);
    app.get(pattern, get);
  }
  return app;
}
