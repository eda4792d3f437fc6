/**
 * What the upload readers (tar, `multipart/form-data`) produce: the files of an archive one at a
 * time, each with its name and a stream of its bytes, so that a collection is imported without
 * holding any file whole.
 *
 * @module
 */

/** A file: `body` must be read (or abandoned) before the next entry is asked for. */
export interface ArchiveFile {
  readonly type: "file";
  /** The name as the archive gives it; the importer validates it. */
  readonly name: string;
  readonly body: AsyncIterable<Uint8Array>;
}

/** A tar hard link: another name for the contents of an earlier file of the same archive. */
export interface ArchiveLink {
  readonly type: "link";
  readonly name: string;
  readonly target: string;
}

export type ArchiveEntry = ArchiveFile | ArchiveLink;

/** An upload body that breaks its format; the reader stops at the first problem. */
export class ArchiveError extends Error {
  override name = "ArchiveError";
}
