/**
 * `/collections`: upload a directory as a collection (POST), list one (GET, JSON or HTML), and
 * serve its entries by name with every `/blobs/:hash` semantic. Thin: the formats, the import
 * and the listing live in `src/collection/`.
 */
import { Hono } from "hono";
import { type Hash, parseHash, toHex } from "../src/blake3/hash.ts";
import { blobResponse } from "../src/http/blob_response.ts";
import type { Collection } from "../src/collection/collection.ts";
import { archiveEntries, importCollection } from "../src/collection/import.ts";
import { collectionListing } from "../src/collection/listing.ts";
import { LISTING_CSP, listingHtml, prefersHtml } from "../src/collection/listing_html.ts";
import { loadCollection } from "../src/collection/stored.ts";
import type { Metrics } from "../src/metrics.ts";
import type { BlobAccess } from "../src/peers/blob_access.ts";
import type { BlobStore } from "../src/store/blob_store.ts";
import { visible } from "../src/store/layout.ts";
import { corruptionCounter, onlyIfCached } from "./blobs.ts";
import { HttpError } from "./errors.ts";
import { requireWriter } from "./middleware.ts";
import { requestBody } from "../src/http/request_body.ts";

export interface CollectionRouteDeps {
  store: BlobStore;
  /** Reads: the store, and peers when configured (a collection can live only on a peer). */
  blobs: BlobAccess;
  metrics: Metrics;
  token: string | undefined;
  maxUpload: number;
}

/** A listing may change while children arrive, so it is cached for an hour, not for ever. */
const LISTING_CACHE_CONTROL = "public, max-age=3600";

export function collectionRoutes(deps: CollectionRouteDeps): Hono {
  const { store, metrics } = deps;
  const app = new Hono();

  /** The collection, from the store alone under `only-if-cached` (412 when it is not here). */
  const stored = async (request: Request, hash: Hash): Promise<Collection> => {
    const from = onlyIfCached(request) ? deps.blobs.cachedOnly() : deps.blobs;
    const collection = await loadCollection(from, hash);
    if (collection === undefined) {
      throw new HttpError(404, "not found", `collection ${toHex(hash)} is not here`);
    }
    // Fetched from a peer, it is known here as a hash sequence from now on (discovery says so).
    await store.markHashSeq(hash);
    return collection;
  };

  app.post("/collections", requireWriter(deps.token), async (c) => {
    const declared = c.req.header("Content-Length");
    if (declared !== undefined && Number(declared) > deps.maxUpload) {
      throw new HttpError(413, "payload too large", `the limit is ${deps.maxUpload} bytes`);
    }
    const body = requestBody(c.req.raw);
    const entries = archiveEntries(c.req.header("Content-Type") ?? null, body, deps.maxUpload);
    const result = await importCollection(store, entries);
    const hex = toHex(result.collection.hash);
    c.header("Location", `/collections/${hex}`);
    const listed = result.entries.map((e) => ({ name: e.name, hash: toHex(e.hash), size: e.size }));
    return c.json({ hash: hex, entries: listed }, result.created ? 201 : 200);
  });

  app.get("/collections/:hash", async (c) => {
    const collection = await stored(c.req.raw, parseHash(c.req.param("hash")));
    // A restricted child (a private Willow payload) is not here, as far as a listing tells.
    const listing = await collectionListing(collection, async (h) => visible(await store.stat(h)));
    c.header("Vary", "Accept");
    c.header("Cache-Control", LISTING_CACHE_CONTROL);
    c.header("X-Content-Type-Options", "nosniff");
    if (!prefersHtml(c.req.header("Accept") ?? null)) return c.json(listing);
    c.header("Content-Security-Policy", LISTING_CSP);
    return c.html(listingHtml(listing));
  });

  // HEAD reaches this handler too (Hono routes it as GET); blobResponse reads nothing for it.
  // `[\s\S]`, not `.`: a name may hold line terminators (CR, LF, U+2028, U+2029), which `.`
  // does not match, and every name a collection accepts must be reachable.
  app.get("/collections/:hash/:name{[\\s\\S]+}", async (c) => {
    const collection = await stored(c.req.raw, parseHash(c.req.param("hash")));
    const name = c.req.param("name");
    const entry = collection.find(name);
    if (entry === undefined) {
      throw new HttpError(404, "not found", `collection has no entry ${JSON.stringify(name)}`);
    }
    const blob = await deps.blobs.servable(entry.hash, {
      name: entry.name,
      onlyIfCached: onlyIfCached(c.req.raw),
    });
    return await blobResponse(c.req.raw, blob, { onCorruption: corruptionCounter(metrics) });
  });

  return app;
}
