/**
 * The gateway's HTTP application: middleware and every resource router on one Hono app.
 * Routers stay thin; what they serve comes from `src/`.
 */
import { Hono } from "hono";
import type { Config } from "../src/config.ts";
import type { Metrics } from "../src/metrics.ts";
import type { BlobStore } from "../src/store/blob_store.ts";
import { BlobAccess } from "../src/peers/blob_access.ts";
import { BlobFetcher } from "../src/peers/fetcher.ts";
import { PeerSet } from "../src/peers/peer.ts";
import { adminRoutes } from "./admin.ts";
import { allowedMethods } from "./allowed_methods.ts";
import { blobRoutes } from "./blobs.ts";
import { discoveryRoutes } from "./discovery.ts";
import { peerRoutes } from "./peers.ts";
import { collectionRoutes } from "./collections.ts";
import { errorResponse, HttpError } from "./errors.ts";
import { getRoutes } from "./get.ts";
import { healthRoutes } from "./health.ts";
import { homeRoutes } from "./home.ts";
import { metricsRoutes } from "./metrics.ts";
import { limitInFlight, observe, readCors } from "./middleware.ts";
import { willowRoutes } from "./willow.ts";
import { withBodyDeadline } from "../src/http/request_body.ts";

export interface AppDeps {
  config: Config;
  store: BlobStore;
  metrics: Metrics;
  /** Where request log lines go (stdout in production, nowhere in tests). */
  log: (line: string) => void;
}

export function createApp(deps: AppDeps): Hono {
  const { config, store, metrics } = deps;
  const peers = new PeerSet(config.peers);
  const fetcher = config.peers.length === 0 ? undefined : new BlobFetcher(store, peers, metrics, {
    discoveryMs: config.discoveryTimeoutMs,
    timeouts: { firstByteMs: config.peerTimeoutMs, stallMs: 2 * config.peerTimeoutMs },
  });
  const blobs = new BlobAccess(store, fetcher);
  const app = new Hono();
  app.use("*", observe(metrics, deps.log, config.sendTimeoutMs));
  app.use("*", readCors());
  // Health and metrics stay reachable when the gateway is saturated.
  app.route("/", healthRoutes());
  app.route("/", metricsRoutes(metrics));
  app.use("*", limitInFlight(config.maxInFlight, metrics));
  app.route(
    "/",
    blobRoutes({ store, blobs, metrics, token: config.token, maxUpload: config.maxUpload }),
  );
  app.route("/", discoveryRoutes(store));
  app.route("/", peerRoutes(peers));
  app.route(
    "/",
    collectionRoutes({ store, blobs, metrics, token: config.token, maxUpload: config.maxUpload }),
  );
  app.route("/", getRoutes({ store, metrics }));
  app.route("/", adminRoutes(store, config.token));
  app.route("/", homeRoutes({ store, token: config.token }));
  app.route("/", willowRoutes({ store, metrics, config }));

  app.notFound((c) => {
    const allow = allowedMethods(app, c.req.path);
    if (allow.length === 0) throw new HttpError(404, "not found", "no such route");
    throw new HttpError(
      405,
      "method not allowed",
      `${c.req.method} is not served here; ${allow.join(", ")} are`,
      { Allow: allow.join(", ") },
    );
  });
  app.onError((e, c) => errorResponse(c, e, metrics));
  keepHeadLengthUnsaid(app);
  deadlineForBodies(app, config.sendTimeoutMs, metrics);
  return app;
}

/**
 * Every request body read with the idle deadline the responses have (`GATEWAY_SEND_TIMEOUT`):
 * a client that stops sending is answered 408 and leaves its in-flight place. The bytes read are
 * counted as they arrive.
 */
function deadlineForBodies(app: Hono, idleMs: number, metrics: Metrics): void {
  const dispatch = app.fetch;
  const received = (bytes: number) => metrics.bytesIn.add(bytes);
  app.fetch = (request, ...rest) => dispatch(withBodyDeadline(request, idleMs, received), ...rest);
}

/** Statuses whose responses never have a body (Fetch standard, "null body status"). */
const NULL_BODY_STATUS = new Set([101, 103, 204, 205, 304]);

/**
 * Hono answers a HEAD with the GET's headers and no body, which Deno sends as
 * `Content-Length: 0`: false about a GET that streams a body of a length it does not declare
 * (`/get`, RFC 9110 §9.3.2). An empty stream instead makes Deno send no length, as for the GET.
 */
function keepHeadLengthUnsaid(app: Hono): void {
  const dispatch = app.fetch;
  app.fetch = async (request, ...rest) => {
    const res = await dispatch(request, ...rest);
    const unsaid = request.method === "HEAD" && res.body === null &&
      !res.headers.has("Content-Length") && !NULL_BODY_STATUS.has(res.status);
    if (!unsaid) return res;
    return new Response(new ReadableStream({ start: (c) => c.close() }), res);
  };
}
