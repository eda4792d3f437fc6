/**
 * A file's bytes as an upload sends them, held to the length announced (a tar header's size,
 * the size `put FILE` counts its progress against): a file that grows or shrinks while it is
 * read would otherwise upload as whatever part of it was read, and the gateway would store that
 * prefix under a hash that matches it, so nothing downstream would notice.
 *
 * @module
 */

/** A file whose length changed while it was sent: the upload is void. */
export class FileChangedError extends Error {
  override name = "FileChangedError";
  constructor(readonly path: string, expected: number, got: string) {
    super(`${path} changed while it was being sent (${expected} bytes expected, ${got})`);
  }
}

/**
 * The contents of the file at `path`, which must be exactly `size` bytes long: throws
 * `FileChangedError` at the first byte past `size`, or at the end when fewer arrived.
 */
export async function* sentPieces(path: string, size: number): AsyncGenerator<Uint8Array> {
  let sent = 0;
  // Leaving the loop early cancels `readable`, which closes the file, as reading it to the end
  // does.
  for await (const piece of (await Deno.open(path, { read: true })).readable) {
    sent += piece.length;
    if (sent > size) throw new FileChangedError(path, size, "got more");
    yield piece;
  }
  if (sent < size) throw new FileChangedError(path, size, `got ${sent}`);
}
