/**
 * The exit statuses and one-line messages of `gateway` (cli/gateway.ts), which scripts rely on:
 * each failure a caller would handle differently has its own status, and the message names it.
 *
 * | status | meaning |
 * |---|---|
 * | 0 | success |
 * | 1 | verification failed: the gateway's bytes do not prove the hash (nothing unproven was written) |
 * | 2 | usage: bad arguments, a malformed hash or URL, a range outside the blob |
 * | 3 | not found: the gateway has no such blob, collection or entry (or the hash is not a collection) |
 * | 4 | network: the gateway cannot be reached, cut the response short, answered another error, or other than its JSON |
 * | 5 | auth: the gateway refused the write (401 no token, 403 wrong token) |
 * | 6 | local: a file could not be read or written, changed while it was sent, has a name no collection can hold, or is in the way of a download (`--force` replaces it) |
 * | 70 | internal error: a bug of the tool, please report it |
 *
 * @module
 */

import { InvalidHashError } from "../src/blake3/hash.ts";
import {
  EntryNotFoundError,
  GatewayError,
  GatewayUnreachableError,
  InvalidRangeError,
  NotACollectionError,
  NotFoundError,
  RangeNotSatisfiableError,
  TruncatedResponseError,
  VerificationError,
} from "../src/client/mod.ts";
import { UsageError } from "./args.ts";
import { idleTimeoutOf } from "./idle_timeout.ts";
import { OutputExistsError } from "./output.ts";
import { FileChangedError } from "./sent_file.ts";

export const EXIT = {
  ok: 0,
  verification: 1,
  usage: 2,
  notFound: 3,
  network: 4,
  auth: 5,
  local: 6,
  internal: 70,
} as const;

/** The gateway stored something other than what was sent (its hash differs from ours). */
export class UploadMismatchError extends VerificationError {
  override name = "UploadMismatchError";
}

/**
 * A file under a directory being uploaded has a name no collection can hold (a backslash, …):
 * the gateway would refuse it only once all the files before it were sent. A local problem,
 * the file's name, so exit 6, not a usage error: the command was called right.
 */
export class UnsendableNameError extends Error {
  override name = "UnsendableNameError";
}

/** The status and the message (without the `gateway <command>:` prefix) for a failure. */
export function failure(e: unknown): { code: number; message: string } | undefined {
  // A stall is a network failure however deep it surfaced (a body read, a cut response).
  const stall = idleTimeoutOf(e);
  if (stall !== undefined) return { code: EXIT.network, message: `timed out: ${stall.message}` };
  if (e instanceof InvalidHashError) {
    return { code: EXIT.usage, message: `invalid hash: ${e.message}` };
  }
  if (
    e instanceof UsageError || e instanceof InvalidRangeError ||
    e instanceof RangeNotSatisfiableError
  ) {
    return { code: EXIT.usage, message: e.message };
  }
  if (e instanceof VerificationError) {
    return { code: EXIT.verification, message: `verification failed: ${e.message}` };
  }
  if (e instanceof NotFoundError) return { code: EXIT.notFound, message: `not found: ${e.detail}` };
  if (e instanceof EntryNotFoundError || e instanceof NotACollectionError) {
    return { code: EXIT.notFound, message: `not found: ${e.message}` };
  }
  if (e instanceof GatewayError && e.status === 401) {
    return {
      code: EXIT.auth,
      message: "unauthorized: the gateway needs a token (--token or GATEWAY_TOKEN)",
    };
  }
  if (e instanceof GatewayError && e.status === 403) {
    return { code: EXIT.auth, message: `forbidden: the gateway refused (${e.detail || e.error})` };
  }
  if (e instanceof GatewayUnreachableError) {
    const cause = e.cause instanceof Error ? e.cause.message : String(e.cause);
    return { code: EXIT.network, message: `unreachable: ${new URL(e.url).origin}: ${cause}` };
  }
  if (e instanceof GatewayError) {
    return { code: EXIT.network, message: `gateway error: ${e.message}` };
  }
  if (e instanceof TruncatedResponseError) {
    return { code: EXIT.network, message: `cut short: ${e.message}` };
  }
  if (
    e instanceof FileChangedError || e instanceof OutputExistsError ||
    e instanceof UnsendableNameError || isFileSystemError(e)
  ) {
    return { code: EXIT.local, message: (e as Error).message };
  }
  return undefined;
}

/** One of Deno's file system errors (not found, permission denied, is a directory, …). */
function isFileSystemError(e: unknown): boolean {
  if (Object.values(Deno.errors).some((type) => e instanceof type)) return true;
  // Failures Deno has no class for (no space left, a name too long) carry the OS error number.
  return e instanceof Error && /\(os error \d+\)/.test(e.message);
}
