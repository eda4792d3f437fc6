/**
 * `/blobs`: upload (POST), read (GET/HEAD with every representation semantic), the pre-order
 * outboard, and unpinning (DELETE). Thin: parsing, authorisation and status mapping only.
 */
import { Hono } from "hono";
import { type Hash, parseHash, toHex } from "../src/blake3/hash.ts";
import { verifiedPreOrder } from "../src/bao/outboard.ts";
import { BaoTree, IROH_K } from "../src/bao/tree.ts";
import { blobResponse, refusal, type ServableBlob } from "../src/http/blob_response.ts";
import { blobEntityTag, evaluatePreconditions, formatEntityTag } from "../src/http/conditional.ts";
import { BlobAccess } from "../src/peers/blob_access.ts";
import { verifiedBody } from "../src/http/verified_body.ts";
import type { Metrics } from "../src/metrics.ts";
import { type BlobStore, USER_PIN } from "../src/store/blob_store.ts";
import { HttpError } from "./errors.ts";
import { requireWriter } from "./middleware.ts";
import { requestBody } from "../src/http/request_body.ts";

export interface BlobRouteDeps {
  store: BlobStore;
  /** Where blobs are read from: the store, and peers when configured. */
  blobs: BlobAccess;
  metrics: Metrics;
  token: string | undefined;
  maxUpload: number;
}

/**
 * A Willow payload stored here, ready to serve (404 when it is not here), restricted or not:
 * the caller has checked the read; never asks peers.
 */
export async function servablePayload(
  store: BlobStore,
  hash: Hash,
  name?: string,
): Promise<ServableBlob> {
  return await new BlobAccess(store).servable(hash, { name, includeRestricted: true });
}

/** Whether the request forbids fetching from elsewhere (RFC 9111 §5.2.1.7). */
export function onlyIfCached(request: Request): boolean {
  return /(^|,)\s*only-if-cached\s*(,|$)/i.test(request.headers.get("Cache-Control") ?? "");
}

/** Reports verification failures of stored data found after a response started. */
export function corruptionCounter(metrics: Metrics) {
  return () => metrics.verificationFailures.add(1, { source: "store" });
}

export function blobRoutes(deps: BlobRouteDeps): Hono {
  const { store, metrics } = deps;
  const app = new Hono();

  app.post("/blobs", requireWriter(deps.token), async (c) => {
    const declared = c.req.header("Content-Length");
    if (declared !== undefined && Number(declared) > deps.maxUpload) {
      throw new HttpError(413, "payload too large", `the limit is ${deps.maxUpload} bytes`);
    }
    const body = requestBody(c.req.raw);
    const result = await store.import(body, { maxSize: deps.maxUpload });
    const hex = toHex(result.hash);
    c.header("Location", `/blobs/${hex}`);
    return c.json({ hash: hex, size: result.size }, result.created ? 201 : 200);
  });

  // HEAD reaches this handler too (Hono routes it as GET); blobResponse reads nothing for it.
  app.get("/blobs/:hash", async (c) => {
    const blob = await deps.blobs.servable(parseHash(c.req.param("hash")), {
      onlyIfCached: onlyIfCached(c.req.raw),
    });
    return await blobResponse(c.req.raw, blob, { onCorruption: corruptionCounter(metrics) });
  });

  // The outboard of a blob held in part here is completed from peers first, as a read would be.
  app.get("/blobs/:hash/outboard", async (c) => {
    const hash = parseHash(c.req.param("hash"));
    const cachedOnly = onlyIfCached(c.req.raw);
    // The size, with its proof (404, 412, 502, 504 as for the blob itself).
    const blob = await deps.blobs.servable(hash, { onlyIfCached: cachedOnly });
    const size = blob.size;
    const tree = new BaoTree(size, IROH_K);
    const etag = { weak: false, opaque: `${toHex(hash)}.obao4` };
    const headers = new Headers({
      "ETag": formatEntityTag(etag),
      "Cache-Control": "public, max-age=31536000, immutable, no-transform",
      "X-Content-Type-Options": "nosniff",
      "X-Blob-Size": String(size),
    });
    const method = c.req.raw.method;
    const outcome = evaluatePreconditions(method, c.req.raw.headers, etag);
    if (outcome === "not-modified") return new Response(null, { status: 304, headers });
    if (outcome === "precondition-failed") return refusal(412, headers, blob);
    headers.set("Content-Type", "application/octet-stream");
    headers.set("Content-Length", String(tree.outboardSize));
    if (method === "HEAD" || tree.outboardSize === 0) return new Response(null, { headers });
    const source = await (cachedOnly ? deps.blobs.cachedOnly() : deps.blobs).open(hash);
    if (source === undefined) {
      throw new HttpError(404, "not found", `blob ${toHex(hash)} is not here`);
    }
    const body = await verifiedBody(store.holding(hash, verifiedPreOrder(source)), {
      length: tree.outboardSize,
      onCorruption: corruptionCounter(metrics),
    });
    return new Response(body, { headers });
  });

  app.delete("/blobs/:hash", requireWriter(deps.token), async (c) => {
    const hash = parseHash(c.req.param("hash"));
    const notHere = () =>
      new HttpError(404, "not found", `blob ${toHex(hash)} is not here or not pinned`);
    // If-Match / If-None-Match apply to unsafe methods too, but not to what would be a 404
    // without them (RFC 9110 §13.2.1): `If-None-Match: *` of a missing blob is 404, not 412.
    if (!(await store.isPinned(hash, USER_PIN))) throw notHere();
    if (
      evaluatePreconditions("DELETE", c.req.raw.headers, blobEntityTag(hash)) ===
        "precondition-failed"
    ) {
      throw new HttpError(412, "precondition failed", "the request's conditions do not hold");
    }
    // Released meanwhile by another request: not pinned after all.
    if (!(await store.unpin(hash, USER_PIN))) throw notHere();
    return c.body(null, 204);
  });

  return app;
}
