/**
 * `/get`: the iroh-blobs request/response protocol over HTTP. `POST /get` takes the request
 * bytes as the body; `GET /get/:hash?ranges=` is the same Get as a cacheable URL. Both stream
 * the response exactly as an iroh-blobs provider writes it (`src/protocol/response_writer.ts`).
 */
import { Hono } from "hono";
import { parseHash, toHex } from "../src/blake3/hash.ts";
import { BaoError } from "../src/bao/errors.ts";
import {
  evaluatePreconditions,
  formatEntityTag,
  selectionEntityTag,
} from "../src/http/conditional.ts";
import { verifiedBody } from "../src/http/verified_body.ts";
import type { Metrics } from "../src/metrics.ts";
import { decodeRangesQuery } from "../src/protocol/get_query.ts";
import {
  getRequest,
  MAX_MESSAGE_SIZE,
  readRequest,
  type Request,
} from "../src/protocol/request.ts";
import { ProvideError, writeResponse } from "../src/protocol/response_writer.ts";
import type { BlobStore } from "../src/store/blob_store.ts";
import { visible } from "../src/store/layout.ts";
import { storeProvider } from "../src/store/blob_provider.ts";
import { HttpError } from "./errors.ts";
import { requestBody } from "../src/http/request_body.ts";

export interface GetRouteDeps {
  store: BlobStore;
  metrics: Metrics;
}

/** The concatenated blob encodings have no registered type; they are opaque octets. */
const COMMON = { "Content-Type": "application/octet-stream", "X-Content-Type-Options": "nosniff" };

const IMMUTABLE = "public, max-age=31536000, immutable, no-transform";

export function getRoutes(deps: GetRouteDeps): Hono {
  const { store, metrics } = deps;
  const provider = storeProvider(store);
  const app = new Hono();

  /**
   * The response body, its first chunk produced: a failure before then is an error status.
   * After it, the bytes verified before the failure are passed on (a peer can keep them, as
   * with iroh's reset stream; the connection may still lose the last of them), and then the
   * stream is cut, never closed as if complete.
   */
  const respond = async (request: Request, headers: Record<string, string>) => {
    let failure: unknown;
    const pieces = async function* (): AsyncGenerator<Uint8Array> {
      try {
        yield* writeResponse(provider, request);
      } catch (e) {
        if (e instanceof ProvideError && e.cause instanceof BaoError) {
          metrics.verificationFailures.add(1, { source: "store" });
        }
        failure = e;
      }
    };
    const body = await verifiedBody(pieces());
    if (failure !== undefined) throw failure;
    const cut = new TransformStream<Uint8Array, Uint8Array>({
      flush(controller) {
        if (failure !== undefined) controller.error(failure);
      },
    });
    return new Response(body.pipeThrough(cut), { headers: { ...COMMON, ...headers } });
  };

  app.post("/get", async (c) => {
    const declared = c.req.header("Content-Length");
    if (declared !== undefined && Number(declared) > MAX_MESSAGE_SIZE + 1) {
      throw new HttpError(
        413,
        "payload too large",
        `a request is at most ${MAX_MESSAGE_SIZE} bytes`,
      );
    }
    const request = await readRequest(requestBody(c.req.raw));
    return await respond(request, { "Cache-Control": "no-store" });
  });

  // HEAD reaches this handler too (Hono routes it as GET): it checks the root and sends headers.
  app.get("/get/:hash", async (c) => {
    const request = getRequest(
      parseHash(c.req.param("hash")),
      decodeRangesQuery(c.req.query("ranges")),
    );
    // Named by the hash and the canonical ranges: every spelling of them shares it.
    const tag = selectionEntityTag(request.hash, "get", request.ranges.encode());
    const headers = { "ETag": formatEntityTag(tag), "Cache-Control": IMMUTABLE };
    if (visible(await store.stat(request.hash)) === undefined) {
      throw new HttpError(404, "not found", `blob ${toHex(request.hash)} is not here`);
    }
    const method = c.req.raw.method;
    const outcome = evaluatePreconditions(method, c.req.raw.headers, tag);
    if (outcome === "not-modified") {
      return new Response(null, { status: 304, headers: { ...COMMON, ...headers } });
    }
    if (outcome === "precondition-failed") {
      throw new HttpError(412, "precondition failed", "If-Match names another representation", {
        "Cache-Control": "no-store",
      });
    }
    if (method === "HEAD") return new Response(null, { headers: { ...COMMON, ...headers } });
    return await respond(request, headers);
  });

  return app;
}
