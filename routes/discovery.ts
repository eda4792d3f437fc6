/**
 * `/discovery`: what this gateway holds of a blob or hash sequence (JSON, or a binary
 * RangeSpecSeq for peers), and the part of a Get request it could answer.
 */
import { Hono } from "hono";
import { parseHash } from "../src/blake3/hash.ts";
import { answerable, availability, availabilityRanges } from "../src/protocol/discovery.ts";
import { readRequest } from "../src/protocol/request.ts";
import type { BlobStore } from "../src/store/blob_store.ts";
import { negotiate } from "../src/http/accept.ts";
import { requestBody } from "../src/http/request_body.ts";

const BINARY = "application/octet-stream";

export function discoveryRoutes(store: BlobStore): Hono {
  const app = new Hono();

  app.get("/discovery/:hash", async (c) => {
    const info = await availability(store, parseHash(c.req.param("hash")), {
      asHashSeq: c.req.query("hashseq") !== undefined,
    });
    // What is held changes as data arrives: short-lived, and per representation.
    const headers = { "Cache-Control": "no-cache", "Vary": "Accept" };
    if (negotiate(c.req.header("Accept") ?? null, ["application/json", BINARY]) === BINARY) {
      const bytes = availabilityRanges(info).encode();
      return c.body(bytes as Uint8Array<ArrayBuffer>, 200, { ...headers, "Content-Type": BINARY });
    }
    return c.json(info, 200, headers);
  });

  app.post("/discovery", async (c) => {
    const request = await readRequest(requestBody(c.req.raw));
    const bytes = (await answerable(store, request)).encode();
    return c.body(bytes as Uint8Array<ArrayBuffer>, 200, {
      "Content-Type": BINARY,
      "Cache-Control": "no-cache",
    });
  });

  return app;
}
