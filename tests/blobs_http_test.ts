/**
 * The blob HTTP API through real HTTP on loopback against real Deno KV: every row of the
 * contract issue 3 covers, every range form, the error statuses, corruption of stored pages.
 */
import { assert, assertEquals } from "./assert.ts";
import { parseHash, toHex } from "../src/blake3/hash.ts";
import { hash } from "../src/blake3/tree.ts";
import { BaoDecoder } from "../src/bao/decode.ts";
import { outboardOf } from "../src/bao/outboard.ts";
import { ChunkRanges } from "../src/ranges/chunk_ranges.ts";
import { keys } from "../src/store/layout.ts";
import { concat } from "./bao_helpers.ts";
import { createApp } from "../routes/app.ts";
import { metricValue, startGateway, upload, withGateway } from "./gateway_helpers.ts";
import { randomBytes, randomInt, seededRandom } from "./random.ts";

async function bytes(res: Response): Promise<Uint8Array> {
  return new Uint8Array(await res.arrayBuffer());
}

function assertBlobHeaders(res: Response, data: Uint8Array) {
  const h = toHex(hash(data));
  assertEquals(res.headers.get("ETag"), `"${h}"`);
  const b64 = btoa(String.fromCharCode(...hash(data)));
  assertEquals(res.headers.get("Repr-Digest"), `blake3=:${b64}:`);
  assertEquals(res.headers.get("Accept-Ranges"), "bytes");
  assertEquals(
    res.headers.get("Cache-Control"),
    "public, max-age=31536000, immutable, no-transform",
  );
  assertEquals(res.headers.get("X-Content-Type-Options"), "nosniff");
  assert(res.headers.get("Content-Type") !== null);
}

Deno.test("blobs: sizes 0, 1, 16 KiB ± 1, 1 MiB + 7, 64 MiB round-trip with the contract headers", async () => {
  await withGateway(async (gw) => {
    const rand = seededRandom(1);
    for (const size of [0, 1, 16383, 16384, 16385, (1 << 20) + 7, 64 << 20]) {
      const data = randomBytes(size, rand);
      const up = await upload(gw.url, data);
      assertEquals(up.status, 201, `size ${size}`);
      assertEquals(up.body, { hash: toHex(hash(data)), size });
      const again = await upload(gw.url, data);
      assertEquals([again.status, again.body.hash], [200, up.body.hash], "re-adding is idempotent");
      const res = await fetch(`${gw.url}/blobs/${up.body.hash}`);
      assertEquals(res.status, 200);
      assertBlobHeaders(res, data);
      assertEquals(res.headers.get("Content-Length"), String(size));
      const body = await bytes(res);
      assert(body.length === size && toHex(hash(body)) === up.body.hash, `body of ${size}`);
      const head = await fetch(`${gw.url}/blobs/${up.body.hash}`, { method: "HEAD" });
      assertEquals([head.status, head.headers.get("Content-Length")], [200, String(size)]);
      assertBlobHeaders(head, data);
      assertEquals((await bytes(head)).length, 0);
    }
  });
});

Deno.test("blobs: every range form, If-Range, If-None-Match, 416", async () => {
  await withGateway(async (gw) => {
    const data = randomBytes(100_000, seededRandom(2));
    const { body } = await upload(gw.url, data);
    const url = `${gw.url}/blobs/${body.hash}`;
    const etag = `"${body.hash}"`;
    const get = (headers: Record<string, string>) => fetch(url, { headers });
    const single: [string, number, number][] = [
      ["bytes=0-0", 0, 0],
      ["bytes=10-20", 10, 20],
      ["bytes=99000-", 99000, 99999],
      ["bytes=-50", 99950, 99999],
      ["bytes=-200000", 0, 99999],
      ["bytes=99990-200000", 99990, 99999],
      ["bytes=0-10,5-20", 0, 20],
      ["bytes=16383-16384", 16383, 16384],
    ];
    for (const [range, first, last] of single) {
      const res = await get({ Range: range });
      assertEquals(res.status, 206, range);
      assertEquals(res.headers.get("Content-Range"), `bytes ${first}-${last}/100000`, range);
      assertEquals(res.headers.get("Content-Length"), String(last - first + 1));
      assertBlobHeaders(res, data);
      assertEquals(await bytes(res), data.subarray(first, last + 1), range);
    }
    // Several ranges: multipart/byteranges, each part with its Content-Range.
    const multi = await get({ Range: "bytes=50000-50009, 0-4,90000-" });
    assertEquals(multi.status, 206);
    const type = multi.headers.get("Content-Type")!;
    const boundary = /^multipart\/byteranges; boundary=(.+)$/.exec(type)![1];
    const raw = await bytes(multi);
    // windows-1252 maps each byte to one character, so string offsets are byte offsets.
    const text = new TextDecoder("windows-1252").decode(raw);
    const delimiters: number[] = [];
    for (let i = text.indexOf(`--${boundary}`); i >= 0; i = text.indexOf(`--${boundary}`, i + 1)) {
      delimiters.push(i);
    }
    assertEquals(delimiters.length, 4);
    const expected = [[0, 4], [50000, 50009], [90000, 99999]];
    for (let i = 0; i < 3; i++) {
      const headEnd = text.indexOf("\r\n\r\n", delimiters[i]) + 4;
      const head = text.slice(delimiters[i], headEnd);
      const [a, b] = expected[i];
      assert(head.includes(`Content-Range: bytes ${a}-${b}/100000`), head);
      // The CRLF before the next delimiter belongs to the delimiter.
      assertEquals(raw.subarray(headEnd, delimiters[i + 1] - 2), data.subarray(a, b + 1));
    }
    // Unsatisfiable: 416 with the size; unparsable: ignored, 200.
    const bad = await get({ Range: "bytes=100000-" });
    assertEquals([bad.status, bad.headers.get("Content-Range")], [416, "bytes */100000"]);
    assertEquals((await bad.json()).error, "range not satisfiable");
    // Refusals answer one request, not the blob: no cache may keep them.
    assertEquals(bad.headers.get("Cache-Control"), "no-store");
    const failed = await get({ "If-Match": '"nope"' });
    assertEquals([failed.status, failed.headers.get("Cache-Control")], [412, "no-store"]);
    assertEquals((await failed.json()).error, "precondition failed");
    const badBao = await fetch(`${gw.url}/blobs/${body.hash}?format=bao`, {
      headers: { Range: "bytes=100000-" },
    });
    assertEquals(badBao.status, 416);
    assertEquals([badBao.headers.get("Cache-Control"), badBao.headers.get("Vary")], [
      "no-store",
      "Range",
    ]);
    await badBao.body?.cancel();
    for (const junk of ["bytes=abc", "items=0-1", "bytes=5-2", "bytes 0-1"]) {
      const res = await get({ Range: junk });
      assertEquals(res.status, 200, junk);
      assertEquals((await bytes(res)).length, data.length);
    }
    // If-Range: our strong tag keeps the range, anything else gets the whole blob.
    const kept = await get({ Range: "bytes=0-9", "If-Range": etag });
    assertEquals([kept.status, (await bytes(kept)).length], [206, 10]);
    for (const other of ['"something-else"', `W/${etag}`, "Sat, 01 Jan 2000 00:00:00 GMT"]) {
      const full = await get({ Range: "bytes=0-9", "If-Range": other });
      assertEquals([full.status, (await bytes(full)).length], [200, 100000], other);
    }
    // If-None-Match: 304 with the validators and no body, for GET and HEAD.
    for (const inm of [etag, `W/${etag}`, `"x", ${etag}`, "*"]) {
      const res = await get({ "If-None-Match": inm });
      assertEquals(res.status, 304, inm);
      assertEquals(res.headers.get("ETag"), etag);
      await res.body?.cancel();
    }
    const notMatching = await get({ "If-None-Match": '"x"' });
    assertEquals(notMatching.status, 200);
    await notMatching.body?.cancel();
    // Range is for GET only: HEAD gets the 200 headers.
    const head = await fetch(url, { method: "HEAD", headers: { Range: "bytes=0-9" } });
    assertEquals([head.status, head.headers.get("Content-Length")], [200, "100000"]);
  });
});

Deno.test("blobs: ?format=bao decodes to exactly the requested chunks, as the CLI encodes", async () => {
  await withGateway(async (gw) => {
    const rand = seededRandom(3);
    const data = randomBytes(1_000_003, rand);
    const { body } = await upload(gw.url, data);
    const root = parseHash(body.hash!);
    const decode = async (res: Response, ranges: ChunkRanges) => {
      assertEquals(res.status, 200);
      assertEquals(res.headers.get("Content-Type"), "application/x-bao");
      const encoded = await bytes(res);
      assertEquals(res.headers.get("Content-Length"), String(encoded.length));
      const decoder = new BaoDecoder(root, ranges, 4);
      const pieces = decoder.push(encoded);
      decoder.finish();
      return { encoded, pieces };
    };
    for (let i = 0; i < 12; i++) {
      const a = randomInt(rand, 0, data.length - 1);
      const b = randomInt(rand, a, Math.min(a + 300_000, data.length - 1));
      const ranges = ChunkRanges.fromBytes(a, b + 1);
      const res = await fetch(`${gw.url}/blobs/${body.hash}?format=bao`, {
        headers: { Range: `bytes=${a}-${b}` },
      });
      const { pieces } = await decode(res, ranges);
      // Exactly the chunks [⌊a/1024⌋, ⌈(b+1)/1024⌉): nothing more, nothing less.
      const got = pieces.reduce(
        (s, p) => s.union(ChunkRanges.fromBytes(p.offset, p.offset + p.data.length)),
        ChunkRanges.EMPTY,
      );
      const lastChunk = Math.ceil(data.length / 1024) - 1;
      const expected = ranges.truncate(data.length).intersection(
        ChunkRanges.range(0, lastChunk + 1),
      );
      assert(got.equals(expected), `bytes ${a}-${b}: got ${got}, expected ${expected}`);
      for (const p of pieces) {
        assertEquals(p.data, data.subarray(p.offset, p.offset + p.data.length));
      }
    }
    // ?chunks= gives the same bytes as the CLI's --ranges, and the whole blob without either.
    const dir = await Deno.makeTempDir();
    try {
      await Deno.writeFile(`${dir}/f`, data);
      for (const spec of ["0..4,10..", "3..5", "975.."]) {
        const cli = new URL("../cli/bao.ts", import.meta.url).pathname;
        const out = await new Deno.Command(Deno.execPath(), {
          args: ["run", "-A", cli, "encode", `${dir}/f`, `${dir}/e`, "--ranges", spec],
        }).output();
        assertEquals(out.code, 0);
        const res = await fetch(`${gw.url}/blobs/${body.hash}?format=bao&chunks=${spec}`);
        const { encoded } = await decode(res, ChunkRanges.parse(spec));
        assertEquals(encoded, await Deno.readFile(`${dir}/e`), spec);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
    const whole = await fetch(`${gw.url}/blobs/${body.hash}?format=bao`);
    const { encoded } = await decode(whole, ChunkRanges.ALL);
    assertEquals(encoded.length, 8 + data.length + outboardOf(data).pairs.length);
    // The entity tag names the ranges by a digest: every spelling of them shares it, other
    // ranges do not, and it stays short however many ranges were asked for.
    const tagOf = async (chunks: string) => {
      const res = await fetch(`${gw.url}/blobs/${body.hash}?format=bao&chunks=${chunks}`, {
        method: "HEAD",
      });
      return res.headers.get("ETag")!;
    };
    const many = Array.from({ length: 400 }, (_, i) => `${2 * i}..${2 * i + 1}`);
    const tag = await tagOf(many.join(","));
    assertEquals(tag, await tagOf(many.toReversed().join(",")));
    assert(tag !== await tagOf(many.slice(1).join(",")));
    assert(tag.length < 128, tag);
    assertEquals(await tagOf("0..4,4..8"), await tagOf("0..8"));
  });
});

Deno.test("blobs: the outboard endpoint serves the pre-order outboard", async () => {
  await withGateway(async (gw) => {
    const data = randomBytes(5 << 20, seededRandom(4));
    const { body } = await upload(gw.url, data);
    const res = await fetch(`${gw.url}/blobs/${body.hash}/outboard`);
    assertEquals(res.status, 200);
    assertEquals(await bytes(res), outboardOf(data, 4, "pre").pairs);
    const small = await upload(gw.url, randomBytes(100, seededRandom(5)));
    const empty = await fetch(`${gw.url}/blobs/${small.body.hash}/outboard`);
    assertEquals([empty.status, (await bytes(empty)).length], [200, 0]);
  });
});

Deno.test("blobs: 400 for bad hashes and parameters, 404 for unknown blobs and routes", async () => {
  await withGateway(async (gw) => {
    const { body } = await upload(gw.url, randomBytes(5000, seededRandom(6)));
    const cases: [string, number][] = [
      ["/blobs/xyz", 400],
      ["/blobs/" + "g".repeat(64), 400],
      ["/blobs/" + body.hash!.slice(1), 400],
      [`/blobs/${body.hash}?format=bao&chunks=5..2`, 400],
      [`/blobs/${body.hash}?format=bao&chunks=abc`, 400],
      [`/blobs/${body.hash}?format=car`, 400],
      [`/blobs/${body.hash}?type=not%20a%20type`, 400],
      ["/blobs/" + "0".repeat(64), 404],
      ["/blobs/" + "0".repeat(64) + "/outboard", 404],
      ["/nothing/here", 404],
    ];
    for (const [path, status] of cases) {
      const res = await fetch(`${gw.url}${path}`);
      assertEquals(res.status, status, path);
      const json = await res.json();
      assert(typeof json.error === "string" && typeof json.detail === "string", path);
    }
    // Base32 names the same blob.
    const { toBase32 } = await import("../src/blake3/hash.ts");
    const b32 = toBase32(parseHash(body.hash!));
    const viaB32 = await fetch(`${gw.url}/blobs/${b32}`);
    assertEquals(viaB32.status, 200);
    await viaB32.body?.cancel();
  });
});

Deno.test("blobs: content type from sniffing, ?type= override, and the sandbox policy", async () => {
  await withGateway(async (gw) => {
    const png = concat([
      Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a),
      randomBytes(100, seededRandom(7)),
    ]);
    const { body } = await upload(gw.url, png);
    const res = await fetch(`${gw.url}/blobs/${body.hash}`, { method: "HEAD" });
    assertEquals(res.headers.get("Content-Type"), "image/png");
    assertEquals(res.headers.get("Content-Security-Policy"), "sandbox");
    const over = await fetch(`${gw.url}/blobs/${body.hash}?type=text/plain`, { method: "HEAD" });
    assertEquals(over.headers.get("Content-Type"), "text/plain");
    const html = await upload(gw.url, new TextEncoder().encode("<html><script>x</script></html>"));
    const sniffed = await fetch(`${gw.url}/blobs/${html.body.hash}`, { method: "HEAD" });
    assertEquals(sniffed.headers.get("Content-Type"), "text/plain; charset=utf-8");
  });
});

Deno.test("blobs: writes need the bearer token when one is set: 401 without, 403 wrong", async () => {
  await withGateway(async (gw) => {
    const data = randomBytes(1000, seededRandom(8));
    assertEquals((await upload(gw.url, data)).status, 401);
    assertEquals((await upload(gw.url, data, { Authorization: "Bearer nope" })).status, 403);
    const ok = await upload(gw.url, data, { Authorization: "Bearer s3cret" });
    assertEquals(ok.status, 201);
    const del = await fetch(`${gw.url}/blobs/${ok.body.hash}`, { method: "DELETE" });
    assertEquals(del.status, 401);
    await del.body?.cancel();
    const res401 = await fetch(`${gw.url}/blobs`, { method: "POST", body: data });
    assertEquals(res401.headers.get("WWW-Authenticate"), 'Bearer realm="gateway"');
    await res401.body?.cancel();
    // Reads need nothing.
    const read = await fetch(`${gw.url}/blobs/${ok.body.hash}`);
    assertEquals((await bytes(read)).length, 1000);
  }, { GATEWAY_TOKEN: "s3cret" });
});

Deno.test("blobs: without a token, only loopback clients may write (403 from another address)", async (t) => {
  const external = Deno.networkInterfaces().find((i) =>
    i.family === "IPv4" && !i.address.startsWith("127.")
  );
  if (external === undefined) {
    console.warn("no non-loopback IPv4 interface here: skipping the non-loopback write check");
    return;
  }
  await t.step(`writing via ${external.address} is refused`, async () => {
    const gw = await startGateway({ hostname: external.address });
    try {
      const res = await upload(gw.url, randomBytes(10, seededRandom(9)));
      assertEquals(res.status, 403);
      assert(res.body.error === "forbidden");
    } finally {
      await gw.close();
    }
  });
});

/** A raw HTTP/1.1 POST, so that `Host` can be anything (fetch sets it from the URL). */
async function rawPost(url: string, host: string, body: string): Promise<number> {
  const { hostname, port } = new URL(url);
  const conn = await Deno.connect({ hostname, port: Number(port) });
  try {
    const head = `POST /blobs HTTP/1.1\r\nHost: ${host}\r\nContent-Length: ${body.length}\r\n` +
      `Connection: close\r\n\r\n`;
    await conn.write(new TextEncoder().encode(head + body));
    const reply = new TextDecoder().decode(concat(await Array.fromAsync(conn.readable)));
    return Number(/^HTTP\/1\.1 (\d{3})/.exec(reply)![1]);
  } catch (e) {
    conn.close();
    throw e;
  }
}

Deno.test("blobs: without a token, another site's page cannot write through a loopback browser", async () => {
  await withGateway(async (gw) => {
    const data = new TextEncoder().encode("drive-by");
    const own = new URL(gw.url).origin;
    const refused: Record<string, string>[] = [
      { Origin: "http://evil.example" },
      { Origin: "null" },
      { "Sec-Fetch-Site": "cross-site" },
      { "Sec-Fetch-Site": "same-site" },
    ];
    for (const headers of refused) {
      const res = await upload(gw.url, data, headers);
      assertEquals([res.status, res.body.error], [403, "forbidden"], JSON.stringify(headers));
      const del = await fetch(`${gw.url}/blobs/${"ab".repeat(32)}`, { method: "DELETE", headers });
      assertEquals(del.status, 403);
      await del.body?.cancel();
    }
    // DNS rebinding: another site's name pointed at 127.0.0.1, so Origin and Host agree.
    assertEquals(await rawPost(gw.url, "evil.example:80", "drive-by"), 403);
    assertEquals(await rawPost(gw.url, "localhost", "fine"), 201);
    // The gateway's own page, and programs (no Origin at all), may.
    const allowed: Record<string, string>[] = [
      { Origin: own, "Sec-Fetch-Site": "same-origin" },
      {},
    ];
    for (const headers of allowed) {
      assert([200, 201].includes((await upload(gw.url, data, headers)).status));
    }
  });
});

Deno.test("blobs: DELETE unpins; the blob stays readable until GC, then 404", async () => {
  await withGateway(async (gw) => {
    const data = randomBytes(70_000, seededRandom(10));
    const { body } = await upload(gw.url, data);
    const other = await fetch(`${gw.url}/blobs/${body.hash}`, {
      method: "DELETE",
      headers: { "If-Match": '"another"' },
    });
    assertEquals([other.status, (await other.json()).error], [412, "precondition failed"]);
    const exists = await fetch(`${gw.url}/blobs/${body.hash}`, {
      method: "DELETE",
      headers: { "If-None-Match": "*" },
    });
    assertEquals([exists.status, (await exists.json()).error], [412, "precondition failed"]);
    const del = await fetch(`${gw.url}/blobs/${body.hash}`, {
      method: "DELETE",
      headers: { "If-Match": `"${body.hash}"` },
    });
    assertEquals(del.status, 204);
    const again = await fetch(`${gw.url}/blobs/${body.hash}`, { method: "DELETE" });
    assertEquals(again.status, 404);
    await again.body?.cancel();
    // Without the conditions it would be 404, so it is 404 with them (RFC 9110 §13.2.1).
    const absent = "ab".repeat(32);
    for (
      const [hex, headers] of [
        [absent, { "If-None-Match": "*" }],
        [absent, { "If-Match": '"another"' }],
        [body.hash!, { "If-None-Match": "*" }],
      ] as const
    ) {
      const res = await fetch(`${gw.url}/blobs/${hex}`, { method: "DELETE", headers });
      assertEquals(
        [res.status, (await res.json()).error],
        [404, "not found"],
        `${hex} ${JSON.stringify(headers)}`,
      );
    }
    const still = await fetch(`${gw.url}/blobs/${body.hash}`);
    assertEquals((await bytes(still)).length, data.length);
    const gc = await fetch(`${gw.url}/admin/gc`, { method: "POST" });
    assertEquals((await gc.json()).blobs, 1);
    const gone = await fetch(`${gw.url}/blobs/${body.hash}`);
    assertEquals(gone.status, 404);
    await gone.body?.cancel();
  });
});

Deno.test("blobs: 413 over the upload limit, declared or streamed, and nothing kept", async () => {
  await withGateway(async (gw) => {
    const data = randomBytes(200_000, seededRandom(11));
    assertEquals((await upload(gw.url, data)).status, 413);
    // No Content-Length: counted while streaming.
    const stream = ReadableStream.from([data.subarray(0, 100_000), data.subarray(100_000)]);
    const res = await upload(gw.url, stream);
    assertEquals(res.status, 413);
    let pages = 0;
    for await (const _ of gw.kv.list({ prefix: ["data"] })) pages++;
    assertEquals(pages, 0);
    assertEquals((await upload(gw.url, data.subarray(0, 100_000))).status, 201);
  }, { GATEWAY_MAX_UPLOAD: "150000" });
});

Deno.test("blobs: a body cut short of its Content-Length is a client error, not a fault; nothing kept", async () => {
  await withGateway(async (gw) => {
    const { port } = new URL(gw.url);
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: Number(port) });
    const head = `POST /blobs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100000\r\n\r\n`;
    await conn.write(new TextEncoder().encode(head));
    await conn.write(randomBytes(40_000, seededRandom(12)));
    await conn.closeWrite();
    // The runtime drops the connection of a broken request, so the answer shows in /metrics.
    const answer = new TextDecoder().decode(concat(await Array.fromAsync(conn.readable)));
    assert(answer === "" || answer.startsWith("HTTP/1.1 400"), answer.slice(0, 80));
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    const posts = (status: string) =>
      metricValue(
        metrics,
        "gateway_requests_total",
        `{route="/blobs",method="POST",status="${status}"}`,
      );
    assertEquals(posts("400"), 1);
    assertEquals(posts("500"), 0);
    let keys = 0;
    for await (const _ of gw.kv.list({ prefix: [] })) keys++;
    assertEquals(keys, 0, "nothing of the cut upload is kept");
    assertEquals((await upload(gw.url, randomBytes(1000, seededRandom(13)))).status, 201);
  });
});

Deno.test("blobs: an upload reclaimed while it stalled is 408, and nothing of it is served", async () => {
  await withGateway(async (gw) => {
    const data = randomBytes(300_000, seededRandom(23));
    let stalled!: () => void;
    const reached = new Promise<void>((r) => stalled = r);
    let resume!: () => void;
    const resumed = new Promise<void>((r) => resume = r);
    const body = ReadableStream.from((async function* () {
      yield data.subarray(0, 200_000);
      stalled();
      await resumed;
      yield data.subarray(200_000);
    })());
    const answer = upload(gw.url, body);
    await reached;
    // Collection, later than the stale limit, presumes the stalled upload dead and reclaims it.
    let reclaimed = 0;
    while (reclaimed === 0) {
      reclaimed = (await gw.store.gc(Date.now() + gw.store.timings.uploadStaleMs + 1000)).uploads;
    }
    resume();
    const { status, body: json } = await answer;
    assertEquals([status, json.error], [408, "upload timed out"]);
    const get = await fetch(`${gw.url}/blobs/${toHex(hash(data))}`);
    assertEquals(get.status, 404);
    await get.body?.cancel();
    assertEquals((await upload(gw.url, data)).status, 201, "sent again, it is stored");
  });
});

Deno.test("blobs: 429 with Retry-After beyond the in-flight cap; health stays reachable", async () => {
  await withGateway(async (gw) => {
    // An upload whose body we hold open keeps one request in flight.
    let release!: () => void;
    const held = new Promise<void>((r) => release = r);
    const body = new ReadableStream<Uint8Array>({
      async start(controller) {
        controller.enqueue(new Uint8Array(1000));
        await held;
        controller.close();
      },
    });
    const slow = fetch(`${gw.url}/blobs`, { method: "POST", body });
    // Wait until the server has the slow request in flight.
    for (let i = 0; i < 100; i++) {
      const m = await (await fetch(`${gw.url}/metrics`)).text();
      if (metricValue(m, "gateway_requests_in_flight") >= 2) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const res = await fetch(`${gw.url}/blobs/${"0".repeat(64)}`);
    assertEquals(res.status, 429);
    assertEquals(res.headers.get("Retry-After"), "1");
    assertEquals((await res.json()).error, "too many requests");
    const health = await fetch(`${gw.url}/health`);
    assertEquals(health.status, 200);
    await health.body?.cancel();
    release();
    assertEquals((await slow).status, 201);
    const m = await (await fetch(`${gw.url}/metrics`)).text();
    assertEquals(metricValue(m, "gateway_requests_rejected_total"), 1);
    // Counted under the route it asked for, not the middleware that refused it.
    assertEquals(
      metricValue(m, "gateway_requests_total", '{route="/blobs/:hash",method="GET",status="429"}'),
      1,
    );
  }, { GATEWAY_MAX_INFLIGHT: "1" });
});

Deno.test("blobs: a download holds its in-flight place until its last byte; HEADs end at once", async () => {
  await withGateway(async (gw) => {
    const data = randomBytes(8 << 20, seededRandom(13));
    const { body } = await upload(gw.url, data);
    // A HEAD answered with a JSON error ends there (and says the GET's length), several times.
    for (let i = 0; i < 3; i++) {
      const head = await fetch(`${gw.url}/blobs/zz`, { method: "HEAD" });
      assertEquals(head.status, 400);
      const get = await fetch(`${gw.url}/blobs/zz`);
      assertEquals(
        head.headers.get("Content-Length"),
        String((await get.arrayBuffer()).byteLength),
      );
    }
    const download = await fetch(`${gw.url}/blobs/${body.hash}`);
    const reader = download.body!.getReader();
    const first = await reader.read();
    const refused = await fetch(`${gw.url}/blobs/${body.hash}`, { method: "HEAD" });
    assertEquals(refused.status, 429, "the download is still in flight after its headers");
    const m = await (await fetch(`${gw.url}/metrics`)).text();
    assert(metricValue(m, "gateway_requests_in_flight") >= 1);
    const rest = [first.value!];
    for (let r = await reader.read(); !r.done; r = await reader.read()) rest.push(r.value);
    assertEquals(concat(rest).length, data.length);
    // Its place is free again once the body has ended (the log line comes at the same moment).
    let after = 0;
    for (let i = 0; i < 50 && after !== 200; i++) {
      const res = await fetch(`${gw.url}/blobs/${body.hash}`, { method: "HEAD" });
      after = res.status;
      if (after !== 200) await new Promise((r) => setTimeout(r, 10));
    }
    assertEquals(after, 200);
    // A download the client abandons frees its place too.
    const abandoned = await fetch(`${gw.url}/blobs/${body.hash}`);
    const partial = abandoned.body!.getReader();
    await partial.read();
    await partial.cancel();
    let freed = 0;
    for (let i = 0; i < 50 && freed !== 200; i++) {
      freed = (await fetch(`${gw.url}/blobs/${body.hash}`, { method: "HEAD" })).status;
      if (freed !== 200) await new Promise((r) => setTimeout(r, 20));
    }
    assertEquals(freed, 200);
  }, { GATEWAY_MAX_INFLIGHT: "1" });
});

Deno.test("blobs: a client that reads nothing for GATEWAY_SEND_TIMEOUT is cut and frees its place", async () => {
  await withGateway(async (gw) => {
    const data = randomBytes(32 << 20, seededRandom(14));
    const { body } = await upload(gw.url, data);
    const stalled = await fetch(`${gw.url}/blobs/${body.hash}`);
    const reader = stalled.body!.getReader();
    await reader.read();
    // It reads no more. Meanwhile, others wait their turn (429)...
    const busy = await fetch(`${gw.url}/blobs/${body.hash}`, { method: "HEAD" });
    assertEquals(busy.status, 429);
    // ... until the send timeout cuts it.
    let after = 0;
    for (let i = 0; i < 100 && after !== 200; i++) {
      await new Promise((r) => setTimeout(r, 50));
      after = (await fetch(`${gw.url}/blobs/${body.hash}`, { method: "HEAD" })).status;
    }
    assertEquals(after, 200);
    // The stalled response was cut, not completed: reading on fails short of its length.
    let got = 0;
    const short = await (async () => {
      try {
        for (let r = await reader.read(); !r.done; r = await reader.read()) got += r.value.length;
        return false;
      } catch {
        return true;
      }
    })();
    assert(short || got < data.length, `read ${got} of ${data.length}`);
  }, { GATEWAY_MAX_INFLIGHT: "1", GATEWAY_SEND_TIMEOUT: "300" });
});

Deno.test("a request body that stops arriving is 408 after GATEWAY_SEND_TIMEOUT and frees its place", async () => {
  await withGateway(async (gw) => {
    const { port } = new URL(gw.url);
    // Headers promising 5,000 bytes, then 5 of them, then nothing, on a raw connection.
    const stall = async (path: string) => {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: Number(port) });
      await conn.write(new TextEncoder().encode(
        `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5000\r\n` +
          "Content-Type: application/octet-stream\r\n\r\nhello",
      ));
      return conn;
    };
    const created = await fetch(`${gw.url}/willow/namespaces`, {
      method: "POST",
      body: JSON.stringify({ kind: "communal", public: true }),
    });
    const { namespace } = await created.json();
    // A binary upload, an iroh request, a Willow submission and a JSON body (admin routes).
    for (
      const path of ["/blobs", "/get", `/willow/${namespace}/entries`, "/willow/namespaces"]
    ) {
      const conn = await stall(path);
      // Its place is taken (the cap is 1) until the deadline frees it.
      await new Promise((r) => setTimeout(r, 50));
      const busy = await fetch(`${gw.url}/blobs/${"00".repeat(32)}`, { method: "HEAD" });
      await busy.body?.cancel();
      assertEquals(busy.status, 429, path);
      const answer = new Uint8Array(4096);
      const n = await conn.read(answer).finally(() => conn.close());
      const text = new TextDecoder().decode(answer.subarray(0, n ?? 0));
      assert(text.startsWith("HTTP/1.1 408"), `${path}: ${text.slice(0, 200)}`);
      assert(text.includes('"error":"request timeout"'), text);
      const free = await fetch(`${gw.url}/blobs/${"00".repeat(32)}`, { method: "HEAD" });
      await free.body?.cancel();
      assertEquals(free.status, 404, `${path}: the place is free again`);
    }
  }, {
    GATEWAY_MAX_INFLIGHT: "1",
    GATEWAY_SEND_TIMEOUT: "300",
    GATEWAY_SECRET_KEY: "ab".repeat(32),
  });
});

Deno.test("a refused request whose body is never read has its connection closed", async () => {
  await withGateway(async (gw) => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: Number(new URL(gw.url).port) });
    try {
      const body = "x".repeat(200_000);
      // Not a loopback name, no token: 403 before the body is read.
      await conn.write(
        new TextEncoder().encode(
          `POST /blobs HTTP/1.1\r\nHost: example.org\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
        ),
      );
      const buf = new Uint8Array(64 * 1024);
      let text = "", closed = false;
      const deadline = Date.now() + 5000;
      while (!closed && Date.now() < deadline) {
        const n = await Promise.race([
          // A reset (the server closed with the body unread) is closed too.
          conn.read(buf).catch((e) => {
            if (e instanceof Deno.errors.ConnectionReset) return null;
            throw e;
          }),
          new Promise<"slow">((r) => setTimeout(() => r("slow"), 200)),
        ]);
        if (n === "slow") continue;
        if (n === null) closed = true;
        else text += new TextDecoder().decode(buf.subarray(0, n));
      }
      assert(text.startsWith("HTTP/1.1 403"), text.slice(0, 100));
      assert(closed, "the server closed the connection");
    } finally {
      conn.close();
    }
  });
});

Deno.test("blobs: a method a resource does not serve is 405 with Allow; an unknown path 404", async () => {
  await withGateway(async (gw) => {
    const h = "ab".repeat(32);
    const cases: [string, string, string | null][] = [
      ["PUT", `/blobs/${h}`, "DELETE, GET, HEAD, OPTIONS"],
      ["POST", `/blobs/${h}/outboard`, "GET, HEAD, OPTIONS"],
      ["GET", "/blobs", "OPTIONS, POST"],
      ["DELETE", `/collections/${h}/a/b.txt`, "GET, HEAD, OPTIONS"],
      // Decoded paths may hold line terminators; the routes match them all the same.
      ["DELETE", `/collections/${h}/a%0Ab%E2%80%A8.txt`, "GET, HEAD, OPTIONS"],
      ["DELETE", `/willow/${h}/${h}/a%0D%0Ab`, "GET, HEAD, OPTIONS, PUT"],
      ["GET", "/nothing/here", null],
    ];
    for (const [method, path, allow] of cases) {
      const res = await fetch(`${gw.url}${path}`, { method });
      assertEquals(
        [res.status, res.headers.get("Allow"), (await res.json()).error],
        allow === null ? [404, null, "not found"] : [405, allow, "method not allowed"],
        `${method} ${path}`,
      );
    }
  });
});

Deno.test("blobs: CORS for reads exposes the range and digest headers", async () => {
  await withGateway(async (gw) => {
    const { body } = await upload(gw.url, randomBytes(3000, seededRandom(12)));
    const pre = await fetch(`${gw.url}/blobs/${body.hash}`, {
      method: "OPTIONS",
      headers: {
        Origin: "https://example.org",
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "range",
      },
    });
    assert(pre.status === 204 || pre.status === 200, `${pre.status}`);
    assertEquals(pre.headers.get("Access-Control-Allow-Origin"), "*");
    // Every method a route serves (writes with the token are PUT and DELETE too), and no other.
    const app = createApp({
      config: gw.config,
      store: gw.store,
      metrics: gw.metrics,
      log: () => {},
    });
    const served = new Set(["HEAD", "OPTIONS"]);
    for (const route of app.routes) if (route.method !== "ALL") served.add(route.method);
    assertEquals(
      pre.headers.get("Access-Control-Allow-Methods")!.split(",").sort(),
      [...served].sort(),
    );
    // Every request header the gateway reads.
    const allowed = pre.headers.get("Access-Control-Allow-Headers")!.toLowerCase().split(",");
    for (
      const h of ["range", "if-match", "if-none-match", "if-range", "cache-control", "accept"]
    ) assert(allowed.includes(h), h);
    await pre.body?.cancel();
    const res = await fetch(`${gw.url}/blobs/${body.hash}`, {
      headers: { Origin: "https://example.org", Range: "bytes=0-1" },
    });
    const exposed = res.headers.get("Access-Control-Expose-Headers")!;
    for (const h of ["Content-Range", "ETag", "Repr-Digest"]) assert(exposed.includes(h), exposed);
    await res.body?.cancel();
  });
});

Deno.test("blobs: one log line per response with the bytes sent, in memory or streamed; CORS on errors", async () => {
  const lines: Record<string, unknown>[] = [];
  const gw = await startGateway({ log: (line) => lines.push(JSON.parse(line)) });
  try {
    const data = randomBytes(300_000, seededRandom(19));
    const { body } = await upload(gw.url, data);
    const url = `${gw.url}/blobs/${body.hash}`;
    // A small range goes out as bytes, the whole blob as a stream.
    const small = await fetch(url, { headers: { Range: "bytes=1000-17383" } });
    assertEquals(
      await small.arrayBuffer().then((b) => new Uint8Array(b)),
      data.subarray(1000, 17384),
    );
    const whole = await fetch(url);
    assertEquals(new Uint8Array(await whole.arrayBuffer()), data);
    const missing = await fetch(`${gw.url}/blobs/${"ab".repeat(32)}`);
    assertEquals(missing.status, 404);
    assertEquals(missing.headers.get("Access-Control-Allow-Origin"), "*");
    await missing.body?.cancel();
    // The last line is written when a streamed body has ended: wait for it.
    for (let i = 0; i < 100 && lines.length < 4; i++) await new Promise((r) => setTimeout(r, 10));
    const reads = lines.filter((l) => l.method === "GET");
    assertEquals(
      reads.map((l) => [l.status, l.bytes, l.outcome]),
      [[206, 16384, "complete"], [200, 300_000, "complete"], [404, reads[2].bytes, "complete"]],
    );
    assert((reads[2].bytes as number) > 0, "the JSON error body is counted");
    // Every response counts, the upload's JSON answer too (not yet the metrics page itself).
    const sent = lines.reduce((n, l) => n + (l.bytes as number), 0);
    const m = await (await fetch(`${gw.url}/metrics`)).text();
    assertEquals(metricValue(m, "gateway_sent_bytes_total"), sent);
  } finally {
    await gw.close();
  }
});

Deno.test("metrics: every request body byte read is counted, whatever became of the request", async () => {
  await withGateway(async (gw) => {
    const received = async () =>
      metricValue(await (await fetch(`${gw.url}/metrics`)).text(), "gateway_received_bytes_total");
    assertEquals(await received(), 0);
    // Stored.
    assertEquals((await upload(gw.url, randomBytes(1000, seededRandom(1)))).status, 201);
    assertEquals(await received(), 1000);
    // Refused once past the limit, with no length declared: what was read counts.
    const tooLarge = ReadableStream.from([
      randomBytes(600, seededRandom(2)),
      randomBytes(600, seededRandom(3)),
    ]);
    assertEquals((await upload(gw.url, tooLarge)).status, 413);
    const afterRefusal = await received();
    assert(afterRefusal >= 2000 && afterRefusal <= 2200, `${afterRefusal}`);
    // A protocol request's body (not an upload) is received bytes too.
    const get = await fetch(`${gw.url}/get`, { method: "POST", body: new Uint8Array(7) });
    await get.body?.cancel();
    assertEquals(await received(), afterRefusal + 7);
  }, { GATEWAY_MAX_UPLOAD: "1000" });
});

Deno.test("metrics: invented methods share one label, and routes are counted by pattern", async () => {
  await withGateway(async (gw) => {
    for (let i = 0; i < 20; i++) {
      const res = await fetch(`${gw.url}/blobs/${i.toString(16).padStart(64, "0")}`, {
        method: `INVENTED${i}`,
      });
      await res.body?.cancel();
    }
    const res = await fetch(`${gw.url}/blobs/${"cd".repeat(32)}`, { method: "DELETE" });
    await res.body?.cancel();
    const m = await (await fetch(`${gw.url}/metrics`)).text();
    const requests = m.split("\n").filter((l) => l.startsWith("gateway_requests_total{"));
    assertEquals(requests.filter((l) => l.includes("INVENTED")), []);
    assertEquals(
      metricValue(m, "gateway_requests_total", '{route="/*",method="other",status="405"}'),
      20,
    );
    assertEquals(
      metricValue(
        m,
        "gateway_requests_total",
        '{route="/blobs/:hash",method="DELETE",status="404"}',
      ),
      1,
    );
  });
});

Deno.test("blobs: a download the client cancels is logged once, as cancelled", async () => {
  const lines: Record<string, unknown>[] = [];
  const gw = await startGateway({ log: (line) => lines.push(JSON.parse(line)) });
  try {
    const { body } = await upload(gw.url, randomBytes(32 << 20, seededRandom(27)));
    const res = await fetch(`${gw.url}/blobs/${body.hash}`);
    const reader = res.body!.getReader();
    await reader.read();
    await reader.cancel();
    const gets = () => lines.filter((l) => l.method === "GET");
    for (let i = 0; i < 100 && gets().length < 1; i++) await new Promise((r) => setTimeout(r, 10));
    // Long enough for a second line, had the cancelled read reported an error as well.
    await new Promise((r) => setTimeout(r, 200));
    assertEquals(gets().map((l) => l.outcome), ["cancelled"]);
  } finally {
    await gw.close();
  }
});

/** Flips one bit of a stored page. */
async function flipStoredBit(kv: Deno.Kv, key: Deno.KvKey, offset: number) {
  const page = (await kv.get<Uint8Array>(key)).value!.slice();
  page[offset] ^= 0x04;
  await kv.set(key, page);
}

/** Reads a response body until it ends or is cut; returns what arrived and whether it was cut. */
async function drain(res: Response): Promise<{ data: Uint8Array; cut: boolean }> {
  const parts: Uint8Array[] = [];
  try {
    for await (const p of res.body!) parts.push(p);
    return { data: concat(parts), cut: false };
  } catch {
    return { data: concat(parts), cut: true };
  }
}

Deno.test("blobs: a flipped bit in a stored data page is never delivered; /metrics counts it", async () => {
  await withGateway(async (gw) => {
    const data = randomBytes(2 << 20, seededRandom(13));
    const { body } = await upload(gw.url, data);
    const meta = (await gw.store.stat(parseHash(body.hash!)))!;
    // Page 20 holds bytes [1310720, 1376256): well past the first body piece.
    await flipStoredBit(gw.kv, keys.dataPage(meta.dataId, 20), 5000);
    const bad = 20 * 65536 + 5000;
    const whole = await fetch(`${gw.url}/blobs/${body.hash}`);
    assertEquals(whole.status, 200);
    const { data: got, cut } = await drain(whole);
    assert(cut, "the stream is cut");
    assert(got.length <= bad - (bad % 16384), `stopped before the bad group (${got.length})`);
    assertEquals(got, data.subarray(0, got.length));
    // A range starting in the bad group: 500 before any byte.
    const r = await fetch(`${gw.url}/blobs/${body.hash}`, { headers: { Range: `bytes=${bad}-` } });
    assertEquals(r.status, 500);
    assertEquals((await r.json()).error, "stored data failed verification");
    const bao = await fetch(`${gw.url}/blobs/${body.hash}?format=bao&chunks=1284..1290`);
    assertEquals(bao.status, 500);
    await bao.body?.cancel();
    // Ranges elsewhere still work.
    const ok = await fetch(`${gw.url}/blobs/${body.hash}`, { headers: { Range: "bytes=0-99999" } });
    assertEquals(await bytes(ok), data.subarray(0, 100_000));
    const m = await (await fetch(`${gw.url}/metrics`)).text();
    assertEquals(metricValue(m, "gateway_verification_failures_total", '{source="store"}'), 3);
  });
});

Deno.test("blobs: a flipped bit in a stored outboard page is caught the same way", async () => {
  await withGateway(async (gw) => {
    const data = randomBytes(2 << 20, seededRandom(14));
    const { body } = await upload(gw.url, data);
    const meta = (await gw.store.stat(parseHash(body.hash!)))!;
    // Post-order pair 0 is the parent of groups 0 and 1.
    await flipStoredBit(gw.kv, keys.obPage(meta.dataId, 0), 10);
    const first = await fetch(`${gw.url}/blobs/${body.hash}`, { headers: { Range: "bytes=0-10" } });
    assertEquals(first.status, 500);
    await first.body?.cancel();
    // The whole outboard (127 pairs) is one body piece: the bad pair fails it before headers.
    const ob = await fetch(`${gw.url}/blobs/${body.hash}/outboard`);
    assertEquals(ob.status, 500);
    await ob.body?.cancel();
    const far = await fetch(`${gw.url}/blobs/${body.hash}`, {
      headers: { Range: "bytes=1048576-1148575" },
    });
    assertEquals(await bytes(far), data.subarray(1048576, 1148576));
  });
});
