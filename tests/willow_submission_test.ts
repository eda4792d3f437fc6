/**
 * The entry submission body (entry ‖ capability ‖ signature ‖ payload) read from streams in any
 * chunking, its decoder under random and mutated input, and paths in URLs.
 */
import { assert, assertEquals, assertThrows } from "./assert.ts";
import { randomBytes, randomInt, seededRandom } from "./random.ts";
import { InvalidWillowValueError, WillowDecodeError } from "../src/willow/errors.ts";
import { generateKeyPair } from "../src/willow/keys.ts";
import { type Path, pathFromStrings, pathOf } from "../src/willow/path.ts";
import { pathFromUrl, pathToUrl } from "../src/willow/path_url.ts";
import {
  encodeSubmissionHead,
  MAX_SUBMISSION_HEAD,
  readSubmission,
} from "../src/willow/submission.ts";
import { authorised, entryOf, ownedWriter } from "./willow_helpers.ts";

/** `bytes` as a stream of pieces of random sizes. */
function pieces(bytes: Uint8Array, rand: () => number): ReadableStream<Uint8Array> {
  const out: Uint8Array[] = [];
  for (let i = 0; i < bytes.length;) {
    const n = randomInt(rand, 0, 40);
    out.push(bytes.slice(i, i + n));
    i += n;
  }
  return ReadableStream.from(out);
}

async function text(stream: ReadableStream<Uint8Array>): Promise<string> {
  return await new Response(stream).text();
}

async function validHead() {
  const w = await ownedWriter();
  const a = await authorised(w, entryOf(w, w.user.publicKey, ["blog", "post"], 42n, "payload!"));
  return { a, head: encodeSubmissionHead(a.entry, a.capability, a.signature) };
}

Deno.test("willow submission: the head is read from any chunking, the rest is the payload", async () => {
  const { a, head } = await validHead();
  const rand = seededRandom(11);
  for (let round = 0; round < 20; round++) {
    const withPayload = round % 2 === 0;
    const body = new Uint8Array([
      ...head,
      ...(withPayload ? new TextEncoder().encode("payload!") : []),
    ]);
    const s = await readSubmission(pieces(body, rand));
    assertEquals(s.entry, a.entry);
    assertEquals(s.signature, a.signature);
    assertEquals(s.hasPayload, withPayload);
    assertEquals(await text(s.payload), withPayload ? "payload!" : "");
  }
});

Deno.test("willow submission: random and mutated bodies fail with WillowDecodeError only", async () => {
  const { head } = await validHead();
  const rand = seededRandom(12);
  let rejected = 0;
  for (let i = 0; i < 400; i++) {
    const body = i % 2 === 0 ? randomBytes(randomInt(rand, 0, 300), rand) : head.slice();
    if (i % 2 === 1) {
      for (let m = randomInt(rand, 1, 4); m > 0; m--) {
        body[randomInt(rand, 0, body.length - 1)] = randomInt(rand, 0, 255);
      }
    }
    const cut = i % 3 === 0 ? body.subarray(0, randomInt(rand, 0, body.length)) : body;
    try {
      const s = await readSubmission(pieces(cut, rand));
      await s.payload.cancel();
    } catch (e) {
      assert(e instanceof WillowDecodeError, `body ${i} threw ${e}`);
      rejected++;
    }
  }
  assert(rejected > 200, `${rejected} rejected`);
});

Deno.test("willow submission: a head longer than its limit is refused, in linear time", async () => {
  // An owned capability announcing 1,000 delegations, each the full area again (three bytes),
  // a user and a signature: valid as far as it goes, and longer than the limit.
  const key = (await generateKeyPair()).publicKey;
  const { head } = await validHead();
  const entryLength = head.length - (1 + 32 + 32 + 64) - 64;
  const delegation = [0x60, 0x00, 0x00, ...key, ...new Uint8Array(64)];
  const capability = [0xfd, ...key, ...key, ...new Uint8Array(64), 0x03, 0xe8];
  const body = new Uint8Array([
    ...head.subarray(0, entryLength),
    ...capability,
    ...Array.from({ length: 1000 }, () => delegation).flat(),
  ]);
  assert(body.length > MAX_SUBMISSION_HEAD);
  // One byte at a time: decoding restarts only as the buffer doubles.
  const bytes = Array.from(body, (b) => Uint8Array.of(b));
  const started = performance.now();
  const e = await readSubmission(ReadableStream.from(bytes)).catch((x) => x);
  assert(e instanceof WillowDecodeError, String(e));
  assertEquals(e.kind, "invalid");
  assert(e.message.includes("longer than"), e.message);
  assert(performance.now() - started < 5_000);
});

Deno.test("willow path urls: canonical strings round-trip and other spellings read the same", () => {
  const rand = seededRandom(13);
  for (let i = 0; i < 300; i++) {
    const p: Path = pathOf(
      Array.from({ length: randomInt(rand, 0, 4) }, () => randomBytes(randomInt(rand, 0, 6), rand)),
    );
    const url = pathToUrl(p);
    assert(/^(\/[A-Za-z0-9\-._~%]*)*$/.test(url), url);
    assertEquals(pathFromUrl(url), p);
  }
  assertEquals(pathToUrl(pathFromStrings()), "");
  assertEquals(pathToUrl(pathFromStrings("")), "/");
  assertEquals(pathFromUrl("/blog/h%C3%A9/x y"), pathFromStrings("blog", "hé", "x y"));
  assertEquals(pathFromUrl("/blog/hé"), pathFromStrings("blog", "hé"));
  assertThrows(() => pathFromUrl("blog"), InvalidWillowValueError);
  assertThrows(() => pathFromUrl("/a%2"), InvalidWillowValueError);
  assertThrows(() => pathFromUrl("/" + "a/".repeat(1100)), InvalidWillowValueError);
});
