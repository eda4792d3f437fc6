/// <reference lib="dom" />
/**
 * The home page in a real browser: Debian's Chromium, headless, driven by playwright-core,
 * against a real gateway on loopback. Upload by the file picker and by a drop, a verified
 * download whose displayed hash, progress and saved bytes are checked, and a lying gateway whose
 * corrupted bytes the page refuses. Screenshots go to `test-artifacts/` (and, with
 * `UPDATE_DOCS_SCREENSHOT=1`, to `docs/page.png` for the README).
 *
 * Chromium must be installed (`apt-get install -y chromium`; `.ci/run` does it): without it the
 * test fails, it does not skip. (The DOM types are for the callbacks that run in the page.)
 */
import { Buffer } from "node:buffer";
import { chromium } from "playwright-core";
import type { BrowserContext, Page } from "playwright-core";
import { assert, assertEquals } from "./assert.ts";
import { toHex } from "../src/blake3/hash.ts";
import { hash } from "../src/blake3/tree.ts";
import { Collection } from "../src/collection/collection.ts";
import { editBody, flipBit, startTamperingProxy } from "./client_proxy.ts";
import { startGateway } from "./gateway_helpers.ts";
import { randomBytes, seededRandom } from "./random.ts";

const CHROMIUM = Deno.env.get("CHROMIUM_PATH") ?? "/usr/bin/chromium";
/** The flags this machine's notes give for headless Chromium on a closed network. */
const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const ARTIFACTS = new URL("../test-artifacts/", import.meta.url).pathname;
const DOCS_SCREENSHOT = new URL("../docs/page.png", import.meta.url).pathname;
const TOKEN = "browser-test-token";

/**
 * Runs `fn` on a new page; when it fails, saves a screenshot and adds what the page's status
 * lines said to the error, so a failure in CI can be read without a rerun.
 */
async function withPage(fn: (page: Page) => Promise<void>, name: string): Promise<void> {
  await withBrowser(async (context) => {
    const page = await context.newPage();
    try {
      await fn(page);
    } catch (e) {
      await Deno.mkdir(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: `${ARTIFACTS}${name}-failure.png`, fullPage: true });
      const status = await page.evaluate(() =>
        ["upload-status", "verify-status"].map((id) =>
          `#${id}: ${document.getElementById(id)?.textContent}`
        ).join("; ")
      ).catch(() => "no page");
      throw new Error(`${e instanceof Error ? e.message : e}\n(page: ${status})`, { cause: e });
    }
  });
}

async function withBrowser(fn: (context: BrowserContext) => Promise<void>): Promise<void> {
  try {
    await Deno.stat(CHROMIUM);
  } catch {
    throw new Error(
      `Chromium is not installed at ${CHROMIUM}: run apt-get install -y chromium ` +
        "(.ci/run installs it), or set CHROMIUM_PATH",
    );
  }
  const profile = await Deno.makeTempDir({ prefix: "chromium-profile-" });
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
    acceptDownloads: true,
    viewport: { width: 1100, height: 900 },
  });
  try {
    await fn(context);
  } finally {
    await context.close();
    await Deno.remove(profile, { recursive: true });
  }
}

/** Fails the test on any script error or Content Security Policy report in the page. */
function watchForErrors(page: Page): string[] {
  const problems: string[] = [];
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error" || /Content Security Policy/i.test(m.text())) {
      problems.push(`console ${m.type()}: ${m.text()}`);
    }
  });
  return problems;
}

/** Records every text `#verify-status` shows, so progress seen on the way can be checked. */
async function recordStatus(page: Page): Promise<void> {
  await page.evaluate(() => {
    const seen: string[] = [];
    (globalThis as unknown as { seenStatus: string[] }).seenStatus = seen;
    const status = document.getElementById("verify-status")!;
    new MutationObserver(() => seen.push(status.textContent ?? "")).observe(status, {
      childList: true,
      characterData: true,
      subtree: true,
    });
  });
}

Deno.test({
  name: "home page in Chromium: upload, verified download with hash and progress, screenshot",
  // playwright's pipes to the browser outlive single test steps.
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const gw = await startGateway({ env: { GATEWAY_TOKEN: TOKEN } });
    try {
      await withPage(async (page) => {
        const problems = watchForErrors(page);
        const res = await page.goto(`${gw.url}/`);
        assertEquals(res?.status(), 200);
        await page.waitForSelector("html[data-ready]", { state: "attached" });
        assert(res!.headers()["content-security-policy"].includes("script-src 'self'"));

        // Upload through the file picker, with the token typed in (kept in sessionStorage).
        await page.fill("#token", TOKEN);
        const data = randomBytes(1_000_000 + 321, seededRandom(801));
        const expected = toHex(hash(data));
        await page.setInputFiles("#file-input", {
          name: "photo.bin",
          mimeType: "application/octet-stream",
          buffer: Buffer.from(data),
        });
        await page.waitForSelector("#upload-status.ok");
        assertEquals(
          await page.textContent("#upload-status"),
          `Stored photo.bin as blob ${expected}`,
        );
        assertEquals(
          await page.evaluate(() => sessionStorage.getItem("gateway-token")),
          TOKEN,
        );

        // Several files dropped on the zone become a collection.
        const dropped = await page.evaluateHandle(() => {
          const transfer = new DataTransfer();
          transfer.items.add(new File(["hello"], "a.txt"));
          transfer.items.add(new File(["world!"], "b.txt"));
          return transfer;
        });
        await page.dispatchEvent("#drop-zone", "drop", { dataTransfer: dropped });
        const collection = Collection.create([
          { name: "a.txt", hash: hash(new TextEncoder().encode("hello")) },
          { name: "b.txt", hash: hash(new TextEncoder().encode("world!")) },
        ]);
        await page.waitForFunction(
          (h) => document.getElementById("upload-status")!.textContent!.endsWith(h),
          toHex(collection.hash),
        );
        assertEquals(
          await page.textContent("#upload-status"),
          `Stored 2 files as collection ${toHex(collection.hash)}`,
        );

        // The uploaded blob's hash is in the verify box: verify it in the browser.
        assertEquals(await page.inputValue("#verify-hash"), expected);
        await recordStatus(page);
        await page.click("#verify-form button");
        await page.waitForSelector("#verify-result:not(.hidden)");
        assertEquals(await page.textContent("#verified-hash"), expected);
        assertEquals(
          await page.textContent("#verify-status"),
          `${data.length} of ${data.length} bytes verified (100%)`,
        );
        assertEquals(await page.evaluate(() => document.querySelector("progress")!.value), 1);
        const seen: string[] = await page.evaluate(() =>
          (globalThis as unknown as { seenStatus: string[] }).seenStatus
        );
        const counts = seen.map((t) => /^(\d+) of (\d+) bytes verified/.exec(t))
          .filter((m) => m !== null).map((m) => Number(m![1]));
        assert(counts.some((n) => n > 0 && n < data.length), `progress on the way: ${seen}`);
        assertEquals(counts, [...counts].sort((a, b) => a - b), "progress only goes up");

        // The saved file is the verified bytes.
        const [download] = await Promise.all([
          page.waitForEvent("download"),
          page.click("#save-link"),
        ]);
        assertEquals(download.suggestedFilename(), expected);
        assertEquals(await Deno.readFile((await download.path())!), data);

        // The listing shows both, after a reload.
        await page.reload();
        await page.waitForSelector("html[data-ready]", { state: "attached" });
        for (const h of [expected, toHex(collection.hash)]) {
          assertEquals(await page.locator(`tr[data-hash="${h}"]`).count(), 1, h);
        }
        await page.click(`button.verify[data-hash="${expected}"]`);
        await page.waitForSelector("#verify-result:not(.hidden)");
        assertEquals(await page.textContent("#verified-hash"), expected);

        await Deno.mkdir(ARTIFACTS, { recursive: true });
        await page.screenshot({ path: `${ARTIFACTS}page.png`, fullPage: true });
        if (Deno.env.get("UPDATE_DOCS_SCREENSHOT") === "1") {
          await page.screenshot({ path: DOCS_SCREENSHOT, fullPage: true });
        }
        assertEquals(problems, []);
      }, "page");
    } finally {
      await gw.close();
    }
  },
});

Deno.test({
  name: "home page in Chromium: a gateway that corrupts a byte is caught, nothing is offered",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const gw = await startGateway();
    const data = randomBytes(200_000, seededRandom(802));
    const up = await fetch(`${gw.url}/blobs`, { method: "POST", body: data });
    const { hash: h } = await up.json();
    // The page and its script come through untouched; the blob's Bao stream is corrupted.
    const proxy = startTamperingProxy(gw.url, {
      tamper: (url, res) =>
        url.searchParams.get("format") === "bao" && url.searchParams.get("chunks") === null
          ? editBody(res, (b) => flipBit(b, b.length - 5000))
          : res,
    });
    try {
      await withPage(async (page) => {
        await page.goto(`${proxy.url}/`);
        await page.waitForSelector("html[data-ready]", { state: "attached" });
        await page.fill("#verify-hash", h);
        await page.click("#verify-form button");
        await page.waitForSelector("#verify-status.bad");
        const status = (await page.textContent("#verify-status"))!;
        assert(status.startsWith("CorruptDataError: "), status);
        assert(
          await page.locator("#verify-result").evaluate((e) => e.classList.contains("hidden")),
        );
        await Deno.mkdir(ARTIFACTS, { recursive: true });
        await page.screenshot({ path: `${ARTIFACTS}page-corrupt.png`, fullPage: true });
      }, "page-corrupt");
    } finally {
      await proxy.close();
      await gw.close();
    }
  },
});
