/**
 * The `Range` header parser against RFC 9110 §14.1–§14.2 case by case, a bitmap model of
 * which bytes each range-spec selects, and random strings that must never make it throw.
 */
import { assert, assertEquals, assertThrows } from "./assert.ts";
import { randomInt, seededRandom } from "./random.ts";
import {
  type ByteRange,
  contentRange,
  MAX_RANGES,
  parseRange,
  type RangeDecision,
  rangeLength,
  unsatisfiedContentRange,
} from "../src/http/range.ts";

const N = 10_000;

function ranges(...pairs: [number, number][]): RangeDecision {
  const list = pairs.map(([first, last]) => ({ first, last }));
  return { kind: "ranges", ranges: list as [ByteRange, ...ByteRange[]], size: N };
}

function check(field: string, expected: RangeDecision, size = N): void {
  assertEquals(parseRange(field, size), expected, `Range: ${JSON.stringify(field)} of ${size}`);
}

const INVALID: RangeDecision = { kind: "ignore", reason: "invalid" };
const UNSATISFIABLE: RangeDecision = { kind: "unsatisfiable", size: N };

Deno.test("range: single, open and suffix forms (RFC 9110 §14.1.2 examples)", () => {
  check("bytes=0-499", ranges([0, 499]));
  check("bytes=500-999", ranges([500, 999]));
  check("bytes=9500-", ranges([9500, 9999]));
  check("bytes=-500", ranges([9500, 9999]));
  check("bytes=0-0,-1", ranges([0, 0], [9999, 9999]));
  check("bytes=0-", ranges([0, 9999]));
});

Deno.test("range: positions past the end are clamped, a long suffix takes everything", () => {
  check("bytes=9000-20000", ranges([9000, 9999]));
  check("bytes=9999-9999", ranges([9999, 9999]));
  check("bytes=-10000", ranges([0, 9999]));
  check("bytes=-10001", ranges([0, 9999]));
  check("bytes=-1", ranges([9999, 9999]));
});

Deno.test("range: overlapping, adjacent and unordered ranges are merged and sorted", () => {
  check("bytes=500-600,601-999", ranges([500, 999]));
  check("bytes=500-700,601-999", ranges([500, 999]));
  check("bytes=900-999,0-99", ranges([0, 99], [900, 999]));
  check("bytes=0-10,5-6,20-30", ranges([0, 10], [20, 30]));
  check("bytes=20-30,0-10,11-19", ranges([0, 30]));
  check("bytes=0-0,2-2,1-1", ranges([0, 2]));
  check("bytes=0-1,3-4", ranges([0, 1], [3, 4]));
  check("bytes=-100,9000-", ranges([9000, 9999]));
  check("bytes=0-0,0-0,0-0", ranges([0, 0]));
});

Deno.test("range: whitespace around commas, empty list elements, unit case", () => {
  check("bytes=0-1 , 5-6,\t9-9", ranges([0, 1], [5, 6], [9, 9]));
  check("bytes=0-1,,5-6", ranges([0, 1], [5, 6]));
  check("bytes=, 0-1 ,", ranges([0, 1]));
  check("  bytes=0-1  ", ranges([0, 1]));
  check("Bytes=0-1", ranges([0, 1]));
  check("BYTES=-1", ranges([9999, 9999]));
});

Deno.test("range: invalid syntax is ignored, even with valid range-specs beside it", () => {
  for (
    const field of [
      "",
      "bytes",
      "bytes=",
      "bytes=,",
      "bytes= , ",
      "=0-1",
      "bytes=1-0",
      "bytes=0-1,5-4",
      "bytes=a-b",
      "bytes=-",
      "bytes=--1",
      "bytes=0-1-2",
      "bytes=0 -1",
      "bytes=0- 1",
      "bytes=+1-2",
      "bytes=0x1-2",
      "bytes=1",
      "bytes=0-1;q=1",
      "bytes = 0-1",
      "by tes=0-1",
      "bytes=0-1\n",
      "\u00a0bytes=0-1",
      "bytes=\u0661-\u0662",
      "bytes=0-1,x",
    ]
  ) {
    check(field, INVALID);
  }
});

Deno.test("range: a unit other than bytes is ignored", () => {
  for (const field of ["items=0-1", "none=0-5", "exbytes=0-1", "pages=x"]) {
    check(field, { kind: "ignore", reason: "other-unit" });
  }
  assertEquals(parseRange(null, N), { kind: "ignore", reason: "absent" });
});

Deno.test("range: unsatisfiable only when no range-spec is satisfiable", () => {
  check("bytes=10000-", UNSATISFIABLE);
  check("bytes=10000-10001,20000-", UNSATISFIABLE);
  check("bytes=-0", UNSATISFIABLE);
  check("bytes=-000,10000-", UNSATISFIABLE);
  check("bytes=10000-,0-0", ranges([0, 0]));
  check("bytes=-0,-2", ranges([9998, 9999]));
});

Deno.test("range: huge numbers are compared exactly and clamped", () => {
  check("bytes=0-99999999999999999999999", ranges([0, 9999]));
  check("bytes=99999999999999999999-", UNSATISFIABLE);
  check("bytes=-99999999999999999999", ranges([0, 9999]));
  check(`bytes=0-${"9".repeat(400)}`, ranges([0, 9999]));
  // Both round to 2^53 as doubles, yet last < first: invalid.
  check("bytes=9007199254740993-9007199254740992", INVALID);
  check("bytes=9007199254740992-9007199254740993", UNSATISFIABLE);
  check("bytes=00005-0009", ranges([5, 9]));
  check("bytes=0010-9", INVALID);
  const max = Number.MAX_SAFE_INTEGER;
  assertEquals(parseRange(`bytes=${max - 1}-`, max), {
    kind: "ranges",
    ranges: [{ first: max - 1, last: max - 1 }],
    size: max,
  });
});

Deno.test("range: a zero-length representation (RFC 9110 §14.1.2)", () => {
  const empty = { kind: "unsatisfiable", size: 0 } as const;
  check("bytes=0-", empty, 0);
  check("bytes=0-0", empty, 0);
  check("bytes=-0", empty, 0);
  // A non-empty suffix is satisfiable yet selects nothing a 206 could describe: ignore.
  check("bytes=-1", { kind: "ignore", reason: "empty-representation" }, 0);
  check("bytes=0-5,-5", { kind: "ignore", reason: "empty-representation" }, 0);
  check("bytes=1-0", INVALID, 0);
});

Deno.test("range: a one-byte representation", () => {
  const one = (first: number, last: number) => ({
    kind: "ranges",
    ranges: [{ first, last }],
    size: 1,
  } as const);
  check("bytes=0-0", one(0, 0), 1);
  check("bytes=0-", one(0, 0), 1);
  check("bytes=0-100", one(0, 0), 1);
  check("bytes=-1", one(0, 0), 1);
  check("bytes=-5", one(0, 0), 1);
  check("bytes=0-0,-1", one(0, 0), 1);
  check("bytes=1-", { kind: "unsatisfiable", size: 1 }, 1);
  check("bytes=-0", { kind: "unsatisfiable", size: 1 }, 1);
});

Deno.test("range: more than MAX_RANGES parts become the one range spanning them", () => {
  const specs = (count: number) =>
    Array.from({ length: count }, (_, i) => `${i * 10}-${i * 10 + 4}`).join(",");
  const atCap = parseRange(`bytes=${specs(MAX_RANGES)}`, N);
  assert(atCap.kind === "ranges");
  assertEquals(atCap.ranges.length, MAX_RANGES);
  check(`bytes=${specs(MAX_RANGES + 1)}`, ranges([0, MAX_RANGES * 10 + 4]));
  // Many specs that merge into few parts are not a problem.
  check(`bytes=${Array(5000).fill("0-0").join(",")}`, ranges([0, 0]));
  check(`bytes=${specs(MAX_RANGES + 1)},0-`, ranges([0, 9999]));
});

Deno.test("range: Content-Range values (RFC 9110 §14.4)", () => {
  assertEquals(contentRange({ first: 42, last: 1233 }, 1234), "bytes 42-1233/1234");
  assertEquals(contentRange({ first: 0, last: 0 }, 1), "bytes 0-0/1");
  assertEquals(unsatisfiedContentRange(1234), "bytes */1234");
  assertEquals(unsatisfiedContentRange(0), "bytes */0");
  assertEquals(rangeLength({ first: 42, last: 1233 }), 1192);
  assertEquals(rangeLength({ first: 7, last: 7 }), 1);
});

Deno.test("range: the representation size must be a safe non-negative integer", () => {
  for (const size of [-1, 1.5, NaN, Infinity, 2 ** 53]) {
    assertThrows(() => parseRange("bytes=0-1", size), RangeError);
  }
});

/** Checks the invariants every `ranges` decision must keep. */
function assertWellFormed(decision: RangeDecision, size: number, context: string): void {
  if (decision.kind !== "ranges") return;
  const list = decision.ranges;
  assert(list.length >= 1 && list.length <= MAX_RANGES, `${context}: ${list.length} parts`);
  assertEquals(decision.size, size);
  list.forEach((r, i) => {
    assert(Number.isSafeInteger(r.first) && Number.isSafeInteger(r.last), context);
    assert(0 <= r.first && r.first <= r.last && r.last < size, `${context}: ${r.first}-${r.last}`);
    if (i > 0) assert(list[i - 1].last + 1 < r.first, `${context}: parts ${i - 1}, ${i} touch`);
  });
}

/** Random digits, sometimes none, sometimes far past 2^53, sometimes with leading zeros. */
function randomDigits(rand: () => number): string {
  const len = randomInt(rand, 0, 4) === 0 ? randomInt(rand, 0, 25) : randomInt(rand, 1, 4);
  let s = "";
  for (let i = 0; i < len; i++) s += randomInt(rand, 0, 9);
  return s;
}

/** A header built from range-spec-like elements, separators and the odd stray character. */
function randomRangeField(rand: () => number): string {
  const elements = Array.from({ length: randomInt(rand, 0, 6) }, () => {
    switch (randomInt(rand, 0, 5)) {
      case 0:
        return `${randomDigits(rand)}-`;
      case 1:
        return `-${randomDigits(rand)}`;
      case 2:
        return ' -;x=\t"*'[randomInt(rand, 0, 7)] + randomDigits(rand);
      default:
        return `${randomDigits(rand)}-${randomDigits(rand)}`;
    }
  });
  const unit = ["bytes=", "Bytes=", "bytes =", "=", "pages=", ""][randomInt(rand, 0, 5)];
  return unit + elements.join([",", " , ", ",,", ",\t"][randomInt(rand, 0, 3)]);
}

/** A string of characters that occur in Range headers, in any order. */
function randomSoup(rand: () => number): string {
  const alphabet = 'bytes=0123456789-, \t;"*x';
  let s = randomInt(rand, 0, 1) ? "bytes=" : "";
  const len = randomInt(rand, 0, 40);
  for (let i = 0; i < len; i++) s += alphabet[randomInt(rand, 0, alphabet.length - 1)];
  return s;
}

Deno.test("range: random headers never throw and always give well-formed ranges", () => {
  const rand = seededRandom(0x5eed_0001);
  const seen = new Set<string>();
  for (let iter = 0; iter < 20_000; iter++) {
    const field = iter % 3 === 0 ? randomSoup(rand) : randomRangeField(rand);
    const size = randomInt(rand, 0, 3) === 0 ? randomInt(rand, 0, 3) : randomInt(rand, 0, 2 ** 40);
    const context = `seed 0x5eed0001 iter ${iter} field ${JSON.stringify(field)} size ${size}`;
    const decision = parseRange(field, size);
    assertWellFormed(decision, size, context);
    seen.add(decision.kind === "ignore" ? decision.reason : decision.kind);
    if (decision.kind === "ranges" && decision.ranges.length > 1) seen.add("multi");
  }
  // The generator must reach every outcome, or the invariants above were checked on nothing.
  assertEquals(
    [...seen].sort(),
    ["empty-representation", "invalid", "multi", "other-unit", "ranges", "unsatisfiable"],
  );
});

/** A range-spec drawn at random, with the bytes it selects by RFC 9110 §14.1.2. */
function randomSpec(rand: () => number, size: number): { text: string; selects: boolean[] } {
  const selects = Array<boolean>(size).fill(false);
  const mark = (from: number, to: number) => {
    for (let i = from; i <= Math.min(to, size - 1); i++) selects[i] = true;
  };
  const first = randomInt(rand, 0, size + 3);
  switch (randomInt(rand, 0, 2)) {
    case 0: {
      const last = first + randomInt(rand, 0, 20);
      mark(first, last);
      return { text: `${first}-${last}`, selects };
    }
    case 1:
      mark(first, size - 1);
      return { text: `${first}-`, selects };
    default: {
      const suffix = randomInt(rand, 0, size + 3);
      if (suffix > 0) mark(size - suffix, size - 1);
      return { text: `-${suffix}`, selects };
    }
  }
}

Deno.test("range: random valid range sets select exactly the union of their specs", () => {
  const rand = seededRandom(0x5eed_0002);
  for (let iter = 0; iter < 3000; iter++) {
    const size = randomInt(rand, 0, 120);
    const specs = Array.from({ length: randomInt(rand, 1, 8) }, () => randomSpec(rand, size));
    const field = "bytes=" + specs.map((s) => s.text).join(randomInt(rand, 0, 1) ? "," : " ,\t");
    const context = `seed 0x5eed0002 iter ${iter}: ${field} of ${size}`;
    const decision = parseRange(field, size);
    assertWellFormed(decision, size, context);
    const want = Array.from({ length: size }, (_, i) => specs.some((s) => s.selects[i]));
    if (!want.includes(true)) {
      const emptySuffix = size === 0 && specs.some((s) => /^-0*[1-9]/.test(s.text));
      assertEquals(
        decision,
        emptySuffix
          ? { kind: "ignore", reason: "empty-representation" }
          : { kind: "unsatisfiable", size },
        context,
      );
      continue;
    }
    assert(decision.kind === "ranges", context);
    const got = Array<boolean>(size).fill(false);
    for (const r of decision.ranges) for (let i = r.first; i <= r.last; i++) got[i] = true;
    assertEquals(got, want, context);
  }
});
