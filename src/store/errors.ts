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
