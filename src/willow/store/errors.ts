/**
 * Typed failures of the Willow stores. They carry no HTTP status; the route layer maps them.
 *
 * @module
 */

/** The namespace is not hosted here. */
export class UnknownNamespaceError extends Error {
  override name = "UnknownNamespaceError";
}

/** An entry, capability or read proof that does not grant what it is used for. */
export class NotAuthorisedError extends Error {
  override name = "NotAuthorisedError";
}

/** The gateway holds no capability of its own that covers what was asked. */
export class NoCapabilityError extends Error {
  override name = "NoCapabilityError";
}

/**
 * Secrets cannot be stored or used: no `GATEWAY_SECRET_KEY` is configured, or it is not the key
 * the secrets were sealed with.
 */
export class SecretsUnavailableError extends Error {
  override name = "SecretsUnavailableError";
}

/** A payload that is not the one the entry names (other digest or length). */
export class PayloadMismatchError extends Error {
  override name = "PayloadMismatchError";
}

/**
 * A write at a path where a stored entry (at it or at a prefix) has the greatest timestamp: no
 * entry there can be newer.
 */
export class NoLaterTimestampError extends Error {
  override name = "NoLaterTimestampError";
}

/** A valid entry whose path is too long for a Deno KV key (see `MAX_PATH_KEY`). */
export class UnstorablePathError extends Error {
  override name = "UnstorablePathError";
}

/** Optimistic commits kept conflicting with other writers. */
export class StoreContentionError extends Error {
  override name = "StoreContentionError";
}
