/**
 * The collection a directory on disk makes, named exactly as sendme names it (sendme
 * `src/main.rs` `import` and `canonicalized_path_to_string`), so that `bao collection DIR`, a
 * `sendme send DIR`, a `tar -cf - DIR` uploaded to `POST /collections`, and a form upload with
 * the same names all give the same hash:
 *
 * - DIR is resolved to its real path first, and names are relative to its parent, so every name
 *   starts with DIR's own name (`photos/2024/a.jpg`); a single FILE is one entry, its name;
 * - only regular files count: symbolic links are neither followed nor listed (sendme walks with
 *   `follow_links` off and skips them), and empty directories leave no trace;
 * - names join path segments with `/` and are sorted by their UTF-8 bytes (`Collection.create`).
 *
 * @module
 */

import { Hasher } from "../blake3/hasher.ts";
import { Collection, type CollectionEntry } from "./collection.ts";

/** A regular file found under the directory, with its collection name. */
export interface DirectoryFile {
  readonly name: string;
  readonly path: string;
}

/** The regular files under `path` (or `path` itself, if a file) with sendme's names. */
export async function directoryFiles(path: string): Promise<DirectoryFile[]> {
  const real = await Deno.realPath(path);
  const top = real.slice(real.lastIndexOf("/") + 1);
  const info = await Deno.stat(real);
  if (info.isFile) return [{ name: top, path: real }];
  if (!info.isDirectory) {
    throw new Deno.errors.NotFound(`${path} is neither a file nor a directory`);
  }
  const out: DirectoryFile[] = [];
  const walk = async (dir: string, name: string) => {
    for await (const entry of Deno.readDir(dir)) {
      const child = `${dir}/${entry.name}`, childName = `${name}/${entry.name}`;
      if (entry.isFile) out.push({ name: childName, path: child });
      else if (entry.isDirectory) await walk(child, childName);
    }
  };
  await walk(real, top);
  return out;
}

/** The collection of `path`'s files (hashing each, storing nothing). */
export async function directoryCollection(path: string): Promise<Collection> {
  const entries: CollectionEntry[] = [];
  for (const file of await directoryFiles(path)) {
    const hasher = new Hasher();
    // Reading `readable` to its end (or abandoning it) closes the file.
    const handle = await Deno.open(file.path, { read: true });
    for await (const piece of handle.readable) hasher.update(piece);
    entries.push({ name: file.name, hash: hasher.finalize() });
  }
  return Collection.create(entries);
}
