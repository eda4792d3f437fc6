/**
 * GET requests to a gateway, with its answers turned into facts or typed errors: an error
 * status becomes a `GatewayError` (404: `NotFoundError`) carrying the gateway's JSON
 * `{error, detail}`, a failed connection a `GatewayUnreachableError`. Only standard `fetch`,
 * `AbortController` and streams, so it runs in browsers as in Deno.
 *
 * A verified fetch sends its requests at once and may find, once the size is proven, that it
 * needs fewer of them; `startGet` gives each request its own abort so one can be dropped
 * without touching the caller's signal or the others, and so that a request whose body is
 * abandoned unread is torn down rather than left to the garbage collector.
 *
 * @module
 */

import { concatBytes } from "../bytes.ts";
import { type Hash, parseHash } from "../blake3/hash.ts";
import { GatewayError, GatewayUnreachableError, NotFoundError } from "./errors.ts";
import { defaultCache, type VerifiedCache } from "./verified_cache.ts";

/** The subset of `fetch` the client calls: a custom one can add auth, logging or a cache. */
export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

/** Options every client call takes. */
export interface ClientOptions {
  /** Aborts every request of the call, and the body of a returned `Response`. */
  signal?: AbortSignal;
  /** Used instead of the global `fetch`. */
  fetch?: FetchLike;
  /** Proven sizes, outboards and collections; a module-wide cache by default. */
  cache?: VerifiedCache;
}

/** What a call needs to talk to one gateway. */
export interface GatewayContext {
  /** The gateway's base URL without a trailing slash. */
  readonly base: string;
  readonly fetch: FetchLike;
  readonly signal: AbortSignal | undefined;
  readonly cache: VerifiedCache;
}

/** Bytes of an error body read for its message; a gateway may not make us read more. */
const MAX_ERROR_BODY = 4096;

export function gatewayContext(gatewayUrl: string | URL, options: ClientOptions): GatewayContext {
  return {
    base: String(gatewayUrl).replace(/\/+$/, ""),
    fetch: options.fetch ?? ((input, init) => fetch(input, init)),
    signal: options.signal,
    cache: options.cache ?? defaultCache,
  };
}

/** A hash as given by a caller: bytes, or its hex or base32 text (`InvalidHashError` if not). */
export function toHash(hash: Hash | string): Hash {
  return typeof hash === "string" ? parseHash(hash) : hash;
}

/** The first bytes of an error body as text, never more than `MAX_ERROR_BODY`. */
async function errorText(res: Response): Promise<string> {
  if (res.body === null) return "";
  const reader = res.body.getReader();
  const parts: Uint8Array[] = [];
  let n = 0;
  try {
    while (n < MAX_ERROR_BODY) {
      const r = await reader.read();
      if (r.done) break;
      parts.push(r.value);
      n += r.value.length;
    }
  } catch {
    // The status already says what went wrong; a broken error body adds nothing.
  } finally {
    reader.cancel().catch(() => {});
  }
  return new TextDecoder().decode(concatBytes(parts).subarray(0, MAX_ERROR_BODY));
}

/** The typed error for a response with an error status. */
async function statusError(res: Response): Promise<GatewayError> {
  const text = await errorText(res);
  let error = res.statusText, detail = text;
  try {
    const body = JSON.parse(text);
    if (typeof body?.error === "string") error = body.error;
    if (typeof body?.detail === "string") detail = body.detail;
  } catch {
    // Not the gateway's JSON (a proxy's page, say): keep the text as the detail.
  }
  return res.status === 404
    ? new NotFoundError(res.status, error, detail)
    : new GatewayError(res.status, error, detail);
}

/** A request under way: its response once it comes, and the way to end it. */
export interface PendingGet {
  /** The response with a success status; throws the typed error otherwise. */
  readonly response: Promise<Response>;
  /**
   * Ends the request: aborts it if it is still under way (its body too, read or not) and
   * detaches from the caller's signal. Harmless once the body has been read to its end.
   */
  close(): void;
}

/** Starts `GET base + path` now; it is read later, or closed unread. */
export function startGet(
  ctx: GatewayContext,
  path: string,
  headers: Record<string, string> = {},
): PendingGet {
  const url = ctx.base + path;
  const controller = new AbortController();
  const signal = ctx.signal;
  const onAbort = () => controller.abort(signal!.reason);
  if (signal?.aborted) controller.abort(signal.reason);
  else signal?.addEventListener("abort", onAbort);
  const close = () => {
    signal?.removeEventListener("abort", onAbort);
    controller.abort();
  };
  const response = (async () => {
    let res: Response;
    try {
      res = await ctx.fetch(url, { headers, signal: controller.signal });
    } catch (e) {
      close();
      if (signal?.aborted) throw signal.reason;
      throw new GatewayUnreachableError(url, e);
    }
    if (!res.ok) {
      const error = await statusError(res);
      close();
      throw error;
    }
    return res;
  })();
  // A request closed unread rejects with the abort; nobody waits for that.
  response.catch(() => {});
  return { response, close };
}
