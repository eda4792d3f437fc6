/**
 * 3dRanges (willowprotocol.org `grouping_entries.tsx`, "Ranges"): a box in (subspace, path, time)
 * space, the unit that range-based set reconciliation fingerprints and that a store answers
 * queries for. Every area is such a box (`areaToRange3d`); not every box is an area.
 *
 * @module
 */

import type { Area } from "./area.ts";
import type { Entry } from "./entry.ts";
import { PUBLIC_KEY_LENGTH } from "./params.ts";
import { EMPTY_PATH, greaterButNotPrefixed } from "./path.ts";
import {
  ALL_TIMES,
  comparePaths,
  compareSubspaceIds,
  compareTimes,
  intersectRanges,
  type PathRange,
  range,
  rangeIncludes,
  type SubspaceRange,
  subspaceSuccessor,
  type TimeRange,
} from "./range.ts";

export interface Range3d {
  readonly subspaces: SubspaceRange;
  readonly paths: PathRange;
  readonly times: TimeRange;
}

/** The least subspace id: 32 zero bytes. */
export const LEAST_SUBSPACE: Uint8Array = new Uint8Array(PUBLIC_KEY_LENGTH);

/** `full_3d_range(least_subspace)`: every entry. */
export function full3dRange(): Range3d {
  return { subspaces: { start: LEAST_SUBSPACE }, paths: { start: EMPTY_PATH }, times: ALL_TIMES };
}

export function range3dIncludesEntry(r: Range3d, e: Entry): boolean {
  return rangeIncludes(r.subspaces, e.subspaceId, compareSubspaceIds) &&
    rangeIncludes(r.paths, e.path, comparePaths) &&
    rangeIncludes(r.times, e.timestamp, compareTimes);
}

/** The intersection, or `undefined` when it is empty. */
export function intersectRange3d(a: Range3d, b: Range3d): Range3d | undefined {
  const subspaces = intersectRanges(a.subspaces, b.subspaces, compareSubspaceIds);
  const paths = intersectRanges(a.paths, b.paths, comparePaths);
  const times = intersectRanges(a.times, b.times, compareTimes);
  if (subspaces === undefined || paths === undefined || times === undefined) return undefined;
  return { subspaces, paths, times };
}

/**
 * The box of exactly the entries `area` includes: one subspace becomes `[id, id + 1)`, the path
 * prefix `p` becomes `[p, greaterButNotPrefixed(p))` (open when there is no such path).
 */
export function areaToRange3d(area: Area): Range3d {
  const subspaces: SubspaceRange = area.subspace === "any"
    ? { start: LEAST_SUBSPACE }
    : range<Uint8Array>(area.subspace, subspaceSuccessor(area.subspace), compareSubspaceIds);
  return {
    subspaces,
    paths: range(area.path, greaterButNotPrefixed(area.path), comparePaths),
    times: area.times,
  };
}
