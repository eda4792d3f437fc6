/**
 * The data model around entries: the newer-than order, prefix pruning and the ingest predicates
 * (checked against the spec's join on random small stores), areas, 3dRanges and their agreement,
 * areas of interest, and the TAI timestamps.
 */
import { assert, assertEquals, assertThrows } from "./assert.ts";
import { randomInt, seededRandom } from "./random.ts";
import { asHash } from "../src/blake3/hash.ts";
import {
  type Area,
  areaIncludesArea,
  areaIncludesEntry,
  fullArea,
  intersectAreas,
  subspaceArea,
} from "../src/willow/area.ts";
import {
  applyLimits,
  areaOfInterest,
  intersectAreasOfInterest,
  NO_LIMIT,
} from "../src/willow/area_of_interest.ts";
import {
  compareNewer,
  entriesEqual,
  type Entry,
  isNewer,
  isObsoletedBy,
  makeEntry,
  prunes,
} from "../src/willow/entry.ts";
import { InvalidWillowValueError } from "../src/willow/errors.ts";
import type { PublicKey } from "../src/willow/keys.ts";
import { EMPTY_PATH, isPrefixOf, pathFromStrings } from "../src/willow/path.ts";
import {
  compareSubspaceIds,
  rangeIncludes,
  subspaceSuccessor,
  timeRange,
  timestampSuccessor,
} from "../src/willow/range.ts";
import { U64_MAX } from "../src/willow/params.ts";
import {
  areaToRange3d,
  full3dRange,
  intersectRange3d,
  range3dIncludesEntry,
} from "../src/willow/range3d.ts";
import {
  J2000_UNIX_MILLIS,
  now,
  timestampFromUnixMillis,
  unixMillisFromTimestamp,
} from "../src/willow/time.ts";

type Rand = () => number;

/** Two namespaces and subspaces whose bytes differ only in the last byte (ids need not be points here). */
const ids = [1, 2].map((b) => {
  const k = new Uint8Array(32);
  k[31] = b;
  return k as PublicKey;
});

function entry(rand: Rand): Entry {
  const names = ["a", "b"];
  const path = Array.from({ length: randomInt(rand, 0, 3) }, () => names[randomInt(rand, 0, 1)]);
  return makeEntry({
    namespaceId: ids[0],
    subspaceId: ids[randomInt(rand, 0, 1)],
    path: pathFromStrings(...path),
    timestamp: BigInt(randomInt(rand, 0, 3)),
    payloadLength: BigInt(randomInt(rand, 0, 2)),
    payloadDigest: asHash(new Uint8Array(32).fill(randomInt(rand, 0, 2))),
  });
}

/** Ingest as the entry.ts module comment says: obsolete, or prune then insert. */
function ingest(store: Entry[], e: Entry): Entry[] {
  if (store.some((f) => isObsoletedBy(e, f))) return store;
  return [...store.filter((f) => !prunes(e, f)), e];
}

/** No two entries of the store where one prunes the other: the spec's store invariant. */
function isStore(store: Entry[]): boolean {
  return store.every((a) => store.every((b) => !prunes(a, b)));
}

const key = (s: Entry[]) =>
  s.map((e) =>
    `${e.subspaceId[31]}/${e.path.map((c) => new TextDecoder().decode(c)).join("/")}` +
    `@${e.timestamp}:${e.payloadDigest[0]}:${e.payloadLength}`
  ).sort().join(" ");

Deno.test("willow entry: newer-than compares timestamp, then digest, then length", () => {
  const rand = seededRandom(1);
  const base = entry(rand);
  const later = makeEntry({ ...base, timestamp: base.timestamp + 1n, payloadLength: 0n });
  const biggerDigest = makeEntry({ ...base, payloadDigest: asHash(new Uint8Array(32).fill(9)) });
  const longer = makeEntry({ ...base, payloadLength: base.payloadLength + 1n });
  assert(isNewer(later, base) && !isNewer(base, later));
  assert(isNewer(biggerDigest, base));
  assert(isNewer(longer, base));
  assertEquals(compareNewer(base, base), 0);
  assertThrows(() => makeEntry({ ...base, timestamp: -1n }), InvalidWillowValueError);
  assertThrows(() => makeEntry({ ...base, payloadLength: 2n ** 64n }), InvalidWillowValueError);
});

Deno.test("willow entry: prefix pruning deletes older entries below a newer one", () => {
  const e = (path: string[], timestamp: bigint, subspace = 0) =>
    makeEntry({
      namespaceId: ids[0],
      subspaceId: ids[subspace],
      path: pathFromStrings(...path),
      timestamp,
      payloadLength: 1n,
      payloadDigest: asHash(new Uint8Array(32)),
    });
  const idea = e(["blog", "idea", "2"], 100n);
  const wipe = e(["blog", "idea"], 200n);
  assert(prunes(wipe, idea), "a newer entry at a prefix deletes");
  assert(!prunes(e(["blog", "idea"], 50n), idea), "an older one does not");
  assert(!prunes(e(["blog", "ide"], 200n), idea), "prefix by component, not bytes");
  assert(!prunes(e(["blog", "idea"], 200n, 1), idea), "other subspaces are untouched");
  assert(isObsoletedBy(idea, wipe), "the deleted entry cannot come back");
  assert(isObsoletedBy(idea, idea) && entriesEqual(idea, idea), "a duplicate changes nothing");
  assert(!isObsoletedBy(e(["blog", "idea", "2"], 300n), wipe), "a newer write below is fine");
});

Deno.test("willow entry: ingesting in any order gives the same store, always a valid one", () => {
  const rand = seededRandom(424242);
  for (let round = 0; round < 300; round++) {
    const entries = Array.from({ length: randomInt(rand, 1, 7) }, () => entry(rand));
    const forward = entries.reduce(ingest, [] as Entry[]);
    const shuffled = [...entries].sort(() => rand() - 0.5).reduce(ingest, [] as Entry[]);
    assert(isStore(forward), "the store invariant holds");
    assertEquals(key(shuffled), key(forward), "join is order-independent");
    for (const e of entries) {
      assert(forward.some((f) => isObsoletedBy(e, f)), "every ingested entry is covered");
    }
  }
});

Deno.test("willow area: inclusion, intersection, and agreement with its 3dRange", () => {
  const rand = seededRandom(99);
  const areas: Area[] = [
    fullArea(),
    subspaceArea(ids[0]),
    { subspace: ids[1], path: pathFromStrings("a"), times: timeRange(1n, 3n) },
    { subspace: "any", path: pathFromStrings("a", "b"), times: timeRange(2n) },
  ];
  for (const a of areas) {
    const box = areaToRange3d(a);
    for (let i = 0; i < 200; i++) {
      const e = entry(rand);
      assertEquals(range3dIncludesEntry(box, e), areaIncludesEntry(a, e));
      assert(range3dIncludesEntry(full3dRange(), e));
      for (const b of areas) {
        const both = intersectAreas(a, b);
        const inBoth = areaIncludesEntry(a, e) && areaIncludesEntry(b, e);
        if (both === undefined) assert(!inBoth, "empty intersections hold no entry");
        else {
          assertEquals(areaIncludesEntry(both, e), inBoth);
          const boxes = intersectRange3d(areaToRange3d(a), areaToRange3d(b))!;
          assertEquals(range3dIncludesEntry(boxes, e), inBoth);
        }
      }
    }
    assert(areaIncludesArea(fullArea(), a) && areaIncludesArea(a, a));
  }
  assert(!areaIncludesArea(subspaceArea(ids[0]), fullArea()));
  assertEquals(intersectAreas(subspaceArea(ids[0]), subspaceArea(ids[1])), undefined);
  assert(isPrefixOf(EMPTY_PATH, areaToRange3d(fullArea()).paths.start));
  assertThrows(() => timeRange(5n, 5n), InvalidWillowValueError);
});

Deno.test("willow range: successors end the range of exactly one value", () => {
  assertEquals(timestampSuccessor(7n), 8n);
  assertEquals(timestampSuccessor(U64_MAX), undefined, "the greatest timestamp: open end");
  const id = new Uint8Array(32).fill(0xff);
  id[30] = 0x07;
  const next = subspaceSuccessor(id)!;
  assertEquals([next[30], next[31]], [0x08, 0x00], "big-endian increment with carry");
  assertEquals(subspaceSuccessor(new Uint8Array(32).fill(0xff)), undefined);
  const one = areaToRange3d(subspaceArea(ids[1]));
  assertEquals(one.subspaces, { start: ids[1], end: subspaceSuccessor(ids[1]) });
  assert(!rangeIncludes(one.subspaces, ids[0], compareSubspaceIds));
});

Deno.test("willow area of interest: newest entries within count and size", () => {
  const rand = seededRandom(5);
  const entries = Array.from(
    { length: 30 },
    () =>
      makeEntry({
        ...entry(rand),
        timestamp: BigInt(randomInt(rand, 0, 1000)),
        payloadLength: 10n,
      }),
  );
  const all = applyLimits(areaOfInterest(fullArea()), entries);
  assertEquals(all.length, entries.length);
  for (let i = 1; i < all.length; i++) assert(compareNewer(all[i - 1], all[i]) >= 0);
  const three = applyLimits(areaOfInterest(fullArea(), 3n), entries);
  assertEquals(three, all.slice(0, 3));
  assertEquals(applyLimits(areaOfInterest(fullArea(), NO_LIMIT, 25n), entries), all.slice(0, 2));
  assertEquals(applyLimits(areaOfInterest(fullArea(), 0n), entries), []);
  const both = intersectAreasOfInterest(
    areaOfInterest(fullArea(), 5n, 100n),
    areaOfInterest(subspaceArea(ids[0]), NO_LIMIT, 7n),
  )!;
  assertEquals([both.maxCount, both.maxSize], [5n, 7n]);
  assertEquals(both.area, subspaceArea(ids[0]));
});

Deno.test("willow time: TAI microseconds since J2000, across leap seconds", () => {
  assertEquals(timestampFromUnixMillis(J2000_UNIX_MILLIS), 0n);
  assertEquals(J2000_UNIX_MILLIS, Date.parse("2000-01-01T11:58:55.816Z"));
  // 2017-01-01T00:00:00Z: 5 leap seconds (2005, 2008, 2012, 2015, 2016) after J2000.
  const at2017 = Date.UTC(2017, 0, 1);
  assertEquals(
    timestampFromUnixMillis(at2017),
    BigInt(at2017 - J2000_UNIX_MILLIS) * 1000n + 5_000_000n,
  );
  assertEquals(
    timestampFromUnixMillis(at2017) - timestampFromUnixMillis(at2017 - 1),
    1_001_000n,
    "the leap second is counted",
  );
  const rand = seededRandom(8);
  for (let i = 0; i < 500; i++) {
    const ms = J2000_UNIX_MILLIS + randomInt(rand, 0, 2 ** 31) * 1000 + randomInt(rand, 0, 999);
    assertEquals(unixMillisFromTimestamp(timestampFromUnixMillis(ms)), ms);
  }
  const t = now();
  assert(t > timestampFromUnixMillis(Date.UTC(2024, 0, 1)) && t < 2n ** 62n);
  assertThrows(() => timestampFromUnixMillis(J2000_UNIX_MILLIS - 1), InvalidWillowValueError);
});
