/** Typed failures of the blob store; the HTTP layer maps them to statuses. */

/** An import went past the configured size limit; nothing of it was kept. */
export class UploadTooLargeError extends Error {
  override name = "UploadTooLargeError";
  constructor(readonly limit: number) {
    super(`the upload exceeds the limit of ${limit} bytes`);
  }
}

/** The blob is not in this store. */
export class BlobNotFoundError extends Error {
  override name = "BlobNotFoundError";
  constructor(readonly hash: string) {
    super(`blob ${hash} is not here`);
  }
}

/**
 * An upload stalled for longer than the store waits (`uploadStaleMs`), and collection reclaimed
 * its pages meanwhile: it cannot be completed, and must be sent again.
 */
export class UploadReclaimedError extends Error {
  override name = "UploadReclaimedError";
  constructor(staleMs: number) {
    super(
      `the upload stalled for longer than ${staleMs / 1000} s and was reclaimed; send it again`,
    );
  }
}

/**
 * An optimistic commit on a blob's records (its pins, its metadata) lost to other writers on
 * every attempt (see `contention.ts`): nothing of it was written; the request can be sent again.
 */
export class BlobContentionError extends Error {
  override name = "BlobContentionError";
}
