/**
 * Verified downloads into files for `gateway get`, resumable: what an earlier, interrupted run
 * left in `OUT.part` is checked against the blob's verified outboard 16 KiB group by group, the
 * verified prefix is kept, and only the rest is fetched, verified as it streams. A file that
 * was cut short, or whose kept part was damaged since, costs at most one group more than the
 * bytes that are actually missing or wrong; a complete file costs only the outboard. Where the
 * bytes go, and what is never overwritten, is output.ts's.
 *
 * @module
 */

import { type Hash, parseHash, toHex } from "../src/blake3/hash.ts";
import { type BaoSource, verifiedSteps } from "../src/bao/encode.ts";
import { HashMismatchError } from "../src/bao/errors.ts";
import type { MemOutboard } from "../src/bao/outboard.ts";
import { ChunkRanges } from "../src/ranges/chunk_ranges.ts";
import {
  type ClientOptions,
  type GatewayContext,
  gatewayContext,
  listCollection,
  NotFoundError,
  provenSize,
  startGet,
  verifiedFetch,
  verifiedOutboard,
} from "../src/client/mod.ts";
import { readAt, writeAll } from "./io.ts";
import { finishPlacement, openPlacement, placeOutput } from "./output.ts";
import type { ProgressLine } from "./progress.ts";

/** Where and how to fetch. */
export interface Source {
  readonly gateway: string;
  readonly client: ClientOptions;
  readonly via: "bao" | "outboard";
}

/** What one file's download did. */
export interface Downloaded {
  readonly size: number;
  /** Bytes already in the file that verified and were kept. */
  readonly kept: number;
}

/** The verified outboard of `hash` (a blob of proven `size`), from the cache or the gateway. */
async function outboardOf(ctx: GatewayContext, hash: Hash, size: number): Promise<MemOutboard> {
  const hex = toHex(hash);
  return ctx.cache.outboards.get(hex) ??
    await verifiedOutboard(ctx, hash, size, startGet(ctx, `/blobs/${hex}/outboard`));
}

/**
 * How many leading bytes of the file at `path` are the blob's own: whole groups that verify
 * against the outboard, up to the first that does not (or the blob's size, if all of it does).
 */
async function verifiedPrefix(path: string, outboard: MemOutboard): Promise<number> {
  const tree = outboard.tree;
  const file = await Deno.open(path, { read: true });
  try {
    const length = (await file.stat()).size;
    // A trailing part group cannot be checked: it is fetched again.
    const end = length >= tree.size ? tree.size : length - length % tree.groupBytes;
    if (end === 0) return 0;
    const source: BaoSource = {
      tree,
      root: outboard.root,
      loadPair: (node) => outboard.loadPair(node),
      readData: (a, b) => readAt(file, a, b),
    };
    let kept = 0;
    try {
      for await (const step of verifiedSteps(source, ChunkRanges.fromBytes(0, end))) {
        if (step.type === "group") kept = tree.byteRange(step.item.start, step.item.end)[1];
      }
    } catch (e) {
      if (!(e instanceof HashMismatchError)) throw e;
    }
    return kept;
  } finally {
    file.close();
  }
}

/** Bytes of the file at `path`, 0 when there is none. */
async function lengthOf(path: string): Promise<number> {
  try {
    return (await Deno.stat(path)).size;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return 0;
    throw e;
  }
}

/** What the download of one file is told. */
export interface DownloadOptions {
  /** Replace a file at the path that is not the blob (`--force`). */
  readonly force: boolean;
  /** Bytes already done before this file, for `progress`. */
  readonly base?: number;
}

/**
 * Makes the file at `path` hold the blob `hash`, placed as output.ts says: nothing is fetched if
 * it holds the blob already; otherwise what verifies of `path.part` is kept and the rest fetched
 * verified into it, then it becomes `path`. `progress` counts kept bytes as done. A verification
 * failure while fetching leaves the verified bytes before it in `path.part`, for the next run.
 */
export async function downloadBlob(
  source: Source,
  hash: Hash,
  path: string,
  progress: ProgressLine,
  options: DownloadOptions,
): Promise<Downloaded> {
  const base = options.base ?? 0;
  const placement = await placeOutput(path, options.force, hash);
  if (placement.kind === "present") {
    progress.update(base + placement.size);
    return { size: placement.size, kept: placement.size };
  }
  const ctx = gatewayContext(source.gateway, source.client);
  const size = await provenSize(ctx, hash);
  // One blob alone: its size is the whole (a collection's line counts all of its files).
  if (options.base === undefined) progress.total = size;
  let kept = 0;
  if (placement.kind === "part" && await lengthOf(placement.part) > 0) {
    try {
      kept = await verifiedPrefix(placement.part, await outboardOf(ctx, hash, size));
    } catch (e) {
      // A gateway that reaches the blob only through peers has no outboard to give: start over.
      if (!(e instanceof NotFoundError)) throw e;
    }
  }
  progress.update(base + kept);
  const file = await openPlacement(path, placement, false);
  try {
    if (placement.kind === "part") await file.truncate(kept);
    if (kept < size) {
      const res = await verifiedFetch(source.gateway, hash, {
        ...source.client,
        via: source.via,
        range: kept === 0 ? undefined : { start: kept },
        onProgress: (p) => progress.update(base + kept + p.verified),
      });
      if (placement.kind === "part") await file.seek(kept, Deno.SeekMode.Start);
      for await (const piece of res.body!) await writeAll(file, piece);
    }
  } finally {
    file.close();
  }
  await finishPlacement(placement);
  return { size, kept };
}

/** The path of a collection entry under `dir`; names are validated by `Collection.decode`. */
function entryPath(dir: string, name: string): string {
  return `${dir.replace(/\/+$/, "")}/${name}`;
}

/**
 * Where a collection goes without `-o`: `.` when its names share a first folder of their own
 * (sendme names every entry `dir/...`, after the folder it sent), else a new folder named by
 * its hash, so that its entries do not land among the user's own names (a `.git/...`, a file
 * of the same name) in whatever folder the command runs in.
 */
function defaultFolder(names: readonly string[], hash: Hash): string {
  const firsts = new Set(names.map((name) => name.split("/")[0]));
  const [first] = firsts;
  return firsts.size === 1 && !first.startsWith(".") ? "." : toHex(hash);
}

/**
 * Every file of the collection `hash` under `dir` (or its default folder), by its collection
 * name, each placed and resumed like `downloadBlob`. Returns the folder, the files and bytes.
 */
export async function downloadCollection(
  source: Source,
  hash: Hash,
  dir: string | undefined,
  progress: ProgressLine,
  force: boolean,
): Promise<{ dir: string; files: number; size: number; kept: number }> {
  const listing = await listCollection(source.gateway, hash, source.client);
  progress.total = listing.totalSize;
  const into = dir ?? defaultFolder(listing.entries.map((e) => e.name), hash);
  // An empty collection is still a folder, as asked.
  await Deno.mkdir(into, { recursive: true });
  let done = 0, kept = 0;
  // In name order, so that an entry `x` is written (through `x.part`) and renamed before an
  // entry named `x.part` is: the other way round, `x` would take that file for its own leftover.
  const ordered = listing.entries.toSorted((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : 0
  );
  for (const entry of ordered) {
    const path = entryPath(into, entry.name);
    await Deno.mkdir(path.slice(0, path.lastIndexOf("/")) || "/", { recursive: true });
    const result = await downloadBlob(source, parseHash(entry.hash), path, progress, {
      force,
      base: done,
    });
    done += result.size;
    kept += result.kept;
  }
  return { dir: into, files: listing.entries.length, size: done, kept };
}
