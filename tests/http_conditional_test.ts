/**
 * Entity tags and conditional requests (RFC 9110 §8.8.3, §13.1, §13.2.2) for a blob's strong
 * hash tag.
 */
import { assert, assertEquals } from "./assert.ts";
import { randomInt, seededRandom } from "./random.ts";
import { hash } from "../src/blake3/tree.ts";
import { toHex } from "../src/blake3/hash.ts";
import {
  blobEntityTag,
  type EntityTag,
  evaluatePreconditions,
  formatEntityTag,
  ifMatchHolds,
  ifNoneMatchHolds,
  ifRangeHolds,
} from "../src/http/conditional.ts";

const blob = hash(new TextEncoder().encode("conditional"));
const HEX = toHex(blob);
const TAG = blobEntityTag(blob);
const QUOTED = `"${HEX}"`;
const OTHER = `"${toHex(hash(new Uint8Array(1)))}"`;

Deno.test("conditional: a blob's tag is its hash, strong and quoted", () => {
  assertEquals(TAG, { weak: false, opaque: HEX });
  assertEquals(formatEntityTag(TAG), QUOTED);
  assert(/^"[0-9a-f]{64}"$/.test(formatEntityTag(TAG)));
  assertEquals(formatEntityTag({ weak: true, opaque: "x" }), 'W/"x"');
});

Deno.test("conditional: If-None-Match uses weak comparison, lists and *", () => {
  const cases: [string, boolean][] = [
    [QUOTED, false],
    [`W/${QUOTED}`, false],
    [`${OTHER}, ${QUOTED}`, false],
    [`${OTHER},W/${QUOTED} , "z"`, false],
    [`"a,b", ${QUOTED}`, false],
    ["*", false],
    [" * ", false],
    [OTHER, true],
    [`${OTHER}, "a,b"`, true],
    [`w/${QUOTED}`, true], // W/ is case-sensitive: not a tag, so the list is invalid.
    [HEX, true], // unquoted: not a tag
    [`"${HEX}`, true],
    [`${QUOTED} ${OTHER}`, true],
    ["", true],
    [",", true],
    [`"${HEX.toUpperCase()}"`, true],
  ];
  for (const [field, holds] of cases) {
    assertEquals(ifNoneMatchHolds(field, TAG), holds, `If-None-Match: ${field}`);
  }
});

Deno.test("conditional: If-Match uses strong comparison and fails closed", () => {
  const cases: [string, boolean][] = [
    [QUOTED, true],
    [`${OTHER}, ${QUOTED}`, true],
    ["*", true],
    [`W/${QUOTED}`, false],
    [OTHER, false],
    ["garbage", false],
    [`${QUOTED}, garbage`, false],
    ["", false],
  ];
  for (const [field, holds] of cases) {
    assertEquals(ifMatchHolds(field, TAG), holds, `If-Match: ${field}`);
  }
});

Deno.test("conditional: If-Range holds only for the same strong tag", () => {
  const cases: [string, boolean][] = [
    [QUOTED, true],
    [` ${QUOTED} `, true],
    [`W/${QUOTED}`, false],
    [OTHER, false],
    ["Wed, 21 Oct 2015 07:28:00 GMT", false],
    ["*", false],
    [`${QUOTED}, ${QUOTED}`, false],
    [`${QUOTED},`, false], // If-Range takes one entity-tag, not a list
    ["", false],
  ];
  for (const [field, holds] of cases) {
    assertEquals(ifRangeHolds(field, TAG), holds, `If-Range: ${field}`);
  }
});

Deno.test("conditional: opaque tags may hold commas and obs-text, never quotes or controls", () => {
  const odd: EntityTag = { weak: false, opaque: "a,b\xe9" };
  assertEquals(ifNoneMatchHolds(`"x", "a,b\xe9"`, odd), false);
  assertEquals(ifMatchHolds(`"a,b\xe9"`, odd), true);
  assertEquals(ifMatchHolds(`"a b"`, { weak: false, opaque: "a b" }), false);
  assertEquals(ifMatchHolds(`"a\tb"`, { weak: false, opaque: "a\tb" }), false);
});

function outcome(method: string, fields: Record<string, string>): string {
  return evaluatePreconditions(method, new Headers(fields), TAG);
}

Deno.test("conditional: Range is evaluated only for GET, and If-Range can veto it", () => {
  assertEquals(outcome("GET", {}), "full");
  assertEquals(outcome("GET", { Range: "bytes=0-1" }), "range");
  assertEquals(outcome("HEAD", { Range: "bytes=0-1" }), "full");
  assertEquals(outcome("GET", { Range: "bytes=0-1", "If-Range": QUOTED }), "range");
  assertEquals(outcome("GET", { Range: "bytes=0-1", "If-Range": OTHER }), "full");
  assertEquals(outcome("GET", { Range: "bytes=0-1", "If-Range": `W/${QUOTED}` }), "full");
  assertEquals(
    outcome("GET", { Range: "bytes=0-1", "If-Range": "Wed, 21 Oct 2015 07:28:00 GMT" }),
    "full",
  );
  // If-Range without Range is ignored (§13.1.5).
  assertEquals(outcome("GET", { "If-Range": OTHER }), "full");
});

Deno.test("conditional: If-None-Match gives not-modified for GET/HEAD, failure otherwise", () => {
  assertEquals(outcome("GET", { "If-None-Match": QUOTED }), "not-modified");
  assertEquals(outcome("HEAD", { "If-None-Match": `W/${QUOTED}` }), "not-modified");
  assertEquals(outcome("GET", { "If-None-Match": "*", Range: "bytes=0-1" }), "not-modified");
  assertEquals(outcome("DELETE", { "If-None-Match": QUOTED }), "precondition-failed");
  assertEquals(outcome("GET", { "If-None-Match": OTHER, Range: "bytes=0-1" }), "range");
});

Deno.test("conditional: precedence of RFC 9110 §13.2.2", () => {
  // If-Match first: its failure wins over a matching If-None-Match.
  assertEquals(
    outcome("GET", { "If-Match": OTHER, "If-None-Match": QUOTED }),
    "precondition-failed",
  );
  assertEquals(outcome("GET", { "If-Match": QUOTED, "If-None-Match": QUOTED }), "not-modified");
  assertEquals(
    outcome("GET", { "If-Match": QUOTED, Range: "bytes=0-1", "If-Range": QUOTED }),
    "range",
  );
  assertEquals(outcome("DELETE", { "If-Match": OTHER }), "precondition-failed");
  assertEquals(outcome("DELETE", { "If-Match": "*" }), "full");
  // No modification date: the date conditions are ignored, whatever they say.
  const date = "Wed, 21 Oct 2015 07:28:00 GMT";
  assertEquals(outcome("GET", { "If-Modified-Since": date }), "full");
  assertEquals(outcome("GET", { "If-Unmodified-Since": date, Range: "bytes=0-1" }), "range");
});

Deno.test("conditional: random header values never throw and the three conditions agree", () => {
  const rand = seededRandom(0x5eed_0003);
  const pieces = [QUOTED, OTHER, "W/", "w/", '"', ",", " ", "*", "\t", "x", "\xe9", "\x7f", HEX];
  for (let iter = 0; iter < 5000; iter++) {
    const field = Array.from(
      { length: randomInt(rand, 0, 6) },
      () => pieces[randomInt(rand, 0, pieces.length - 1)],
    ).join("");
    const context = `seed 0x5eed0003 iter ${iter}: ${JSON.stringify(field)}`;
    const noneMatch = ifNoneMatchHolds(field, TAG), match = ifMatchHolds(field, TAG);
    // A strong match is also a weak one: a list If-Match accepts by tag, If-None-Match rejects.
    if (match && field.trim() !== "*") assert(!noneMatch, context);
    // If-Range holds exactly for our tag alone.
    assertEquals(ifRangeHolds(field, TAG), field.trim() === QUOTED, context);
  }
});
