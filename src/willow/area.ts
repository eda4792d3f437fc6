/**
 * Areas (willowprotocol.org `grouping_entries.tsx`, "Areas"): a subspace (or any), a path prefix
 * and a time range. Unlike 3dRanges, areas keep their meaning when paths and subspace ids are
 * encrypted, which is why Meadowcap restricts capabilities by area.
 *
 * @module
 */

import { bytesEqual } from "../blake3/hash.ts";
import type { Entry } from "./entry.ts";
import type { SubspaceId } from "./keys.ts";
import { EMPTY_PATH, isPrefixOf, type Path } from "./path.ts";
import {
  ALL_TIMES,
  compareTimes,
  intersectRanges,
  rangeIncludes,
  rangeIncludesRange,
  type TimeRange,
} from "./range.ts";

/** An area's subspace: one subspace, or every subspace. */
export type AreaSubspace = SubspaceId | "any";

export interface Area {
  readonly subspace: AreaSubspace;
  /** Entries whose path has this prefix. */
  readonly path: Path;
  readonly times: TimeRange;
}

/** The full area: every entry. */
export function fullArea(): Area {
  return { subspace: "any", path: EMPTY_PATH, times: ALL_TIMES };
}

/** The subspace area of `subspace`: exactly its entries. */
export function subspaceArea(subspace: SubspaceId): Area {
  return { subspace, path: EMPTY_PATH, times: ALL_TIMES };
}

export function areaSubspacesEqual(a: AreaSubspace, b: AreaSubspace): boolean {
  if (a === "any" || b === "any") return a === b;
  return bytesEqual(a, b);
}

function subspaceIncludes(outer: AreaSubspace, inner: AreaSubspace): boolean {
  return outer === "any" || (inner !== "any" && bytesEqual(outer, inner));
}

/** Whether `area` includes `entry` (the namespace is not part of an area). */
export function areaIncludesEntry(area: Area, entry: Entry): boolean {
  return subspaceIncludes(area.subspace, entry.subspaceId) &&
    isPrefixOf(area.path, entry.path) &&
    rangeIncludes(area.times, entry.timestamp, compareTimes);
}

/** Whether every entry `inner` includes is in `outer` too. */
export function areaIncludesArea(outer: Area, inner: Area): boolean {
  return subspaceIncludes(outer.subspace, inner.subspace) &&
    isPrefixOf(outer.path, inner.path) &&
    rangeIncludesRange(outer.times, inner.times, compareTimes);
}

/** The (non-empty) intersection, or `undefined` when no entry is in both. */
export function intersectAreas(a: Area, b: Area): Area | undefined {
  let subspace: AreaSubspace;
  if (a.subspace === "any") subspace = b.subspace;
  else if (subspaceIncludes(b.subspace, a.subspace)) subspace = a.subspace;
  else return undefined;
  let path: Path;
  if (isPrefixOf(a.path, b.path)) path = b.path;
  else if (isPrefixOf(b.path, a.path)) path = a.path;
  else return undefined;
  const times = intersectRanges(a.times, b.times, compareTimes);
  return times === undefined ? undefined : { subspace, path, times };
}
