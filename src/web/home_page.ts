/**
 * The gateway's home page (`GET /`, issue 7): what it holds, an upload drop zone, and a download
 * that the browser verifies itself with `src/client` (the script, bundled by
 * `deno task build:web`, is served as a file: the page runs no inline script). Server-rendered;
 * without the script it is still a working listing with links.
 *
 * @module
 */

import { formatSize } from "../collection/listing_html.ts";
import { Html, markup } from "../http/html.ts";
import type { PinnedItem, PinnedPage, StoreTotals } from "./inventory.ts";

const STYLE = `
:root { color-scheme: light; --ink: #1d232b; --muted: #5b6573; --line: #dde2e8; --accent: #0b6bcb;
  --ok: #137333; --bad: #b3261e; --panel: #f6f8fa; }
* { box-sizing: border-box; }
body { font: 15px/1.5 system-ui, sans-serif; color: var(--ink); margin: 0 auto; max-width: 64rem;
  padding: 1.5rem 1rem 3rem; }
h1 { font-size: 1.6rem; margin: 0; }
h2 { font-size: 1.15rem; margin: 0 0 .5rem; }
header p { color: var(--muted); margin: .25rem 0 0; }
code { font: 13px/1.4 ui-monospace, monospace; word-break: break-all; }
section { margin-top: 1.5rem; }
.totals { display: flex; flex-wrap: wrap; gap: .5rem 2rem; background: var(--panel);
  border: 1px solid var(--line); border-radius: 8px; padding: .75rem 1rem; }
.totals div { display: flex; flex-direction: column; }
.totals b { font-size: 1.2rem; }
.totals span { color: var(--muted); font-size: 13px; }
.panels { display: grid; grid-template-columns: repeat(auto-fit, minmax(20rem, 1fr)); gap: 1rem; }
.panel { border: 1px solid var(--line); border-radius: 8px; padding: 1rem; }
.drop { border: 2px dashed #9aa6b2; border-radius: 8px; padding: 1.25rem; text-align: center;
  color: var(--muted); }
.drop.over { border-color: var(--accent); background: #eef5fc; color: var(--ink); }
.drop input { display: block; margin: .5rem auto 0; }
label.field { display: block; margin-top: .75rem; font-size: 13px; color: var(--muted); }
label.field input { display: block; width: 100%; margin-top: .25rem; padding: .35rem .5rem;
  font: inherit; border: 1px solid var(--line); border-radius: 6px; }
form.verify { display: flex; gap: .5rem; }
form.verify input { flex: 1; min-width: 0; padding: .35rem .5rem; font: 13px ui-monospace, monospace;
  border: 1px solid var(--line); border-radius: 6px; }
button { font: inherit; padding: .3rem .8rem; border-radius: 6px; border: 1px solid var(--accent);
  background: var(--accent); color: #fff; cursor: pointer; }
button.small { padding: .1rem .5rem; font-size: 13px; background: #fff; color: var(--accent); }
progress { width: 100%; height: .9rem; margin-top: .75rem; }
.status { min-height: 1.5rem; margin: .5rem 0 0; font-size: 14px; }
.status.ok { color: var(--ok); }
.status.bad { color: var(--bad); }
.hidden { display: none !important; }
table { border-collapse: collapse; width: 100%; font-size: 14px; }
th, td { text-align: left; padding: .35rem .6rem .35rem 0; border-bottom: 1px solid var(--line);
  vertical-align: top; }
th { font-size: 13px; color: var(--muted); font-weight: 600; }
.num { text-align: right; white-space: nowrap; }
.kind { font-size: 12px; border-radius: 4px; padding: 0 .35rem; background: #e8eef5; }
.kind.collection { background: #efe6f7; }
.muted, td.muted { color: var(--muted); }
nav { margin-top: .75rem; display: flex; gap: 1rem; }
footer { margin-top: 2rem; color: var(--muted); font-size: 13px; }
footer code { word-break: normal; white-space: nowrap; }
#verify-result { margin: .5rem 0 0; color: var(--ok); }
#verify-result code { color: var(--ink); }
`;

async function sha256Base64(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return btoa(String.fromCharCode(...new Uint8Array(digest)));
}

/**
 * The page's Content Security Policy: scripts only from this origin (the bundle), with
 * WebAssembly allowed to compile (the BLAKE3 kernel); requests only to this origin; the one
 * inline style by its hash; nothing else.
 */
export const HOME_CSP = [
  "default-src 'none'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "connect-src 'self'",
  `style-src 'sha256-${await sha256Base64(STYLE)}'`,
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

export interface HomeView {
  readonly page: PinnedPage;
  readonly totals: StoreTotals;
  /** Whether uploads need a bearer token (the server has `GATEWAY_TOKEN`). */
  readonly tokenRequired: boolean;
  /** Where the bundled script is served (content-hashed). */
  readonly scriptPath: string;
  /** Whether this is a later page (then a link back to the first). */
  readonly paged: boolean;
}

/** `2026-11-22 09:05 UTC`. */
function formatTime(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

function sizeCell(bytes: number | undefined, note?: string): Html {
  if (bytes === undefined) return markup`<td class="num muted">${note ?? "unknown"}</td>`;
  return markup`<td class="num" title="${bytes} bytes">${formatSize(bytes)}</td>`;
}

function itemRow(item: PinnedItem): Html {
  const short = `${item.hash.slice(0, 16)}…`;
  const partial = item.partial ? markup` <span class="muted">(partial)</span>` : "";
  if (item.collection !== undefined) {
    const { files, bytes } = item.collection;
    return markup`
      <tr data-hash="${item.hash}">
        <td><a href="/collections/${item.hash}"><code title="${item.hash}">${short}</code></a>${partial}</td>
        <td><span class="kind collection">collection</span> ${files} ${
      files === 1 ? "file" : "files"
    }</td>
        ${sizeCell(bytes, "not counted")}
        <td class="muted">${formatTime(item.createdAt)}</td>
        <td><a href="/collections/${item.hash}">browse</a></td>
      </tr>`;
  }
  return markup`
      <tr data-hash="${item.hash}">
        <td><a href="/blobs/${item.hash}"><code title="${item.hash}">${short}</code></a>${partial}</td>
        <td><span class="kind">blob</span> <span class="muted">${item.sniffedType ?? ""}</span></td>
        ${sizeCell(item.size)}
        <td class="muted">${formatTime(item.createdAt)}</td>
        <td><button type="button" class="small verify" data-hash="${item.hash}">verify</button></td>
      </tr>`;
}

function totalsPanel(totals: StoreTotals, pinnedOnPage: number, more: boolean): Html {
  const atLeast = totals.complete ? "" : "at least ";
  const stat = (value: string, label: string) =>
    markup`
    <div><b>${value}</b><span>${label}</span></div>`;
  return markup`
  <section class="totals" id="totals" aria-label="Totals">${[
    stat(`${pinnedOnPage}${more ? "+" : ""}`, more ? "pinned (this page)" : "pinned"),
    stat(`${atLeast}${totals.blobs}`, "blobs stored"),
    stat(`${atLeast}${formatSize(totals.bytes)}`, "content stored"),
    stat(`${atLeast}${totals.collections}`, "collections"),
    stat(formatSize(totals.cachedBytes), "cached from peers"),
  ]}
  </section>`;
}

/** What the upload panel says about tokens. */
function tokenField(required: boolean): Html {
  if (!required) {
    return markup`
      <p class="muted">No token is configured: this gateway takes uploads from its own machine
      (loopback) only.</p>`;
  }
  return markup`
      <label class="field">Token
        <input type="password" id="token" autocomplete="off" spellcheck="false"
          placeholder="required to upload">
      </label>`;
}

/** The home page for `view`. */
export function homePage(view: HomeView): string {
  const { page, totals } = view;
  const rows = page.items.length === 0
    ? markup`
      <tr><td colspan="5" class="muted">Nothing pinned yet: upload something.</td></tr>`
    : page.items.map(itemRow);
  const nav = [
    view.paged ? markup`<a href="/">← first page</a>` : "",
    page.next === undefined
      ? ""
      : markup`<a href="/?after=${encodeURIComponent(page.next)}" rel="next">next page →</a>`,
  ];
  return markup`<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Verified content gateway</title>
  <style>${new Html(STYLE)}</style>
  <script type="module" src="${view.scriptPath}"></script>
</head>
<body>
  <header>
    <h1>Verified content gateway</h1>
    <p>Content addressed by its BLAKE3 hash. Downloads on this page are verified in your
    browser, 16 KiB at a time, before a byte is shown or saved.</p>
  </header>
  ${totalsPanel(totals, page.items.length, page.next !== undefined)}
  <div class="panels">
    <section class="panel" id="upload">
      <h2>Upload</h2>
      <div class="drop" id="drop-zone">
        <p>Drop files here, or choose them:</p>
        <input type="file" id="file-input" multiple>
        <p class="muted">One file becomes a blob; several become a collection.</p>
      </div>${tokenField(view.tokenRequired)}
      <p class="status" id="upload-status" role="status" aria-live="polite"></p>
    </section>
    <section class="panel" id="download">
      <h2>Verified download</h2>
      <form class="verify" id="verify-form">
        <input id="verify-hash" name="hash" placeholder="blob hash (64 hex characters)"
          spellcheck="false" autocomplete="off" required
          pattern="[0-9a-fA-F]{64}|[a-zA-Z2-7]{52}">
        <button type="submit">Verify</button>
      </form>
      <progress id="verify-progress" max="1" value="0"></progress>
      <p class="status" id="verify-status" role="status" aria-live="polite"></p>
      <p class="hidden" id="verify-result">✓ Verified against <code id="verified-hash"></code><br>
        <a id="save-link" download>Save the verified file</a></p>
      <noscript><p class="muted">Verification runs in the browser and needs JavaScript; the
        raw links below work without it, unverified.</p></noscript>
    </section>
  </div>
  <section id="holdings">
    <h2>Pinned here</h2>
    <table>
      <thead>
        <tr><th>Hash</th><th>Kind</th><th class="num">Size</th><th>Added</th><th></th></tr>
      </thead>
      <tbody id="pinned">${rows}
      </tbody>
    </table>
    <nav>${nav}</nav>
  </section>
  <footer>
    <p>API: <code>POST /blobs</code>, <code>GET /blobs/:hash</code> (ranges,
    <code>?format=bao</code>), <code>POST /collections</code>,
    <code>GET /collections/:hash</code>, <code>/discovery/:hash</code>. Command line:
    <code>deno task cli put FILE</code>, <code>deno task cli get HASH</code>.</p>
  </footer>
</body>
</html>
`.text;
}
