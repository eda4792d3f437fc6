/**
 * Areas of interest (willowprotocol.org `grouping_entries.tsx`, "Areas of Interest"): an area
 * plus limits on how many of its newest entries, and how many of their payload bytes, a peer
 * wants.
 *
 * "No limit" is 2^64 − 1 for both limits, as the spec's formal definition says (one field comment
 * there still says 0 for `max_count`, as the 2024 spec and iroh-willow did; the formal text
 * wins). "Newest" is the newer-than order of `entry.ts`, and the limits count the entries of the
 * store inside the area (the spec says "of the store", which would make areas of interest on
 * disjoint areas compete for one budget; counting within the area is the evident intent).
 *
 * @module
 */

import { type Area, intersectAreas } from "./area.ts";
import { compareNewer, type Entry } from "./entry.ts";
import { InvalidWillowValueError } from "./errors.ts";
import { U64_MAX } from "./params.ts";

/** Marks a limit as absent. */
export const NO_LIMIT = U64_MAX;

export interface AreaOfInterest {
  readonly area: Area;
  /** At most this many newest entries (`NO_LIMIT` for all). */
  readonly maxCount: bigint;
  /** The included entries' payload lengths add up to at most this (`NO_LIMIT` for any). */
  readonly maxSize: bigint;
}

/** An area of interest with checked u64 limits, unlimited by default. */
export function areaOfInterest(
  area: Area,
  maxCount = NO_LIMIT,
  maxSize = NO_LIMIT,
): AreaOfInterest {
  for (const v of [maxCount, maxSize]) {
    if (v < 0n || v > U64_MAX) throw new InvalidWillowValueError("limits are u64");
  }
  return { area, maxCount, maxSize };
}

/** The intersection: the areas' intersection and the smaller limits; `undefined` if empty. */
export function intersectAreasOfInterest(
  a: AreaOfInterest,
  b: AreaOfInterest,
): AreaOfInterest | undefined {
  const area = intersectAreas(a.area, b.area);
  if (area === undefined) return undefined;
  return {
    area,
    maxCount: a.maxCount < b.maxCount ? a.maxCount : b.maxCount,
    maxSize: a.maxSize < b.maxSize ? a.maxSize : b.maxSize,
  };
}

/**
 * The entries the limits admit, given all entries of a store inside `aoi.area` (any order): the
 * newest ones, while both the count and the running total of payload lengths (from the newest
 * on) stay within the limits. Entries equal in the newer-than order are taken in input order.
 */
export function applyLimits(aoi: AreaOfInterest, entriesInArea: readonly Entry[]): Entry[] {
  const newestFirst = [...entriesInArea].sort((a, b) => compareNewer(b, a));
  const out: Entry[] = [];
  let size = 0n;
  for (const e of newestFirst) {
    if (aoi.maxCount !== NO_LIMIT && BigInt(out.length) >= aoi.maxCount) break;
    size += e.payloadLength;
    if (aoi.maxSize !== NO_LIMIT && size > aoi.maxSize) break;
    out.push(e);
  }
  return out;
}
