/**
 * `multipart/byteranges` bodies (RFC 9110 §14.6, RFC 2046 §5.1.1): the framing byte for byte,
 * the promised length against the produced body for random range sets, a parser that splits
 * the body back into parts, and sources that lie about their length or fail.
 */
import { assert, assertEquals, assertRejects } from "./assert.ts";
import { randomBytes, randomInt, seededRandom } from "./random.ts";
import { BodyLengthError } from "../src/http/errors.ts";
import { exactLength } from "../src/http/exact_length.ts";
import { byterangesBody, layoutByteranges, randomBoundary } from "../src/http/multipart.ts";
import { type ByteRange, parseRange, type SatisfiableRanges } from "../src/http/range.ts";

const text = new TextEncoder();

/**
 * One character per byte. (`TextDecoder("latin1")` is windows-1252 by the Encoding standard,
 * which maps 0x80–0x9f elsewhere.)
 */
function binaryString(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 8192) {
    s += String.fromCharCode(...bytes.subarray(i, i + 8192));
  }
  return s;
}

/** Serves `data`'s bytes for a range in pieces of random sizes (at least one byte). */
function sliced(data: Uint8Array, rand: () => number) {
  return async function* (range: ByteRange): AsyncGenerator<Uint8Array> {
    for (let at = range.first; at <= range.last;) {
      const end = Math.min(range.last + 1, at + randomInt(rand, 1, 4096));
      yield data.subarray(at, end);
      at = end;
    }
  };
}

async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

interface Part {
  headers: Map<string, string>;
  body: Uint8Array;
}

/**
 * Splits a multipart body at its delimiters (RFC 2046 §5.1.1), independently of how the
 * writer laid it out: `--b` at the start, `CRLF--b` between parts, `CRLF--b--` at the end.
 * Bodies are binary, so the split works on a string of one character per byte.
 */
function parseMultipart(body: Uint8Array, boundary: string): Part[] {
  const s = binaryString(body);
  assert(s.startsWith(`--${boundary}\r\n`), "body starts with the first boundary");
  const close = `\r\n--${boundary}--\r\n`;
  assert(s.endsWith(close), "body ends with the close delimiter");
  const inner = s.slice(`--${boundary}\r\n`.length, s.length - close.length);
  return inner.split(`\r\n--${boundary}\r\n`).map((chunk) => {
    const blank = chunk.indexOf("\r\n\r\n");
    assert(blank >= 0, "a part has a header block");
    const headers = new Map<string, string>();
    for (const line of chunk.slice(0, blank).split("\r\n")) {
      const colon = line.indexOf(":");
      headers.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim());
    }
    const bytes = Uint8Array.from(chunk.slice(blank + 4), (c) => c.charCodeAt(0));
    return { headers, body: bytes };
  });
}

Deno.test("multipart: boundaries are fresh, long and need no quoting", () => {
  const seen = new Set<string>();
  for (let i = 0; i < 100; i++) {
    const b = randomBoundary();
    assert(/^[0-9a-f]{48}$/.test(b), b);
    seen.add(b);
  }
  assertEquals(seen.size, 100);
});

Deno.test("multipart: the framing of RFC 2046 §5.1.1, byte for byte", async () => {
  const data = text.encode("0123456789abcdefghij");
  const ranges: SatisfiableRanges = [{ first: 0, last: 1 }, { first: 5, last: 7 }];
  const layout = layoutByteranges(ranges, "text/plain; charset=utf-8", data.length);
  const b = layout.boundary;
  const expected = `--${b}\r\n` +
    "Content-Type: text/plain; charset=utf-8\r\n" +
    "Content-Range: bytes 0-1/20\r\n\r\n" +
    "01" +
    `\r\n--${b}\r\n` +
    "Content-Type: text/plain; charset=utf-8\r\n" +
    "Content-Range: bytes 5-7/20\r\n\r\n" +
    "567" +
    `\r\n--${b}--\r\n`;
  assertEquals(layout.contentType, `multipart/byteranges; boundary=${b}`);
  assertEquals(layout.contentLength, expected.length);
  const body = await readAll(byterangesBody(layout, sliced(data, seededRandom(1))));
  assertEquals(binaryString(body), expected);
});

Deno.test("multipart: Content-Length is exact and the parts parse back (random ranges)", async () => {
  const rand = seededRandom(0x5eed_0004);
  for (let iter = 0; iter < 150; iter++) {
    const size = randomInt(rand, 1, 3) === 1 ? randomInt(rand, 1, 40) : randomInt(rand, 1, 200_000);
    const data = randomBytes(size, rand);
    const specs = Array.from({ length: randomInt(rand, 2, 12) }, () => {
      const first = randomInt(rand, 0, size - 1);
      return `${first}-${first + randomInt(rand, 0, size / 4)}`;
    });
    const decision = parseRange(`bytes=${specs.join(",")}`, size);
    assert(decision.kind === "ranges");
    const partType = ["application/octet-stream", "video/mp4", "text/plain; charset=utf-8"][
      iter % 3
    ];
    const layout = layoutByteranges(decision.ranges, partType, size);
    const body = await readAll(byterangesBody(layout, sliced(data, rand)));
    const context = `seed 0x5eed0004 iter ${iter}: ${specs.join(",")} of ${size}`;
    assertEquals(body.length, layout.contentLength, context);

    const parts = parseMultipart(body, layout.boundary);
    assertEquals(parts.length, decision.ranges.length, context);
    parts.forEach((part, i) => {
      const { first, last } = decision.ranges[i];
      assertEquals(part.headers.get("content-type"), partType, context);
      const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(part.headers.get("content-range") ?? "");
      assert(m !== null, context);
      assertEquals([Number(m[1]), Number(m[2]), Number(m[3])], [first, last, size], context);
      assertEquals(part.body, data.subarray(first, last + 1), context);
    });
  }
});

Deno.test("multipart: a source that ends short or runs long cuts the body", async () => {
  const data = randomBytes(1000, seededRandom(5));
  const ranges: SatisfiableRanges = [{ first: 0, last: 99 }, { first: 500, last: 599 }];
  const layout = layoutByteranges(ranges, "application/octet-stream", data.length);
  const short = async function* (r: ByteRange) {
    yield data.subarray(r.first, r.last); // one byte missing
  };
  const long = async function* (r: ByteRange) {
    yield data.subarray(r.first, r.last + 2); // one byte extra
  };
  for (const [source, expected, received] of [[short, 100, 99], [long, 100, 101]] as const) {
    const err = await assertRejects(
      () => readAll(byterangesBody(layout, source)),
      BodyLengthError,
    );
    assertEquals([err.expected, err.received], [expected, received]);
  }
});

Deno.test("multipart: what reached the client before an error never exceeds the promise", async () => {
  const data = randomBytes(1000, seededRandom(6));
  const ranges: SatisfiableRanges = [{ first: 0, last: 99 }, { first: 500, last: 599 }];
  const layout = layoutByteranges(ranges, "application/octet-stream", data.length);
  const failing = async function* (r: ByteRange) {
    yield data.subarray(r.first, r.first + 50);
    if (r.first === 500) throw new RangeError("storage lost the rest");
    yield data.subarray(r.first + 50, r.last + 1);
  };
  const reader = byterangesBody(layout, failing).getReader();
  let received = 0;
  const failure = await assertRejects(async () => {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      received += value.length;
    }
  }, RangeError);
  assertEquals(failure.message, "storage lost the rest");
  assertEquals(received, layout.parts[0].head.length + 100 + layout.parts[1].head.length + 50);
  assert(received < layout.contentLength);
});

Deno.test("multipart: cancelling the body closes the current source", async () => {
  const data = randomBytes(100_000, seededRandom(7));
  const ranges: SatisfiableRanges = [{ first: 0, last: 49_999 }, { first: 60_000, last: 99_999 }];
  const layout = layoutByteranges(ranges, "application/octet-stream", data.length);
  const closed: number[] = [];
  const source = async function* (r: ByteRange) {
    try {
      for (let at = r.first; at <= r.last; at += 1000) yield data.subarray(at, at + 1000);
    } finally {
      closed.push(r.first);
    }
  };
  const reader = byterangesBody(layout, source).getReader();
  for (let i = 0; i < 3; i++) assert(!(await reader.read()).done);
  await reader.cancel();
  assertEquals(closed, [0]);
});

Deno.test("exactLength: passes exact sources through, drops empty chunks", async () => {
  async function* pieces() {
    yield new Uint8Array(3);
    yield new Uint8Array(0);
    yield new Uint8Array(2);
  }
  const lengths: number[] = [];
  for await (const chunk of exactLength(pieces(), 5)) lengths.push(chunk.length);
  assertEquals(lengths, [3, 2]);
  const err = await assertRejects(async () => {
    for await (const _ of exactLength(pieces(), 4));
  }, BodyLengthError);
  assertEquals([err.expected, err.received], [4, 5]);
});
