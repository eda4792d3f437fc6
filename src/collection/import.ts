/**
 * Storing an uploaded collection (GATEWAY.md `POST /collections`): the files of a tar or
 * `multipart/form-data` body go into the store as they arrive, each streamed (none is held
 * whole), then the meta blob and the hash seq that make them a collection
 * (IB `src/format/collection.rs`), as sendme builds one from a directory.
 *
 * Keeping it all alive: while the upload runs, each stored file is pinned by a store lease that a
 * timer renews, so that garbage collection leaves it alone until the collection exists, and a
 * failure (a bad name, a malformed body, a client that goes away, a process that dies) leaves
 * nothing pinned: the lease is released, or expires. Once the hash seq is stored, the collection
 * holds its meta blob and children under the hash seq's holder, the hash seq takes the user's pin,
 * and only then is the lease let go. Deleting the collection's user pin later releases the lot.
 *
 * @module
 */

import { type Hash, toHex } from "../blake3/hash.ts";
import { UploadTooLargeError } from "../store/errors.ts";
import { blobHolder, type BlobStore, USER_PIN } from "../store/blob_store.ts";
import { keepAlive } from "../store/lease_keeper.ts";
import { type ArchiveEntry, ArchiveError } from "./archive_entry.ts";
import {
  Collection,
  COLLECTION_HEADER,
  InvalidCollectionError,
  validateName,
} from "./collection.ts";
import { formDataBoundary, readFormData } from "./form_data.ts";
import { readTar } from "./tar.ts";
import { mapLimited } from "./concurrency.ts";
import { MAX_META_SIZE } from "./stored.ts";

const utf8 = new TextEncoder();

/** Most files one upload may hold: the meta blob and hash seq are built in memory. */
export const MAX_FILES = 100_000;

/** Pins taken at once when the collection takes hold of its children. */
const PIN_CONCURRENCY = 16;

/** File imports finishing their commits while the next file is read. */
const IMPORT_CONCURRENCY = 16;

/** An upload body whose `Content-Type` is neither `multipart/form-data` nor tar. */
export class UnsupportedArchiveTypeError extends Error {
  override name = "UnsupportedArchiveTypeError";
  constructor(readonly contentType: string | null) {
    super(
      `a collection is uploaded as multipart/form-data or application/x-tar, got ${
        contentType === null ? "no Content-Type" : JSON.stringify(contentType.slice(0, 100))
      }`,
    );
  }
}

/**
 * An upload whose names would make a meta blob larger than the gateway reads back
 * (`MAX_META_SIZE`, or the limit given): stored, it would answer 400 on every read.
 */
export class NamesTooLargeError extends Error {
  override name = "NamesTooLargeError";
  constructor(readonly limit: number) {
    super(`a collection's names take at most ${limit} bytes in its meta blob`);
  }
}

/** An upload with more files than `MAX_FILES` (or the limit given). */
export class TooManyFilesError extends Error {
  override name = "TooManyFilesError";
  constructor(readonly limit: number) {
    super(`a collection upload holds at most ${limit} files`);
  }
}

/**
 * The files of an upload body of type `contentType`, reading at most `maxSize` bytes of it
 * (beyond: `UploadTooLargeError`). Throws `UnsupportedArchiveTypeError` for another type, and
 * `MalformedFormDataError` for a form without a valid boundary, before reading anything.
 */
export function archiveEntries(
  contentType: string | null,
  body: AsyncIterable<Uint8Array>,
  maxSize = Infinity,
): AsyncIterable<ArchiveEntry> {
  const essence = contentType?.split(";")[0].trim().toLowerCase();
  const limited = limitSize(body, maxSize);
  if (essence === "multipart/form-data") {
    return readFormData(limited, formDataBoundary(contentType!));
  }
  if (essence === "application/x-tar" || essence === "application/tar") return readTar(limited);
  throw new UnsupportedArchiveTypeError(contentType);
}

async function* limitSize(
  body: AsyncIterable<Uint8Array>,
  maxSize: number,
): AsyncGenerator<Uint8Array> {
  let size = 0;
  for await (const piece of body) {
    size += piece.length;
    if (size > maxSize) throw new UploadTooLargeError(maxSize);
    yield piece;
  }
}

export interface StoredEntry {
  readonly name: string;
  readonly hash: Hash;
  readonly size: number;
}

export interface ImportedCollection {
  readonly collection: Collection;
  /** The files in collection order, with their sizes. */
  readonly entries: readonly StoredEntry[];
  /** False when the hash seq was already stored (the same collection uploaded before). */
  readonly created: boolean;
  /** Bytes of file data taken in. */
  readonly bytes: number;
}

export interface CollectionImportOptions {
  /** Most files accepted (default `MAX_FILES`); beyond, `TooManyFilesError`. */
  readonly maxFiles?: number;
  /** Largest meta blob (default `MAX_META_SIZE`); beyond, `NamesTooLargeError`. */
  readonly maxMetaSize?: number;
}

/**
 * Stores the files of `entries` and the collection they make, pinned by the user. Names are
 * validated as they arrive (`InvalidCollectionError` before a bad name's data is read); a hard
 * link must name an earlier file (`ArchiveError`). On any failure nothing stays pinned.
 */
export async function importCollection(
  store: BlobStore,
  entries: AsyncIterable<ArchiveEntry>,
  options: CollectionImportOptions = {},
): Promise<ImportedCollection> {
  const lease = await store.lease();
  const keeper = keepAlive(lease, store.timings.heartbeatMs);
  /** What the lease pins, by hex hash. */
  const leased = new Map<string, Hash>();
  const importPinned = async (bytes: Uint8Array) => {
    const result = await store.import(ReadableStream.from([bytes]), { pin: lease.holder });
    leased.set(toHex(result.hash), result.hash);
    return result;
  };
  try {
    const limits = {
      files: options.maxFiles ?? MAX_FILES,
      metaSize: options.maxMetaSize ?? MAX_META_SIZE,
    };
    const stored = await importFiles(store, entries, lease.holder, limits, leased);
    keeper.check();
    const collection = Collection.create(stored.values());
    await importPinned(collection.meta);
    const hashSeq = await importPinned(collection.hashSeq.bytes);
    keeper.check();
    const holder = blobHolder(collection.hash);
    // The meta blob and every child, each once (two names may share contents).
    const held = new Map([...collection.hashSeq].map((h) => [toHex(h), h]));
    await mapLimited([...held.values()], PIN_CONCURRENCY, async (hash) => {
      if (!(await store.pin(hash, holder))) {
        throw new Error(`blob ${toHex(hash)} vanished while its lease held it`);
      }
    });
    await store.pin(collection.hash, USER_PIN);
    // Discovery then reports the children's availability with the collection's.
    await store.markHashSeq(collection.hash);
    const files = collection.entries.map((e) => stored.get(e.name)!);
    return {
      collection,
      entries: files,
      created: hashSeq.created,
      bytes: [...new Set(files.map((f) => f.file))].reduce((n, f) => n + f.size, 0),
    };
  } finally {
    await keeper.stop();
    // The pins the lease took, released many at a time; then the lease itself, which sweeps up
    // anything left. Should this fail, the lease expires and garbage collection releases it.
    await mapLimited([...leased.values()], PIN_CONCURRENCY, (h) => store.unpin(h, lease.holder))
      .then(() => lease.release())
      .catch(() => {});
  }
}

interface ImportedFile extends StoredEntry {
  /** The entry whose data this is (itself, or a hard link's target), to count bytes once. */
  readonly file: StoredEntry;
}

/**
 * Imports every file of `entries` pinned by `holder`, by name. A file's body is read before the
 * next entry is taken (the stream is one), but its import then finishes its commits while the
 * next body arrives, up to `IMPORT_CONCURRENCY` at once: each import's last commits cost more
 * than reading a small file. Every import has settled when this returns or throws, so none can
 * pin anything under `holder` after its release; each that did is added to `pinned`.
 */
async function importFiles(
  store: BlobStore,
  entries: AsyncIterable<ArchiveEntry>,
  holder: string,
  limits: { files: number; metaSize: number },
  pinned: Map<string, Hash>,
): Promise<Map<string, ImportedFile>> {
  const imports = new Map<string, Promise<ImportedFile>>();
  const running = new Set<Promise<unknown>>();
  let failure: unknown;
  // The meta blob's size as names arrive: its header and count, then each name with its
  // length (a postcard varint of at most 5 bytes here), counted high.
  let metaSize = COLLECTION_HEADER.length + 5;
  try {
    for await (const entry of entries) {
      if (failure !== undefined) throw failure;
      const name = entry.name;
      validateName(name);
      if (imports.has(name)) {
        throw new InvalidCollectionError(`collection name "${name}" is repeated`);
      }
      if (imports.size >= limits.files) throw new TooManyFilesError(limits.files);
      metaSize += 5 + utf8.encode(name).length;
      if (metaSize > limits.metaSize) throw new NamesTooLargeError(limits.metaSize);
      if (entry.type === "link") {
        const target = imports.get(entry.target);
        if (target === undefined) {
          throw new ArchiveError(
            `hard link "${name}" names "${entry.target}", not an earlier file`,
          );
        }
        const { file } = await target;
        imports.set(name, Promise.resolve({ ...file, name, file }));
        continue;
      }
      const read = Promise.withResolvers<void>();
      const importing = store.import(signalEnd(entry.body, read.resolve), { pin: holder })
        .then(({ hash, size }) => {
          pinned.set(toHex(hash), hash);
          const file = { name, hash, size };
          return { ...file, file };
        });
      imports.set(name, importing);
      running.add(importing);
      importing.then(() => running.delete(importing), (e) => {
        running.delete(importing);
        failure ??= e;
      });
      await Promise.race([read.promise, importing]);
      while (running.size >= IMPORT_CONCURRENCY) await Promise.race(running);
    }
    const files = await Promise.all(imports.values());
    return new Map(files.map((f) => [f.name, f]));
  } finally {
    await Promise.allSettled(imports.values());
  }
}

/**
 * `body`, calling `onEnd` once the consumer has read all of it. A body that fails does not call
 * it: the import then fails with that error, which must win over anything the archive reader
 * would say about a stream that has stopped.
 */
async function* signalEnd(
  body: AsyncIterable<Uint8Array>,
  onEnd: () => void,
): AsyncGenerator<Uint8Array> {
  yield* body;
  onEnd();
}
