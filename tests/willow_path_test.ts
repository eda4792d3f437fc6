/**
 * Willow paths: the component-wise order and prefix relation, the successor functions that end
 * ranges, the limits, and the order-preserving key encoding for Deno KV.
 */
import { assert, assertEquals, assertThrows } from "./assert.ts";
import { randomBytes, randomInt, seededRandom } from "./random.ts";
import { InvalidWillowValueError, WillowDecodeError } from "../src/willow/errors.ts";
import {
  MAX_COMPONENT_COUNT,
  MAX_COMPONENT_LENGTH,
  MAX_PATH_LENGTH,
} from "../src/willow/params.ts";
import {
  commonPrefixCount,
  comparePaths,
  EMPTY_PATH,
  greaterButNotPrefixed,
  isPrefixOf,
  type Path,
  pathFrom,
  pathFromStrings,
  pathsRelated,
  pathSuccessor,
} from "../src/willow/path.ts";
import { pathFromKey, pathKey, pathKeyPrefixEnd } from "../src/willow/path_key.ts";

/** Paths over a tiny alphabet, so that prefixes, equal components and escapes are common. */
function randomPath(rand: () => number): Path {
  const alphabet = [0x00, 0x01, 0x02, 0x03, 0x61, 0xff];
  const count = randomInt(rand, 0, 4);
  return pathFrom(
    Array.from({ length: count }, () =>
      Uint8Array.from(
        { length: randomInt(rand, 0, 3) },
        () => alphabet[randomInt(rand, 0, alphabet.length - 1)],
      )),
  );
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

const sign = (n: number) => Math.sign(n);

Deno.test("willow path: order is by component, a proper prefix first", () => {
  const p = (...s: string[]) => pathFromStrings(...s);
  assert(comparePaths(p("a"), p("a", "b")) < 0, "prefix first");
  assert(comparePaths(p("a", "b"), p("ab")) < 0, "component-wise, not bytewise");
  assert(comparePaths(p("ab"), p("b")) < 0);
  assert(comparePaths(EMPTY_PATH, p("")) < 0, "the empty path is least");
  assert(comparePaths(p(""), p("", "")) < 0);
  assertEquals(comparePaths(p("x", "y"), p("x", "y")), 0);
  assert(isPrefixOf(p("a"), p("a", "b")) && isPrefixOf(p("a"), p("a")));
  assert(!isPrefixOf(p("a"), p("ab")), "a is no prefix of ab");
  assert(isPrefixOf(EMPTY_PATH, p("z")));
  assert(pathsRelated(p("a", "b"), p("a")) && !pathsRelated(p("a", "b"), p("a", "c")));
  assertEquals(commonPrefixCount(p("a", "b", "c"), p("a", "b", "d")), 2);
});

Deno.test("willow path: limits are enforced when building", () => {
  const long = new Uint8Array(MAX_COMPONENT_LENGTH + 1);
  assertThrows(() => pathFrom([long]), InvalidWillowValueError);
  assertThrows(
    () => pathFrom(Array.from({ length: MAX_COMPONENT_COUNT + 1 }, () => new Uint8Array(0))),
    InvalidWillowValueError,
  );
  const half = new Uint8Array(MAX_PATH_LENGTH / 2);
  assertThrows(() => pathFrom([half, half, new Uint8Array(1)]), InvalidWillowValueError);
  assertEquals(pathFrom([half, half]).length, 2);
  const source = Uint8Array.of(1, 2);
  const copied = pathFrom([source]);
  source[0] = 9;
  assertEquals(copied[0], Uint8Array.of(1, 2), "pathFrom copies its components");
});

Deno.test("willow path: successor and greaterButNotPrefixed bound what they must", () => {
  const rand = seededRandom(0x5eed);
  for (let i = 0; i < 300; i++) {
    const p = randomPath(rand);
    const succ = pathSuccessor(p)!;
    assert(comparePaths(p, succ) < 0, "successor is greater");
    const g = greaterButNotPrefixed(p);
    if (p.length === 0) assertEquals(g, undefined);
    else {
      assert(comparePaths(p, g!) < 0 && !isPrefixOf(p, g!), "greater, not an extension");
    }
    for (let j = 0; j < 30; j++) {
      const q = randomPath(rand);
      if (comparePaths(q, p) > 0) assert(comparePaths(q, succ) >= 0, "nothing between p and succ");
      if (comparePaths(q, p) > 0 && !isPrefixOf(p, q)) {
        assert(g !== undefined && comparePaths(q, g) >= 0, "no non-extension below g");
      }
      if (g !== undefined && comparePaths(p, q) <= 0 && comparePaths(q, g) < 0) {
        assert(isPrefixOf(p, q), "[p, g) holds only extensions of p");
      }
    }
  }
});

Deno.test("willow path: successors at the limits", () => {
  const full = new Uint8Array(MAX_COMPONENT_LENGTH).fill(0xff);
  assertEquals(greaterButNotPrefixed(pathFrom([full])), undefined, "the greatest component");
  const maxCount = pathFrom(Array.from({ length: MAX_COMPONENT_COUNT }, () => new Uint8Array(0)));
  const succ = pathSuccessor(maxCount)!;
  assertEquals(succ.length, MAX_COMPONENT_COUNT, "no room for another component");
  assertEquals(succ.at(-1), Uint8Array.of(0), "so the last component grows");
  const full1 = pathFrom(Array.from({ length: MAX_COMPONENT_COUNT }, () => Uint8Array.of(7)));
  assertEquals(pathSuccessor(full1)!.at(-1), Uint8Array.of(8), "no byte left: increment");
  const atLength = pathFrom([Uint8Array.of(1, 0xff, 0xff), new Uint8Array(MAX_PATH_LENGTH - 3)]);
  // The second component may not grow (path full); it is all zero, so it becomes 00…01.
  const g = greaterButNotPrefixed(atLength)!;
  assertEquals(g.length, 2);
  assertEquals(g[1].length, MAX_PATH_LENGTH - 3);
  assertEquals(g[1].at(-1), 1);
  const noRoom = pathFrom([Uint8Array.of(1, 0xff), new Uint8Array(MAX_PATH_LENGTH - 2).fill(0xff)]);
  assertEquals(greaterButNotPrefixed(noRoom), pathFrom([Uint8Array.of(1, 0xff, 0)]));
});

Deno.test("willow path key: bytewise key order is path order, and it round-trips", () => {
  const rand = seededRandom(77);
  const paths = Array.from({ length: 400 }, () => randomPath(rand));
  for (const p of paths) {
    const key = pathKey(p);
    assert(!key.includes(0), "no zero byte, so Deno KV adds no escapes");
    assertEquals(pathFromKey(key), p);
  }
  for (let i = 0; i + 1 < paths.length; i++) {
    const [a, b] = [paths[i], paths[i + 1]];
    assertEquals(sign(compareBytes(pathKey(a), pathKey(b))), sign(comparePaths(a, b)));
  }
});

Deno.test("willow path key: a prefix query is the key range [key, prefixEnd)", () => {
  const rand = seededRandom(91);
  for (let i = 0; i < 200; i++) {
    const p = randomPath(rand);
    const start = pathKey(p);
    const end = pathKeyPrefixEnd(p);
    if (p.length === 0) assertEquals(end, undefined);
    for (let j = 0; j < 40; j++) {
      const k = pathKey(randomPath(rand));
      const inRange = compareBytes(start, k) <= 0 &&
        (end === undefined || compareBytes(k, end) < 0);
      assertEquals(inRange, isPrefixOf(p, pathFromKey(k)));
    }
  }
});

Deno.test("willow path key: malformed keys are rejected with WillowDecodeError", () => {
  for (const bad of [[0x61], [0x02], [0x02, 0x04, 0x01], [0x00, 0x01], [0x02, 0x00]]) {
    assertThrows(() => pathFromKey(Uint8Array.from(bad)), WillowDecodeError, `${bad}`);
  }
  const rand = seededRandom(3);
  for (let i = 0; i < 2000; i++) {
    try {
      pathFromKey(randomBytes(randomInt(rand, 0, 12), rand));
    } catch (e) {
      assert(e instanceof WillowDecodeError, String(e));
    }
  }
});
