/**
 * The home page as the server renders it (routes/home.ts, src/web/): its policy and headers,
 * what it lists and how it pages, the content-hashed script, and escaping by the `html` tag.
 */
import { assert, assertEquals } from "./assert.ts";
import { toHex } from "../src/blake3/hash.ts";
import { hash } from "../src/blake3/tree.ts";
import { APP_SCRIPT, APP_SCRIPT_NAME } from "../src/web/app_bundle.ts";
import { escapeHtml, markup } from "../src/http/html.ts";
import { storeTotals } from "../src/web/inventory.ts";
import { withGateway } from "./gateway_helpers.ts";

/** The hashes of the rows a page lists. */
function listed(page: string): string[] {
  return [...page.matchAll(/<tr data-hash="([0-9a-f]{64})">/g)].map((m) => m[1]);
}

Deno.test("markup escapes every value unless it is markup made by the tag", () => {
  const name = `"><script>alert('x')</script>&`;
  const out = markup`<a title="${name}">${name}</a>${markup`<b>${"<i>"}</b>`}${[1, "<", false]}`;
  assertEquals(
    out.text,
    `<a title="&quot;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;">` +
      `&quot;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;</a><b>&lt;i&gt;</b>1&lt;`,
  );
  assertEquals(escapeHtml("plain"), "plain");
});

Deno.test("GET / lists pinned blobs and collections under a strict policy", async () => {
  await withGateway(async (gw) => {
    const empty = await (await fetch(`${gw.url}/`)).text();
    assert(empty.includes("Nothing pinned yet"));

    const blob = new TextEncoder().encode("%PDF-1.7 a small document");
    const up = await fetch(`${gw.url}/blobs`, { method: "POST", body: blob });
    assertEquals(up.status, 201);
    const form = new FormData();
    form.append("file", new File(["one"], "x/1.txt"));
    form.append("file", new File(["two!"], "x/2.txt"));
    const coll = await (await fetch(`${gw.url}/collections`, { method: "POST", body: form }))
      .json();

    const res = await fetch(`${gw.url}/`);
    assertEquals(res.status, 200);
    const csp = res.headers.get("Content-Security-Policy")!;
    assert(csp.startsWith("default-src 'none'; script-src 'self' 'wasm-unsafe-eval'"), csp);
    assert(!csp.includes("unsafe-inline"), csp);
    assertEquals(res.headers.get("X-Content-Type-Options"), "nosniff");
    const page = await res.text();
    // No inline script: the only script is the bundle, by its content-hashed name.
    assertEquals([...page.matchAll(/<script\b[^>]*>/g)].map((m) => m[0]), [
      `<script type="module" src="/assets/${APP_SCRIPT_NAME}">`,
    ]);
    const blobHash = toHex(hash(blob));
    assertEquals(listed(page).sort(), [blobHash, coll.hash].sort());
    assert(page.includes(`href="/collections/${coll.hash}"`), "collections link to their page");
    assert(page.includes("2 files"));
    assert(page.includes(`title="7 bytes">7 bytes</td>`), "a collection's files add up");
    assert(page.includes("application/pdf"), "the sniffed type is shown");
    assert(page.includes("No token is configured"), "no token field without a token");
    assert(!page.includes('id="token"'));
  });
});

Deno.test("GET / pages through many pinned items with cursors; a bad cursor is 400", async () => {
  await withGateway(async (gw) => {
    const expected: string[] = [];
    for (let i = 0; i < 120; i++) {
      const bytes = new TextEncoder().encode(`blob number ${i}`);
      await gw.store.import(ReadableStream.from([bytes]));
      expected.push(toHex(hash(bytes)));
    }
    const seen: string[] = [];
    let url: string | undefined = `${gw.url}/`;
    let pages = 0;
    while (url !== undefined) {
      const page: string = await (await fetch(url)).text();
      seen.push(...listed(page));
      pages++;
      const next = /<a href="(\/\?after=[^"]+)" rel="next">/.exec(page)?.[1];
      url = next === undefined ? undefined : gw.url + next.replaceAll("&amp;", "&");
    }
    assertEquals(pages, 3);
    assertEquals(seen, [...expected].sort(), "every item once, in hash order");

    const bad = await fetch(`${gw.url}/?after=!!!`);
    assertEquals(bad.status, 400);
    assertEquals((await bad.json()).error, "invalid cursor");
  });
});

Deno.test("store totals count every blob and stop at the cap", async () => {
  await withGateway(async (gw) => {
    for (let i = 0; i < 5; i++) {
      await gw.store.import(ReadableStream.from([new Uint8Array(100 + i)]));
    }
    assertEquals(await storeTotals(gw.store), {
      blobs: 5,
      bytes: 510,
      collections: 0,
      cachedBytes: 0,
      complete: true,
    });
    const capped = await storeTotals(gw.store, 3);
    assertEquals([capped.blobs, capped.complete], [3, false]);
  });
});

Deno.test("the script is served by its content hash with an immutable cache", async () => {
  await withGateway(async (gw) => {
    const res = await fetch(`${gw.url}/assets/${APP_SCRIPT_NAME}`);
    assertEquals(res.status, 200);
    assertEquals(res.headers.get("Content-Type"), "text/javascript; charset=utf-8");
    assertEquals(res.headers.get("Cache-Control"), "public, max-age=31536000, immutable");
    assertEquals(await res.text(), APP_SCRIPT);
    const name = `app.${toHex(hash(new TextEncoder().encode(APP_SCRIPT))).slice(0, 16)}.js`;
    assertEquals(APP_SCRIPT_NAME, name, "the name carries the hash of what is served");
    assertEquals((await fetch(`${gw.url}/assets/app.0000000000000000.js`)).status, 404);
  });
});
