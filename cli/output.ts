/**
 * Where `gateway get` puts a download, so that it never replaces a file it did not write: entry
 * names come from whoever made the collection, so an entry named `.git/hooks/pre-commit` must
 * not land on the user's own hook (which, executable, would keep its mode and run the stranger's
 * bytes). A download goes to `OUT.part` and is renamed to OUT once complete and verified, so a
 * new file gets fresh default permissions and OUT is never seen half written. An OUT already
 * there is left alone unless it is the blob already, or `--force` says to replace it. A device or
 * a pipe (`/dev/null`, `/dev/stdout`) is neither a file to protect nor one to rename onto: it is
 * written directly.
 *
 * @module
 */

import { type Hash, toHex } from "../src/blake3/hash.ts";
import { Hasher } from "../src/blake3/hasher.ts";

/** OUT is there and may not be replaced (the CLI exits 6, local). */
export class OutputExistsError extends Error {
  override name = "OutputExistsError";
  constructor(readonly path: string, why: string) {
    super(`${path} ${why}`);
  }
}

/** How a download reaches OUT. */
export type Placement =
  /** OUT holds the blob already: nothing to fetch. */
  | { readonly kind: "present"; readonly size: number }
  /** A device or a pipe: written as it is, never truncated, resumed or renamed. */
  | { readonly kind: "direct" }
  /**
   * Written to `part` (resumed from what it holds), then renamed to `target`: OUT, or the file
   * a symbolic link at OUT names (the link stays a link).
   */
  | { readonly kind: "part"; readonly part: string; readonly target: string };

/** A placement that takes bytes. */
export type Writing = Exclude<Placement, { kind: "present" }>;

async function orNone<T>(look: () => Promise<T>): Promise<T | undefined> {
  try {
    return await look();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}

/**
 * Where OUT's bytes really go: OUT, or the path a symbolic link there resolves to (so that
 * `--force` replaces the file the link names, never the link; a link to nothing is refused).
 */
async function resolved(path: string): Promise<string> {
  const link = await orNone(() => Deno.lstat(path));
  if (!link?.isSymlink) return path;
  const target = await orNone(() => Deno.realPath(path));
  if (target === undefined) throw new OutputExistsError(path, "is a symbolic link to nothing");
  return target;
}

/** Whether the file at `path` hashes to `hash`: read and hashed here, nothing fetched. */
async function holds(path: string, hash: Hash): Promise<boolean> {
  const hasher = new Hasher();
  // Reading `readable` to its end closes the file.
  for await (const piece of (await Deno.open(path, { read: true })).readable) hasher.update(piece);
  return toHex(hasher.finalize()) === toHex(hash);
}

/**
 * How to write the blob `blob` to `path`, or, without `blob`, a range of one (which no file
 * there can already be). Throws `OutputExistsError` for a directory, and for a regular file that
 * is not the blob unless `force`.
 */
export function placeOutput(path: string, force: boolean): Promise<Writing>;
export function placeOutput(path: string, force: boolean, blob: Hash): Promise<Placement>;
export async function placeOutput(path: string, force: boolean, blob?: Hash): Promise<Placement> {
  const target = await resolved(path);
  const info = await orNone(() => Deno.stat(target));
  const part = { kind: "part", part: `${target}.part`, target } as const;
  // A `.part` that is a link or a device is not one this tool left: writing would go through it.
  const partInfo = await orNone(() => Deno.lstat(part.part));
  if (partInfo !== undefined && !partInfo.isFile) {
    throw new OutputExistsError(
      part.part,
      "is not a regular file (this tool writes its downloads there)",
    );
  }
  if (info === undefined) return part;
  if (info.isDirectory) throw new OutputExistsError(path, "is a directory");
  if (!info.isFile) return { kind: "direct" };
  if (blob !== undefined && await holds(path, blob)) return { kind: "present", size: info.size };
  if (force) return part;
  throw new OutputExistsError(
    path,
    `already exists${blob === undefined ? "" : " and is not this blob"} (--force replaces it)`,
  );
}

/**
 * Opens where a placement's bytes go: the device itself, or its `.part`, emptied when `fresh`
 * (kept for a resumed download).
 */
export async function openPlacement(
  path: string,
  placement: Writing,
  fresh: boolean,
): Promise<Deno.FsFile> {
  if (placement.kind === "direct") return await Deno.open(path, { write: true });
  return await Deno.open(placement.part, { write: true, create: true, truncate: fresh });
}

/** Puts a written placement at `path`: a `.part`, complete and verified, becomes OUT. */
export async function finishPlacement(placement: Writing): Promise<void> {
  if (placement.kind === "part") await Deno.rename(placement.part, placement.target);
}
