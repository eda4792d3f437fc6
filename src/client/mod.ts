/**
 * The verifying client: blobs and collections from a gateway, every byte checked against its
 * BLAKE3 hash before it is handed out. Runs in Deno and in browsers (standard `fetch`,
 * streams and WebAssembly only). See verified_fetch.ts for the paths and what is proven.
 *
 * @module
 */

export { fetchVerified, verifiedFetch } from "./verified_fetch.ts";
export type { ByteSpan, FetchOptions, Progress } from "./verified_fetch.ts";
export { fetchEntry, listCollection } from "./collection.ts";
export type { CollectionListing, ListedEntry, ListOptions } from "./collection.ts";
export type { ClientOptions, FetchLike, GatewayContext } from "./gateway_request.ts";
// Lower-level pieces for tools that manage files themselves (the CLI's resumable downloads).
export { gatewayContext, startGet } from "./gateway_request.ts";
export { verifiedOutboard } from "./outboard_fetch.ts";
export { provenSize } from "./size_proof.ts";
export { defaultCache, VerifiedCache } from "./verified_cache.ts";
export type { VerifiedCacheLimits } from "./verified_cache.ts";
export {
  ClientError,
  CorruptDataError,
  EntryNotFoundError,
  GatewayError,
  GatewayUnreachableError,
  InvalidRangeError,
  MalformedResponseError,
  NotACollectionError,
  NotFoundError,
  RangeNotSatisfiableError,
  SizeMismatchError,
  TruncatedResponseError,
  VerificationError,
} from "./errors.ts";
