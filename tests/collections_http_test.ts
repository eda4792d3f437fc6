/**
 * `/collections` through real HTTP on loopback against real Deno KV: uploads as forms and as
 * tar archives (equal to each other and to `bao collection DIR`), listings in JSON and HTML,
 * entries with every blob semantic, rejected names with nothing left pinned, limits, and garbage
 * collection of a deleted collection with its children.
 */
import { assert, assertEquals } from "./assert.ts";
import { type Hash, parseHash, toHex } from "../src/blake3/hash.ts";
import { hash } from "../src/blake3/tree.ts";
import { encodeCollectionMeta } from "../src/collection/collection.ts";
import { HashSeq } from "../src/collection/hash_seq.ts";
import { blobHolder } from "../src/store/blob_store.ts";
import { paxEntry, TAR_END, tarEntry, tarOf, tarOfDirectory, testTree } from "./archive_helpers.ts";
import { concat } from "./bao_helpers.ts";
import { nothingPinned, postForm, postTar } from "./collection_helpers.ts";
import { withGateway } from "./gateway_helpers.ts";
import { upload } from "./gateway_helpers.ts";
import { randomBytes, seededRandom } from "./random.ts";

const ENC = new TextEncoder();

async function bytes(res: Response): Promise<Uint8Array> {
  return new Uint8Array(await res.arrayBuffer());
}

/** A small collection with names that need escaping in HTML and in URLs. */
function sampleFiles(): [string, Uint8Array<ArrayBuffer>][] {
  const rand = seededRandom(31);
  return [
    ["site/index.html", ENC.encode("<!doctype html><p>hi</p>")],
    ["site/data.json", ENC.encode('{"a":1}')],
    ["site/big.bin", randomBytes(100_000, rand)],
    ["site/<b>&'odd\" name.txt", ENC.encode("odd")],
    ["site/dir with space/ünï.txt", ENC.encode("unicode")],
    ["site/100%.txt", ENC.encode("percent")],
    ["site/empty", new Uint8Array(0)],
  ];
}

/** The URL path of an entry: every segment percent-encoded. */
function entryPath(collection: string, name: string): string {
  return `/collections/${collection}/${name.split("/").map(encodeURIComponent).join("/")}`;
}

Deno.test("collections: a form upload stores files, meta and hash seq as sendme would", async () => {
  await withGateway(async (gw) => {
    const files = sampleFiles();
    const res = await postForm(gw.url, files);
    assertEquals(res.status, 201);
    const sorted = [...files].sort(([a], [b]) => Buffer.compare(ENC.encode(a), ENC.encode(b)));
    const names = sorted.map(([n]) => n);
    // The collection hash, computed independently: hash seq = [meta, children…].
    const meta = encodeCollectionMeta(names);
    const seq = HashSeq.from([hash(meta), ...sorted.map(([, d]) => hash(d))]);
    assertEquals(res.body.hash, toHex(hash(seq.bytes)));
    assertEquals(res.location, `/collections/${res.body.hash}`);
    assertEquals(
      res.body.entries,
      sorted.map(([name, data]) => ({ name, hash: toHex(hash(data)), size: data.length })),
    );
    // Children, meta and hash seq are held by the collection; only the hash seq by the user.
    const collection = parseHash(res.body.hash!);
    for (const h of seq) assert(await gw.store.unpin(h, blobHolder(collection)), toHex(h));
    for (const h of seq) assert(await gw.store.pin(h, blobHolder(collection)));
    assertEquals((await gw.store.stat(collection))?.refs, 1);
    // Uploading the same files again is idempotent.
    const again = await postForm(gw.url, files);
    assertEquals([again.status, again.body.hash], [200, res.body.hash]);
  });
});

Deno.test("collections: form, tar and `bao collection DIR` give the same hash", async () => {
  const rand = seededRandom(32);
  const { parent, files } = await testTree(rand);
  try {
    const cli = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL("../cli/bao.ts", import.meta.url).pathname,
        "collection",
        `${parent}/root`,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert(cli.success, new TextDecoder().decode(cli.stderr));
    const fromCli = new TextDecoder().decode(cli.stdout).trim();
    await withGateway(async (gw) => {
      const form = await postForm(gw.url, files as Map<string, Uint8Array<ArrayBuffer>>);
      assertEquals([form.status, form.body.hash], [201, fromCli]);
      for (const format of ["gnu", "pax"]) {
        const archive = await tarOfDirectory([
          `--format=${format}`,
          "-cf",
          "-",
          "-C",
          parent,
          "root",
        ]);
        // Streamed in small pieces, without a Content-Length.
        const pieces = [];
        for (let i = 0; i < archive.length; i += 1000) pieces.push(archive.slice(i, i + 1000));
        const tar = await postTar(gw.url, ReadableStream.from(pieces));
        assertEquals([tar.status, tar.body.hash], [200, fromCli], format);
      }
      assertEquals(form.body.entries!.map((e) => e.name).sort(), [...files.keys()].sort());
    });
  } finally {
    await Deno.remove(parent, { recursive: true });
  }
});

Deno.test("collections: JSON and HTML listings", async () => {
  await withGateway(async (gw) => {
    const files = sampleFiles();
    const { body } = await postForm(gw.url, files);
    const url = `${gw.url}/collections/${body.hash}`;
    const json = await fetch(url);
    assertEquals(json.status, 200);
    assertEquals(json.headers.get("Content-Type"), "application/json");
    assertEquals(json.headers.get("Vary"), "Accept");
    const listing = await json.json();
    const total = files.reduce((n, [, d]) => n + d.length, 0);
    assertEquals(listing.hash, body.hash);
    assertEquals(listing.totalSize, total);
    const byName = new Map(listing.entries.map((e: { name: string }) => [e.name, e]));
    assertEquals(byName.get("site/index.html"), {
      name: "site/index.html",
      hash: toHex(hash(files[0][1])),
      size: files[0][1].length,
      type: "text/html; charset=utf-8",
    });
    assertEquals((byName.get("site/data.json") as { type: string }).type, "application/json");
    // Sniffed when the name says nothing: random bytes stay octets.
    assertEquals((byName.get("site/empty") as { type: string }).type, "application/octet-stream");
    // A browser's Accept gets the page; curl's */* and JSON-first clients get JSON.
    const browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
    const page = await fetch(url, { headers: { Accept: browser } });
    assertEquals(page.status, 200);
    assert(page.headers.get("Content-Type")!.startsWith("text/html"));
    assert(page.headers.get("Content-Security-Policy")!.includes("default-src 'none'"));
    const html = await page.text();
    assert(!html.includes("<b>&'odd"), "names are escaped");
    assert(html.includes("site/&lt;b&gt;&amp;&#39;odd&quot; name.txt"));
    assert(
      html.includes(`href="${body.hash}/site/%3Cb%3E%26'odd%22%20name.txt"`.replace("'", "&#39;")),
    );
    assert(html.includes(`href="${body.hash}/site/100%25.txt"`));
    assert(html.includes(">98 KiB<"), "sizes in units");
    assert(html.includes(`title="${total} bytes"`), "total");
    for (const accept of ["text/html", "text/*", "text/html;q=0.5, application/json;q=0.4"]) {
      const res = await fetch(url, { headers: { Accept: accept } });
      assert(res.headers.get("Content-Type")!.startsWith("text/html"), accept);
      await res.body?.cancel();
    }
    for (const accept of ["*/*", "application/json, text/html", "text/html;q=0", "image/png"]) {
      const res = await fetch(url, { headers: { Accept: accept } });
      assertEquals(res.headers.get("Content-Type"), "application/json", accept);
      await res.body?.cancel();
    }
  });
});

Deno.test("collections: entries by name with every blob semantic", async () => {
  await withGateway(async (gw) => {
    const files = sampleFiles();
    const { body } = await postForm(gw.url, files);
    const get = (name: string, init?: RequestInit) =>
      fetch(`${gw.url}${entryPath(body.hash!, name)}`, init);
    for (const [name, data] of files) {
      const res = await get(name);
      assertEquals(res.status, 200, name);
      assertEquals(await bytes(res), data, name);
      assertEquals(res.headers.get("ETag"), `"${toHex(hash(data))}"`);
    }
    const html = await get("site/index.html");
    assertEquals(html.headers.get("Content-Type"), "text/html; charset=utf-8");
    assertEquals(html.headers.get("Content-Security-Policy"), "sandbox");
    await html.body?.cancel();
    const json = await get("site/data.json", { method: "HEAD" });
    assertEquals([json.status, json.headers.get("Content-Type")], [200, "application/json"]);
    assertEquals(json.headers.get("Content-Length"), "7");
    assertEquals((await bytes(json)).length, 0);
    const big = files[2][1];
    const range = await get("site/big.bin", { headers: { Range: "bytes=1000-1999" } });
    assertEquals(range.status, 206);
    assertEquals(range.headers.get("Content-Range"), "bytes 1000-1999/100000");
    assertEquals(await bytes(range), big.subarray(1000, 2000));
    const etag = `"${toHex(hash(big))}"`;
    const cached = await get("site/big.bin", { headers: { "If-None-Match": etag } });
    assertEquals(cached.status, 304);
    const bao = await fetch(
      `${gw.url}${entryPath(body.hash!, "site/big.bin")}?format=bao&chunks=0..1`,
    );
    assertEquals([bao.status, bao.headers.get("Content-Type")], [200, "application/x-bao"]);
    await bao.body?.cancel();
    // Not in the collection, or an escaping spelling of a name: 404 with JSON.
    for (const missing of ["site/nope", "site", "site/dir with space"]) {
      const res = await get(missing);
      assertEquals(res.status, 404, missing);
      assertEquals((await res.json()).error, "not found");
    }
    const dotted = await fetch(`${gw.url}/collections/${body.hash}/site/./data.json`);
    assertEquals(dotted.status, 200, "the URL's dot segments are resolved before routing");
    await dotted.body?.cancel();
  });
});

Deno.test("collections: entries whose names hold line terminators are served, GET and HEAD", async () => {
  await withGateway(async (gw) => {
    const files: [string, Uint8Array<ArrayBuffer>][] = [
      "line\nfeed.txt",
      "carriage\rreturn.txt",
      "line\u2028separator.txt",
      "paragraph\u2029separator.txt",
      "dir\r\n/inside.txt",
    ].map((name) => [name, ENC.encode(`contents of ${JSON.stringify(name)}`)]);
    const { status, body } = await postTar(gw.url, tarOf(files));
    assertEquals(status, 201);
    for (const [name, data] of files) {
      const url = `${gw.url}${entryPath(body.hash!, name)}`;
      const res = await fetch(url);
      assertEquals([res.status, await bytes(res)], [200, data], JSON.stringify(name));
      const head = await fetch(url, { method: "HEAD" });
      assertEquals(
        [head.status, head.headers.get("Content-Length")],
        [200, String(data.length)],
        JSON.stringify(name),
      );
      await head.body?.cancel();
    }
  });
});

Deno.test("collections: Content-Disposition names the file in RFC 8187 attr-chars, with an ASCII fallback", async () => {
  await withGateway(async (gw) => {
    const expected: [string, string][] = [
      ["plain.txt", `inline; filename="plain.txt"; filename*=UTF-8''plain.txt`],
      // `'()*` are not attr-chars: left as they are, a parser stops at the quote.
      [
        "it's (1)*.txt",
        `inline; filename="it's (1)*.txt"; filename*=UTF-8''it%27s%20%281%29%2A.txt`,
      ],
      // The fallback has no quote, backslash, percent, control or non-ASCII character.
      [
        'dir/ünï "q"\t100%.txt',
        `inline; filename="_n_ _q__100_.txt"; ` +
        `filename*=UTF-8''%C3%BCn%C3%AF%20%22q%22%09100%25.txt`,
      ],
    ];
    const files = expected.map((
      [name],
    ): [string, Uint8Array<ArrayBuffer>] => [name, ENC.encode(name)]);
    const { status, body } = await postTar(gw.url, tarOf(files));
    assertEquals(status, 201);
    for (const [name, disposition] of expected) {
      const res = await fetch(`${gw.url}${entryPath(body.hash!, name)}`, { method: "HEAD" });
      assertEquals([res.status, res.headers.get("Content-Disposition")], [200, disposition], name);
      await res.body?.cancel();
    }
  });
});

Deno.test("collections: escaping names are rejected with 400 and nothing stays pinned", async () => {
  await withGateway(async (gw) => {
    for (const bad of ["../x", "/abs", "a//b", "a/./b", "a/../b", "back\\slash", "dir/"]) {
      const files: [string, Uint8Array<ArrayBuffer>][] = [
        ["ok.txt", ENC.encode(`fine ${bad}`)],
        [bad, ENC.encode("escaping")],
      ];
      const form = await postForm(gw.url, files);
      assertEquals([form.status, form.body.error], [400, "invalid collection"], bad);
      const tar = await postTar(gw.url, tarOf(files));
      assertEquals([tar.status, tar.body.error], [400, "invalid collection"], bad);
      assert(await nothingPinned(gw.store), bad);
    }
    const dup = await postTar(gw.url, tarOf([["a", ENC.encode("1")], ["a", ENC.encode("2")]]));
    assertEquals(dup.status, 400);
    // A collection whose stored meta blob names an escaping path is refused when read.
    const meta = encodeCollectionMeta(["../x"]);
    const child = ENC.encode("child");
    await upload(gw.url, meta as Uint8Array<ArrayBuffer>);
    await upload(gw.url, child);
    const seq = HashSeq.from([hash(meta), hash(child)]);
    const { body } = await upload(gw.url, seq.bytes as Uint8Array<ArrayBuffer>);
    const res = await fetch(`${gw.url}/collections/${body.hash}`);
    assertEquals([res.status, (await res.json()).error], [400, "invalid collection"]);
  });
});

Deno.test("collections: malformed bodies, wrong types, limits and authorisation", async () => {
  await withGateway(async (gw) => {
    const post = (body: BodyInit, type: string, headers: Record<string, string> = {}) =>
      fetch(`${gw.url}/collections`, {
        method: "POST",
        body,
        headers: { "Content-Type": type, Authorization: "Bearer secret", ...headers },
      });
    const bad = await post("garbage", "application/x-tar");
    assertEquals([bad.status, (await bad.json()).error], [400, "malformed upload"]);
    const noBoundary = await post("x", "multipart/form-data");
    assertEquals([noBoundary.status, (await noBoundary.json()).error], [400, "malformed upload"]);
    const cut = tarOf([["a", randomBytes(5000, seededRandom(33))]]).slice(0, 3000);
    const truncated = await post(cut, "application/x-tar");
    assertEquals(truncated.status, 400);
    await truncated.body?.cancel();
    const wrongType = await post("{}", "application/json");
    assertEquals([wrongType.status, (await wrongType.json()).error], [
      415,
      "unsupported media type",
    ]);
    const noAuth = await fetch(`${gw.url}/collections`, { method: "POST", body: tarOf([]) });
    assertEquals(noAuth.status, 401);
    await noAuth.body?.cancel();
    // Over GATEWAY_MAX_UPLOAD: declared, or counted while streaming; nothing kept pinned.
    const big = tarOf([["a", randomBytes(60_000, seededRandom(34))], [
      "b",
      randomBytes(60_000, seededRandom(35)),
    ]]);
    const declared = await post(big, "application/x-tar");
    assertEquals(declared.status, 413);
    await declared.body?.cancel();
    const streamed = await post(
      ReadableStream.from([big.slice(0, 70_000), big.slice(70_000)]),
      "application/x-tar",
    );
    assertEquals([streamed.status, (await streamed.json()).error], [413, "payload too large"]);
    assert(await nothingPinned(gw.store));
    const empty = await post(tarOf([]), "application/x-tar");
    assertEquals(empty.status, 201, "an empty directory is an empty collection");
    const listing = await (await fetch(`${gw.url}/collections/${(await empty.json()).hash}`))
      .json();
    assertEquals([listing.entries, listing.totalSize], [[], 0]);
    // A hard link to a name the archive has not had is malformed.
    const dangling = concat([tarEntry({ name: "l", type: "1", linkname: "nowhere" }), TAR_END]);
    const link = await post(dangling, "application/x-tar");
    assertEquals([link.status, (await link.json()).error], [400, "malformed upload"]);
  }, { GATEWAY_TOKEN: "secret", GATEWAY_MAX_UPLOAD: "100000" });
});

Deno.test("collections: names too long for a meta blob the gateway reads back are 413, nothing kept", async () => {
  await withGateway(async (gw) => {
    // 70 files with 1 MB names (pax headers): a 70 MB meta blob, over the 64 MiB that reads
    // accept. It was stored (201), then every read of it answered 400.
    const archive = ReadableStream.from((function* () {
      for (let i = 0; i < 70; i++) {
        yield paxEntry({ path: `${i}/${"n".repeat(1_000_000)}` });
        yield tarEntry({ name: "ignored" }, Uint8Array.of(i));
      }
      yield TAR_END;
    })());
    const res = await fetch(`${gw.url}/collections`, {
      method: "POST",
      body: archive,
      headers: { "Content-Type": "application/x-tar" },
    });
    assertEquals([res.status, (await res.json()).error], [413, "payload too large"]);
    assert(await nothingPinned(gw.store));
  });
});

Deno.test("collections: 404 when not here, 400 when the blob is not a collection", async () => {
  await withGateway(async (gw) => {
    const missing = await fetch(`${gw.url}/collections/${"ab".repeat(32)}`);
    assertEquals([missing.status, (await missing.json()).error], [404, "not found"]);
    const odd = await upload(gw.url, ENC.encode("not a multiple of 32 bytes"));
    const notSeq = await fetch(`${gw.url}/collections/${odd.body.hash}`);
    assertEquals([notSeq.status, (await notSeq.json()).error], [400, "invalid collection"]);
    // A hash seq whose meta blob is not here.
    const seq = HashSeq.from([hash(ENC.encode("absent meta")), hash(ENC.encode("x"))]);
    const up = await upload(gw.url, seq.bytes as Uint8Array<ArrayBuffer>);
    const noMeta = await fetch(`${gw.url}/collections/${up.body.hash}`);
    assertEquals(noMeta.status, 404);
    await noMeta.body?.cancel();
    // A meta blob that is not CollectionV0.
    const junkMeta = ENC.encode("NotACollection");
    await upload(gw.url, junkMeta);
    const junk = await upload(
      gw.url,
      HashSeq.from([hash(junkMeta)]).bytes as Uint8Array<ArrayBuffer>,
    );
    const res = await fetch(`${gw.url}/collections/${junk.body.hash}/anything`);
    assertEquals([res.status, (await res.json()).error], [400, "invalid collection"]);
    const badHash = await fetch(`${gw.url}/collections/xyz`);
    assertEquals([badHash.status, (await badHash.json()).error], [400, "invalid hash"]);
  });
});

Deno.test("collections: GC after DELETE of the collection removes it and its children", async () => {
  await withGateway(async (gw) => {
    const files = sampleFiles();
    const { body } = await postForm(gw.url, files);
    // One child is also a blob of its own, pinned by the user: it must survive.
    const own = await upload(gw.url, files[1][1]);
    assertEquals(own.status, 200);
    const collection = parseHash(body.hash!);
    assertEquals((await gw.store.gc()).blobs, 0, "a live collection holds everything");
    const del = await fetch(`${gw.url}/blobs/${body.hash}`, { method: "DELETE" });
    assertEquals(del.status, 204);
    const report = await gw.store.gc();
    // Hash seq, meta, and the children but the user's own blob.
    assertEquals(report.blobs, 1 + 1 + files.length - 1);
    assertEquals(await gw.store.stat(collection), undefined);
    const children: Hash[] = files.map(([, d]) => hash(d));
    for (const [i, h] of children.entries()) {
      assertEquals((await gw.store.stat(h)) !== undefined, i === 1, files[i][0]);
    }
    const gone = await fetch(`${gw.url}/collections/${body.hash}`);
    assertEquals(gone.status, 404);
    await gone.body?.cancel();
  });
});
