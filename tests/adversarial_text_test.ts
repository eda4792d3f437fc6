/**
 * Text anyone can send (header fields, query parameters) must be parsed in time linear (or
 * n log n) in its length: a pattern that backtracks quadratically lets one request hold the event
 * loop for seconds. Each input here took 4–7 s per request before the parsers were rewritten;
 * the bound below is far above what linear parsing needs and far below that.
 */
import { assert, assertEquals } from "./assert.ts";
import { ChunkRanges, InvalidRangesError } from "../src/ranges/chunk_ranges.ts";
import { decodeRangesQuery } from "../src/protocol/get_query.ts";
import { DecodeError } from "../src/protocol/decode_error.ts";
import { trimOws } from "../src/http/syntax.ts";
import { upload, withGateway } from "./gateway_helpers.ts";
import { randomBytes, seededRandom } from "./random.ts";

/** Generous for a shared 2-core machine; the quadratic parsers took seconds. */
const BOUND_MS = 500;
const RUN = 64 * 1024;
/** Just under what Deno accepts in one header or URL (its server answers 400, its fetch refuses). */
const HEADER_RUN = 60_000;

function timed<T>(what: string, f: () => T): T {
  const start = performance.now();
  try {
    return f();
  } finally {
    const ms = performance.now() - start;
    assert(ms < BOUND_MS, `${what} took ${ms.toFixed(0)} ms`);
  }
}

function throwsType(f: () => unknown, type: new (...a: never[]) => Error): void {
  try {
    f();
  } catch (e) {
    assert(e instanceof type, `expected ${type.name}, got ${e}`);
    return;
  }
  throw new Error(`expected ${type.name}, nothing thrown`);
}

Deno.test("adversarial text: OWS trimming is linear and trims only spaces and tabs", () => {
  assertEquals(
    timed("trailing spaces", () => trimOws("a" + " ".repeat(RUN) + "x")).length,
    RUN + 2,
  );
  assertEquals(
    timed("run of spaces", () => trimOws(" \t".repeat(RUN) + "x" + " ".repeat(RUN))),
    "x",
  );
  assertEquals(trimOws(" \t a b \t"), "a b");
  assertEquals(trimOws("\na\n"), "\na\n");
  assertEquals(trimOws("   "), "");
});

Deno.test("adversarial text: ?ranges= padding is checked before it is stripped", () => {
  throwsType(() => timed("run of =", () => decodeRangesQuery("=".repeat(RUN) + "A")), DecodeError);
  throwsType(
    () => timed("run of =", () => decodeRangesQuery("A".repeat(RUN) + "===")),
    DecodeError,
  );
});

Deno.test("adversarial text: ?chunks= parsing is linear in spaces and n log n in parts", () => {
  throwsType(
    () => timed("spaces", () => ChunkRanges.parse("0.." + " ".repeat(RUN) + "x")),
    InvalidRangesError,
  );
  throwsType(
    () => timed("spaces", () => ChunkRanges.parse("0" + " ".repeat(RUN) + "x..")),
    InvalidRangesError,
  );
  // Many parts, in descending order: each a union with the whole set so far was quadratic.
  const parts = Array.from(
    { length: 20_000 },
    (_, i) => `${2 * (20_000 - i)}..${2 * (20_000 - i) + 1}`,
  );
  const many = timed("parts", () => ChunkRanges.parse(parts.join(",")));
  assertEquals(many.boundaries.length, 40_000);
  assertEquals(many.boundaries[0], 2);
});

Deno.test("adversarial text: ?chunks= still merges overlapping, adjacent, unsorted and open parts", () => {
  const t = (s: string) => ChunkRanges.parse(s).toString();
  assertEquals(t(" 10..12 , 0..4,3..6, 6..7"), ChunkRanges.parse("0..7,10..12").toString());
  assertEquals(ChunkRanges.parse("5..,0..2,1..8").boundaries, [0]);
  assertEquals(ChunkRanges.parse("0..2,8..,3..4").boundaries, [0, 2, 3, 4, 8]);
  assertEquals(ChunkRanges.parse("4..4").boundaries, []);
  assertEquals(ChunkRanges.parse("").boundaries, []);
  assertEquals(ChunkRanges.parse("3 .. 9").boundaries, [3, 9]);
  for (const bad of ["1..0", "..4", "a..b", "0..4,", "0...4", "0..4\n..", "９..10"]) {
    throwsType(() => ChunkRanges.parse(bad), InvalidRangesError);
  }
});

Deno.test("adversarial text: the gateway answers adversarial headers and queries at once", async () => {
  await withGateway(async (gw) => {
    const data = randomBytes(3000, seededRandom(41));
    const { body } = await upload(gw.url, data);
    const blob = `${gw.url}/blobs/${body.hash}`;
    const cases: [string, RequestInit, number][] = [
      // An unparsable Range is ignored: the whole blob.
      [blob, { headers: { Range: "bytes=0-1" + " ".repeat(HEADER_RUN) + "x" } }, 200],
      [blob, { headers: { "If-None-Match": '"a"' + " ".repeat(HEADER_RUN) + "x" } }, 200],
      [
        blob,
        { headers: { Range: "bytes=0-1", "If-Range": '"a"' + " ".repeat(HEADER_RUN) + "x" } },
        200,
      ],
      [`${blob}?format=bao&chunks=0..${"%20".repeat(HEADER_RUN / 3)}x`, {}, 400],
      [`${gw.url}/get/${body.hash}?ranges=${"=".repeat(HEADER_RUN)}A`, {}, 400],
    ];
    for (const [url, init, status] of cases) {
      const start = performance.now();
      const res = await fetch(url, init);
      await res.body?.cancel();
      const ms = performance.now() - start;
      assertEquals(res.status, status, url.slice(0, 80));
      assert(ms < 4 * BOUND_MS, `${url.slice(0, 80)} took ${ms.toFixed(0)} ms`);
    }
  });
});
