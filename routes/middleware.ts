/**
 * Cross-cutting request handling: one structured log line and the metrics of each request, the
 * in-flight cap (429), write authorisation, CORS. Each is a small Hono middleware.
 */
import type { Context, MiddlewareHandler } from "hono";
import { getConnInfo } from "hono/deno";
import { matchedRoutes } from "hono/route";
import { METHOD_NAME_ALL } from "hono/router";
import { bodyInMemory } from "../src/http/verified_body.ts";
import type { Metrics } from "../src/metrics.ts";
import { HttpError } from "./errors.ts";

/**
 * What a cut response's stream is errored with. Deno prints that error, stack and all, for every
 * cut response; the request's log line already says why (its `outcome` and `detail`), so what
 * the runtime prints is one line.
 */
class ResponseCut extends Error {
  constructor(reason: string) {
    super(reason);
    this.stack = `response cut: ${reason}`;
  }
}

/** Largest piece handed on at once: a client must take each within the send timeout. */
const PIECE = 64 * 1024;

type BodyOutcome = "complete" | "error" | "cancelled" | "stalled";

/**
 * Passes `body` through, reporting each chunk's size and, once, how it ended: the end of the
 * stream, an error (a cut response), the client going away, or the client taking no chunk for
 * `sendTimeoutMs` while the body had one for it ("stalled": then the response is cut, or a
 * stalled reader would hold its in-flight place, its blob and its buffers for ever). Chunks are
 * handed on in pieces of at most 64 KiB (a listing or a discovery answer comes as one chunk of
 * megabytes, which Deno would take whole and the timeout never see), so a client slower than
 * 64 KiB per `sendTimeoutMs` counts as stalled too. Time spent waiting for the source (a peer,
 * storage) does not count. One timer per response, re-armed when it fires, not per chunk.
 */
function observeBody(
  body: ReadableStream<Uint8Array>,
  sendTimeoutMs: number,
  onBytes: (n: number) => void,
  onEnd: (outcome: BodyOutcome, detail?: string) => void,
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  // Once: a cancel also fails the read in progress, which would report an error after it.
  let ended = false;
  const end = (outcome: BodyOutcome, detail?: string) => {
    if (!ended) onEnd(outcome, detail);
    ended = true;
  };
  let lastPull = performance.now();
  let reading = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const stop = () => clearTimeout(timer);
  /** What is left of a chunk larger than a piece. */
  let rest: Uint8Array | undefined;
  return new ReadableStream<Uint8Array>({
    start(controller) {
      const check = () => {
        const idle = performance.now() - lastPull;
        if (reading || idle < sendTimeoutMs) {
          timer = setTimeout(check, reading ? sendTimeoutMs : sendTimeoutMs - idle);
          return;
        }
        const reason = `the client took no piece of the response for ${sendTimeoutMs} ms`;
        controller.error(new ResponseCut(reason));
        end("stalled", reason);
        reader.cancel().catch(() => {});
      };
      timer = setTimeout(check, sendTimeoutMs);
    },
    async pull(controller) {
      lastPull = performance.now();
      reading = true;
      try {
        let chunk = rest;
        if (chunk === undefined) {
          const { done, value } = await reader.read();
          if (done) {
            stop();
            controller.close();
            end("complete");
            return;
          }
          chunk = value;
        }
        // A copy: the piece goes to the runtime while the rest of its buffer is still to come.
        const piece = chunk.length > PIECE ? chunk.slice(0, PIECE) : chunk;
        rest = chunk.length > PIECE ? chunk.subarray(PIECE) : undefined;
        onBytes(piece.length);
        controller.enqueue(piece);
      } catch (e) {
        stop();
        const reason = e instanceof Error ? e.message : String(e);
        controller.error(new ResponseCut(reason));
        end("error", reason);
      } finally {
        reading = false;
        lastPull = performance.now();
      }
    },
    async cancel(reason) {
      stop();
      rest = undefined;
      end("cancelled");
      await reader.cancel(reason);
    },
  }, { highWaterMark: 4 });
}

/**
 * A HEAD answered by a GET handler (Hono routes HEAD as GET) loses its body here rather than
 * later in Hono, so that the request ends now. The length of a generated document (JSON, a page,
 * metrics) becomes `Content-Length`, which must be the GET's (RFC 9110 §9.3.2) and would
 * otherwise read 0; a stream of data whose length nobody declared is not produced just to
 * measure it.
 */
async function dropHeadBody(c: Context): Promise<void> {
  const headers = new Headers(c.res.headers);
  const document = /^(application\/json|text\/)/.test(headers.get("Content-Type") ?? "");
  if (!headers.has("Content-Length") && document) {
    headers.set("Content-Length", String((await c.res.arrayBuffer()).byteLength));
  } else await c.res.body?.cancel();
  c.res = new Response(null, { status: c.res.status, headers });
}

/** What inner middleware waits for: the request's response sent, cut or abandoned. */
const sentHooks = new WeakMap<Request, (() => void)[]>();

/**
 * Runs `hook` once the response to `c`'s request has been sent in full, cut, or abandoned by
 * the client: a streamed body goes on long after the handler returned. `observe` keeps the
 * time; without it (a router used alone) the hook runs at once.
 */
export function whenSent(c: Context, hook: () => void): void {
  const hooks = sentHooks.get(c.req.raw);
  if (hooks === undefined) hook();
  else hooks.push(hook);
}

/** The methods a request counter names; the rest are one label, not one each. */
const COUNTED_METHODS = new Set(["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS"]);

/**
 * `method` as a metric label: any token is a valid method, and a label per token a client
 * invents would grow `/metrics` (and memory) without bound.
 */
function methodLabel(method: string): string {
  return COUNTED_METHODS.has(method) ? method : "other";
}

/**
 * Logs one JSON line per request and records its metrics, when its response has been sent: a
 * download is in flight until its last byte has left.
 */
export function observe(
  metrics: Metrics,
  log: (line: string) => void,
  sendTimeoutMs: number,
): MiddlewareHandler {
  return async (c, next) => {
    const start = performance.now();
    metrics.inFlight.add(1);
    const hooks: (() => void)[] = [];
    sentHooks.set(c.req.raw, hooks);
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      metrics.inFlight.add(-1);
      for (const hook of hooks) hook();
    };
    try {
      await next();
    } catch (e) {
      end();
      throw e;
    }
    const route = routeLabel(c);
    const status = c.res.status;
    metrics.requests.add(1, { route, method: methodLabel(c.req.method), status: String(status) });
    let sent = 0;
    const done = (outcome: string, detail?: string) => {
      end();
      log(JSON.stringify({
        time: new Date().toISOString(),
        method: c.req.method,
        path: c.req.path,
        route,
        status,
        bytes: sent,
        outcome,
        ...(detail === undefined ? {} : { detail }),
        ms: Math.round(performance.now() - start),
        remote: remoteAddress(c),
      }));
    };
    if (c.req.method === "HEAD" && c.res.body !== null) await dropHeadBody(c);
    const known = bodyInMemory(c.res);
    if (known !== undefined) {
      // Bytes, handed to Deno whole: counted as sent, and left unwrapped so they stay bytes.
      sent = known;
      metrics.bytesOut.add(sent);
      return done("complete");
    }
    if (c.res.body === null) return done("complete");
    // The body streams after the handler returns: log when it has ended (or was cut).
    const body = observeBody(c.res.body, sendTimeoutMs, (n) => {
      sent += n;
      metrics.bytesOut.add(n);
    }, done);
    c.res = new Response(body, c.res);
  };
}

/**
 * The route pattern, not the path: one label per route however many hashes are asked for. A
 * request refused before its handler ran (429 beyond the in-flight cap) is counted under the
 * route it asked for, not under the middleware that refused it; one that no route serves (404,
 * 405) under `/*`.
 */
function routeLabel(c: Context): string {
  const routes = matchedRoutes(c);
  const answered = routes[c.req.routeIndex];
  if (answered !== undefined && answered.method !== METHOD_NAME_ALL) return answered.path;
  return routes.find((r) => r.method !== METHOD_NAME_ALL)?.path ?? "/*";
}

/**
 * Rejects requests beyond `max` in flight with 429 and `Retry-After`. A request holds its place
 * until its response has been sent (`whenSent`): slow downloads are what the cap is for.
 */
export function limitInFlight(max: number, metrics: Metrics): MiddlewareHandler {
  let current = 0;
  return async (c, next) => {
    if (current >= max) {
      metrics.rejected.add(1);
      throw new HttpError(429, "too many requests", `more than ${max} requests in flight`, {
        "Retry-After": "1",
      });
    }
    current++;
    try {
      await next();
    } finally {
      whenSent(c, () => current--);
    }
  };
}

/** The client's address, when the server knows it (loopback checks, logs). */
export function remoteAddress(c: Context): string | undefined {
  try {
    return getConnInfo(c).remote.address;
  } catch {
    return undefined;
  }
}

function isLoopback(address: string | undefined): boolean {
  return address !== undefined &&
    (address === "::1" || /^127\./.test(address) || address === "::ffff:127.0.0.1");
}

/** Compares in time independent of where the strings differ. */
function sameToken(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a), y = new TextEncoder().encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}

/** Host names that only ever mean this machine. */
function isLoopbackName(hostname: string): boolean {
  return hostname === "localhost" || hostname.endsWith(".localhost") ||
    /^127\.\d+\.\d+\.\d+$/.test(hostname) || hostname === "[::1]";
}

/**
 * Why a token-less write from loopback is still refused, if it is: a loopback client may be a
 * browser running another site's page. That page can send a POST to `127.0.0.1` (the browser
 * says so in `Origin` and `Sec-Fetch-Site`), or point its own domain at `127.0.0.1` (DNS
 * rebinding: then `Host` names that domain). Curl and other programs send neither header.
 */
function crossSiteWrite(request: Request): string | undefined {
  const url = new URL(request.url);
  if (!isLoopbackName(url.hostname)) {
    return `the request is addressed to "${url.hostname}", not to a loopback name`;
  }
  const site = request.headers.get("Sec-Fetch-Site");
  if (site !== null && site !== "same-origin" && site !== "none") {
    return `a ${site} page may not write`;
  }
  const origin = request.headers.get("Origin");
  if (origin !== null && origin !== url.origin) return `a page of ${origin} may not write`;
  return undefined;
}

/**
 * Guards writes: `Authorization: Bearer <token>` when a token is configured (401 without
 * credentials, 403 with wrong ones); with none configured, only loopback clients may write, and
 * not on behalf of another site's page (`crossSiteWrite`).
 */
export function requireWriter(token: string | undefined): MiddlewareHandler {
  return async (c, next) => {
    if (token === undefined) {
      if (!isLoopback(remoteAddress(c))) {
        throw new HttpError(
          403,
          "forbidden",
          "writes are allowed from loopback only when GATEWAY_TOKEN is not set",
        );
      }
      const refused = crossSiteWrite(c.req.raw);
      if (refused !== undefined) {
        throw new HttpError(
          403,
          "forbidden",
          `${refused}; without GATEWAY_TOKEN, writes come from this machine's own programs and pages only`,
        );
      }
      return await next();
    }
    const header = c.req.header("Authorization");
    const m = header ? /^Bearer\s+(.+)$/i.exec(header) : null;
    if (!m) {
      throw new HttpError(401, "unauthorized", "send Authorization: Bearer <token>", {
        "WWW-Authenticate": 'Bearer realm="gateway"',
      });
    }
    if (!sameToken(m[1].trim(), token)) throw new HttpError(403, "forbidden", "wrong token");
    await next();
  };
}

/** The request headers the gateway reads, for a page of any origin to send. */
const ALLOW_HEADERS = [
  "Range",
  "If-Match",
  "If-None-Match",
  "If-Range",
  // `only-if-cached`: from this gateway's store alone, never from its peers.
  "Cache-Control",
  // JSON or HTML listings, JSON or binary discovery; a long value is not CORS-safelisted.
  "Accept",
  "Content-Type",
  "Authorization",
  // Willow read proofs, for namespaces that are not public.
  "Willow-Read-Capability",
  "Willow-Read-Timestamp",
  "Willow-Read-Signature",
].join(",");

const EXPOSE_HEADERS = [
  "Content-Range",
  "Content-Length",
  "Accept-Ranges",
  "ETag",
  "Repr-Digest",
  "Content-Type",
  "Content-Disposition",
  "Location",
  "Retry-After",
  "X-Blob-Size",
  "Willow-Entry-Timestamp",
  "Willow-Payload-Digest",
  "Willow-Payload-Length",
].join(",");

/** Every method some route serves (a test checks this against the routes). */
const ALLOW_METHODS = "GET,HEAD,POST,PUT,DELETE,OPTIONS";

/**
 * CORS for reads from any origin, exposing what a verifying client needs to see, and for writes
 * that carry the token (a page without it is refused by `requireWriter` all the same). Written here
 * rather than taken from `hono/cors`, which sets its headers on `c.res` before the handler runs:
 * Hono then rebuilds the handler's response around `response.body`, turning every body into a
 * stream (measured with a 16 KiB body through the whole middleware stack: ~4,300 req/s with
 * `hono/cors`, ~6,600 without).
 */
export function readCors(): MiddlewareHandler {
  return async (c, next) => {
    if (c.req.method === "OPTIONS") {
      return new Response(null, {
        status: 204,
        headers: {
          "Access-Control-Allow-Origin": "*",
          "Access-Control-Allow-Methods": ALLOW_METHODS,
          "Access-Control-Allow-Headers": ALLOW_HEADERS,
          "Access-Control-Expose-Headers": EXPOSE_HEADERS,
          "Access-Control-Max-Age": "86400",
        },
      });
    }
    await next();
    let headers = c.res.headers;
    try {
      headers.set("Access-Control-Allow-Origin", "*");
    } catch {
      // Immutable headers (a response from `fetch`, say): copy the response once.
      c.res = new Response(c.res.body, c.res);
      headers = c.res.headers;
      headers.set("Access-Control-Allow-Origin", "*");
    }
    headers.set("Access-Control-Expose-Headers", EXPOSE_HEADERS);
  };
}
