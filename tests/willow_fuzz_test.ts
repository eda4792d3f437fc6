/**
 * Every Willow encoding on random values and on hostile bytes (deterministic seeds):
 *
 * - random values round-trip through our writers and readers, canonic and not;
 * - random bytes and mutated valid codes (bit flips, truncation, insertions, deletions) make the
 *   decoders either succeed or throw a `WillowDecodeError`, never anything else, in bounded time;
 * - whatever a canonic reader accepts is exactly what our writer produces for the decoded value
 *   (so canonic codes are unique), and whatever a relation reader accepts decodes again to the
 *   same value after re-encoding.
 */
import { assert, assertEquals } from "./assert.ts";
import { randomBytes, randomInt, seededRandom } from "./random.ts";
import { asHash } from "../src/blake3/hash.ts";
import type { Area } from "../src/willow/area.ts";
import { readAreaInArea, writeAreaInArea } from "../src/willow/area_encoding.ts";
import {
  readEnumerationCapability,
  readMcCapability,
  writeEnumerationCapability,
  writeMcCapability,
} from "../src/willow/capability_encoding.ts";
import { decodePrefix, encode, type Reader, type Writer } from "../src/willow/codec.ts";
import { type Entry, makeEntry } from "../src/willow/entry.ts";
import {
  readEntry,
  readEntryInNamespace3dRange,
  readEntryRelativeEntry,
  writeEntry,
  writeEntryInNamespace3dRange,
  writeEntryRelativeEntry,
} from "../src/willow/entry_encoding.ts";
import { WillowDecodeError } from "../src/willow/errors.ts";
import {
  isPointEncoding,
  type PublicKey,
  type Signature,
  type SubspaceId,
} from "../src/willow/keys.ts";
import type { Delegation, McCapability } from "../src/willow/meadowcap.ts";
import { MAX_PATH_LENGTH, U64_MAX } from "../src/willow/params.ts";
import { comparePaths, isPrefixOf, type Path, pathLength, pathOf } from "../src/willow/path.ts";
import {
  readPath,
  readPathExtendsPath,
  readPathRelativePath,
  writePath,
  writePathExtendsPath,
  writePathRelativePath,
} from "../src/willow/path_encoding.ts";
import { compareSubspaceIds, type Range } from "../src/willow/range.ts";
import type { Range3d } from "../src/willow/range3d.ts";
import {
  read3dRangeRelative3dRange,
  write3dRangeRelative3dRange,
} from "../src/willow/range3d_encoding.ts";

type Rand = () => number;

/** A few curve points, reused so that equal ids (and the point cache) come up often. */
function keyPool(rand: Rand, n: number): PublicKey[] {
  const out: PublicKey[] = [];
  while (out.length < n) {
    const b = randomBytes(32, rand);
    if (isPointEncoding(b)) out.push(b as PublicKey);
  }
  return out.sort(compareSubspaceIds);
}

const pick = <T>(rand: Rand, xs: readonly T[]): T => xs[randomInt(rand, 0, xs.length - 1)];

function randomU64(rand: Rand): bigint {
  switch (randomInt(rand, 0, 3)) {
    case 0:
      return BigInt(randomInt(rand, 0, 300));
    case 1:
      return BigInt(randomInt(rand, 0, 2 ** 31)) * BigInt(randomInt(rand, 1, 2 ** 20));
    case 2:
      return U64_MAX - BigInt(randomInt(rand, 0, 300));
    default:
      return BigInt.asUintN(64, BigInt(randomInt(rand, 0, 2 ** 32)) << 32n) +
        BigInt(randomInt(rand, 0, 2 ** 32));
  }
}

/** Up to four components over a tiny alphabet (escapes, equal components) within `room` bytes. */
function randomPath(rand: Rand, room = MAX_PATH_LENGTH): Path {
  const components: Uint8Array[] = [];
  for (let n = randomInt(rand, 0, 4); n > 0; n--) {
    const len = Math.min(room, pick(rand, [0, 1, 2, 5, 300]));
    room -= len;
    components.push(randomBytes(len, rand).map((b) => b % 3));
  }
  return pathOf(components);
}

/** A random extension of `p`. */
function extend(rand: Rand, p: Path): Path {
  return pathOf([...p, ...randomPath(rand, MAX_PATH_LENGTH - pathLength(p))]);
}

function randomEntry(rand: Rand, keys: PublicKey[]): Entry {
  return makeEntry({
    namespaceId: pick(rand, keys),
    subspaceId: pick(rand, keys),
    path: randomPath(rand),
    timestamp: randomU64(rand),
    payloadLength: randomU64(rand),
    payloadDigest: asHash(randomBytes(32, rand)),
  });
}

/** A random non-empty range within `[lo, hi]` (hi = U64_MAX may stay open). */
function timesWithin(rand: Rand, outer: Range<bigint>): Range<bigint> {
  const hi = outer.end ?? U64_MAX;
  const start = outer.start + (hi - outer.start) * BigInt(randomInt(rand, 0, 99)) / 100n;
  if (outer.end === undefined && randomInt(rand, 0, 1) === 0) return { start };
  if (start >= hi) return outer.end === undefined ? { start } : { start: outer.start, end: hi };
  return { start, end: start + 1n + (hi - start - 1n) * BigInt(randomInt(rand, 0, 100)) / 100n };
}

/** A random area included in `outer`. */
function areaWithin(rand: Rand, outer: Area, keys: PublicKey[]): Area {
  const subspace = outer.subspace === "any" && randomInt(rand, 0, 1)
    ? pick(rand, keys)
    : outer.subspace;
  return { subspace, path: extend(rand, outer.path), times: timesWithin(rand, outer.times) };
}

function randomRange<T>(rand: Rand, values: T[], cmp: (a: T, b: T) => number): Range<T> {
  const [a, b] = [pick(rand, values), pick(rand, values)].sort(cmp);
  return cmp(a, b) < 0 && randomInt(rand, 0, 2) > 0 ? { start: a, end: b } : { start: a };
}

function randomRange3d(rand: Rand, keys: PublicKey[]): Range3d {
  const paths = Array.from({ length: 4 }, () => randomPath(rand));
  const times = Array.from({ length: 4 }, () => randomU64(rand));
  return {
    subspaces: randomRange<Uint8Array>(rand, keys, compareSubspaceIds),
    paths: randomRange(rand, paths, comparePaths),
    times: randomRange(rand, times, (a, b) => (a < b ? -1 : a > b ? 1 : 0)),
  };
}

/** An entry inside `r` (the range's own bounds, or values just inside them). */
function entryIn(rand: Rand, r: Range3d, keys: PublicKey[]): Entry {
  const inside = keys.filter((k) =>
    compareSubspaceIds(k, r.subspaces.start) >= 0 &&
    (r.subspaces.end === undefined || compareSubspaceIds(k, r.subspaces.end) < 0)
  );
  const path = r.paths.end === undefined || isPrefixOf(r.paths.start, r.paths.end)
    ? r.paths.start
    : extend(rand, r.paths.start);
  const e = randomEntry(rand, keys);
  return makeEntry({
    ...e,
    subspaceId: pick(rand, inside) as SubspaceId,
    path: r.paths.end !== undefined && comparePaths(path, r.paths.end) >= 0 ? r.paths.start : path,
    timestamp: timesWithin(rand, r.times).start,
  });
}

/** A capability with fake signatures (encodings do not look at them). */
function randomCapability(rand: Rand, keys: PublicKey[]): McCapability {
  const owned = randomInt(rand, 0, 1) === 1;
  const base = {
    accessMode: randomInt(rand, 0, 1) ? "write" as const : "read" as const,
    namespaceKey: pick(rand, keys),
    userKey: pick(rand, keys),
    delegations: [] as Delegation[],
  };
  const cap: McCapability = owned
    ? { ...base, kind: "owned", initialAuthorisation: randomBytes(64, rand) as Signature }
    : { ...base, kind: "communal" };
  let prev: Area = owned
    ? { subspace: "any", path: pathOf([]), times: { start: 0n } }
    : { subspace: cap.userKey, path: pathOf([]), times: { start: 0n } };
  for (let i = randomInt(rand, 0, 3); i > 0; i--) {
    prev = areaWithin(rand, prev, keys);
    base.delegations.push({
      area: prev,
      user: pick(rand, keys),
      signature: randomBytes(64, rand) as Signature,
    });
  }
  return cap;
}

/** One encoding under test: how to make a value (and reference), write it, read it. */
interface Codec<T, R> {
  name: string;
  /** Whether the spec defines a canonic subset, which our writer produces. */
  canonic: boolean;
  make: (rand: Rand, keys: PublicKey[]) => [T, R];
  write: (w: Writer, v: T, rel: R) => void;
  read: (r: Reader, rel: R) => T;
}

const codecs: Codec<unknown, unknown>[] = [
  {
    name: "EncodePath",
    canonic: true,
    make: (rand) => [randomPath(rand), undefined],
    write: (w, p) => writePath(w, p as Path),
    read: (r) => readPath(r),
  },
  {
    name: "EncodePathRelativePath",
    canonic: true,
    make: (rand) => {
      const ref = randomPath(rand);
      return [randomInt(rand, 0, 1) ? extend(rand, ref) : randomPath(rand), ref];
    },
    write: (w, p, ref) => writePathRelativePath(w, p as Path, ref as Path),
    read: (r, ref) => readPathRelativePath(r, ref as Path),
  },
  {
    name: "EncodePathExtendsPath",
    canonic: true,
    make: (rand) => {
      const ref = randomPath(rand);
      return [extend(rand, ref), ref];
    },
    write: (w, p, ref) => writePathExtendsPath(w, p as Path, ref as Path),
    read: (r, ref) => readPathExtendsPath(r, ref as Path),
  },
  {
    name: "EncodeEntry",
    canonic: true,
    make: (rand, keys) => [randomEntry(rand, keys), undefined],
    write: (w, e) => writeEntry(w, e as Entry),
    read: (r) => readEntry(r),
  },
  {
    name: "EncodeEntryRelativeEntry",
    canonic: false,
    make: (rand, keys) => [randomEntry(rand, keys), randomEntry(rand, keys)],
    write: (w, e, ref) => writeEntryRelativeEntry(w, e as Entry, ref as Entry),
    read: (r, ref) => readEntryRelativeEntry(r, ref as Entry),
  },
  {
    name: "EncodeEntryInNamespace3dRange",
    canonic: false,
    make: (rand, keys) => {
      const range = randomRange3d(rand, keys);
      const e = entryIn(rand, range, keys);
      return [e, range];
    },
    write: (w, e, range) =>
      writeEntryInNamespace3dRange(w, e as Entry, (e as Entry).namespaceId, range as Range3d),
    read: (r, range) => readEntryInNamespace3dRange(r, NAMESPACE, range as Range3d),
  },
  {
    name: "EncodeAreaInArea",
    canonic: true,
    make: (rand, keys) => {
      const outer = areaWithin(
        rand,
        { subspace: "any", path: pathOf([]), times: { start: 0n } },
        keys,
      );
      return [areaWithin(rand, outer, keys), outer];
    },
    write: (w, a, out) => writeAreaInArea(w, a as Area, out as Area),
    read: (r, out) => readAreaInArea(r, out as Area),
  },
  {
    name: "Encode3dRangeRelative3dRange",
    canonic: false,
    make: (rand, keys) => [randomRange3d(rand, keys), randomRange3d(rand, keys)],
    write: (w, v, ref) => write3dRangeRelative3dRange(w, v as Range3d, ref as Range3d),
    read: (r, ref) => read3dRangeRelative3dRange(r, ref as Range3d),
  },
  {
    name: "EncodeMcCapability",
    canonic: true,
    make: (rand, keys) => [randomCapability(rand, keys), undefined],
    write: (w, c) => writeMcCapability(w, c as McCapability),
    read: (r) => readMcCapability(r),
  },
  {
    name: "EncodeMcEnumerationCapability",
    canonic: false,
    make: (rand, keys) => [{
      namespaceKey: pick(rand, keys),
      userKey: pick(rand, keys),
      initialAuthorisation: randomBytes(64, rand) as Signature,
      delegations: Array.from({ length: randomInt(rand, 0, 3) }, () => ({
        user: pick(rand, keys),
        signature: randomBytes(64, rand) as Signature,
      })),
    }, undefined],
    write: (w, c) =>
      writeEnumerationCapability(w, c as Parameters<typeof writeEnumerationCapability>[1]),
    read: (r) => readEnumerationCapability(r),
  },
];

/** The namespace `EncodeEntryInNamespace3dRange` fuzzing decodes into (any fixed key). */
let NAMESPACE: PublicKey;

/** Decodes `bytes`; a success must re-encode as the spec demands. Returns whether it decoded. */
function probe<T, R>(c: Codec<T, R>, bytes: Uint8Array, rel: R, canonic: boolean): boolean {
  let decoded: { value: T; length: number };
  try {
    decoded = decodePrefix(bytes, (r) => c.read(r, rel), { canonic });
  } catch (e) {
    assert(e instanceof WillowDecodeError, `${c.name}: ${e}`);
    return false;
  }
  const again = encode((w) => c.write(w, decoded.value, rel));
  if (canonic && c.canonic) {
    assertEquals(again, bytes.subarray(0, decoded.length), `${c.name}: canonic code is unique`);
  } else {
    const twice = decodePrefix(again, (r) => c.read(r, rel), { canonic: true });
    assertEquals(encode((w) => c.write(w, twice.value, rel)), again, `${c.name}: re-encoding`);
  }
  return true;
}

function mutate(rand: Rand, bytes: Uint8Array): Uint8Array {
  const out = [...bytes];
  for (let n = randomInt(rand, 1, 3); n > 0; n--) {
    const i = randomInt(rand, 0, Math.max(0, out.length - 1));
    switch (randomInt(rand, 0, 3)) {
      case 0:
        if (out.length) out[i] ^= 1 << randomInt(rand, 0, 7);
        break;
      case 1:
        out.length = randomInt(rand, 0, out.length);
        break;
      case 2:
        out.splice(i, 0, randomInt(rand, 0, 255));
        break;
      default:
        out.splice(i, 1);
    }
  }
  return Uint8Array.from(out);
}

for (const c of codecs) {
  Deno.test(`willow fuzz: ${c.name} round-trips random values`, () => {
    const rand = seededRandom(c.name.length * 7919);
    const keys = keyPool(rand, 6);
    NAMESPACE = keys[0];
    for (let i = 0; i < 200; i++) {
      const [v, rel] = c.make(rand, keys);
      const bytes = encode((w) => c.write(w, v, rel));
      for (const canonic of [true, false]) {
        const { value, length } = decodePrefix(bytes, (r) => c.read(r, rel), { canonic });
        assertEquals(length, bytes.length, `${c.name} #${i}`);
        assertEquals(encode((w) => c.write(w, value, rel)), bytes, `${c.name} #${i}`);
      }
    }
  });

  Deno.test(`willow fuzz: ${c.name} survives random and mutated bytes`, () => {
    const rand = seededRandom(c.name.length * 104729);
    const keys = keyPool(rand, 6);
    NAMESPACE = keys[0];
    const started = performance.now();
    let accepted = 0;
    for (let i = 0; i < 1500; i++) {
      const [v, rel] = c.make(rand, keys);
      const input = i % 3 === 0
        ? randomBytes(randomInt(rand, 0, 160), rand)
        : mutate(rand, encode((w) => c.write(w, v, rel)));
      for (const canonic of [true, false]) if (probe(c, input, rel, canonic)) accepted++;
    }
    const ms = performance.now() - started;
    assert(ms < 20_000, `${c.name}: 3000 decodes took ${ms} ms`);
    assert(accepted > 0, `${c.name}: some mutations still decode`);
  });
}
