/**
 * The HTML form of a collection listing, for people browsing the gateway: one server-rendered
 * page, no script. Every name, type and hash is escaped (names are anyone's bytes) and every
 * link is percent-encoded segment by segment, so a name can neither break out of the markup nor
 * point anywhere but its own entry.
 *
 * @module
 */

import { negotiate } from "../http/accept.ts";
import { escapeHtml } from "../http/html.ts";
import type { Listing } from "./listing.ts";

/** The page's policy: its own inline style and nothing else may load or run. */
export const LISTING_CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'";

/** `1536` → `1.5 KiB`. */
export function formatSize(bytes: number): string {
  const units = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let value = bytes, unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0
    ? `${bytes} bytes`
    : `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}

/**
 * Whether `accept` prefers `text/html` to `application/json`: a tie goes to JSON, the API's
 * default.
 */
export function prefersHtml(accept: string | null): boolean {
  return negotiate(accept, ["application/json", "text/html"]) === "text/html";
}

/** The page for `listing`; entry links are relative to `/collections/<hash>`. */
export function listingHtml(listing: Listing): string {
  const rows = listing.entries.map((e) => {
    const href = `${listing.hash}/${e.name.split("/").map(encodeURIComponent).join("/")}`;
    const size = e.size === null
      ? `<td class="size missing">not stored</td>`
      : `<td class="size" title="${e.size} bytes">${formatSize(e.size)}</td>`;
    return `<tr><td><a href="${escapeHtml(href)}">${escapeHtml(e.name)}</a></td>${size}` +
      `<td>${escapeHtml(e.type)}</td></tr>`;
  });
  const count = `${listing.entries.length} ${listing.entries.length === 1 ? "file" : "files"}`;
  const total = formatSize(listing.totalSize);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Collection ${listing.hash.slice(0, 12)}…</title>
<style>
body { font: 15px/1.5 system-ui, sans-serif; margin: 2rem auto; max-width: 60rem; padding: 0 1rem; }
code { font-size: 13px; word-break: break-all; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .25rem .75rem .25rem 0; border-bottom: 1px solid #ddd; }
td a { word-break: break-all; }
.size { text-align: right; white-space: nowrap; }
.missing { color: #a00; }
tfoot td { font-weight: bold; border-bottom: none; }
</style>
</head>
<body>
<h1>Collection</h1>
<p><code>${escapeHtml(listing.hash)}</code></p>
<p>${count}, ${total}</p>
<table>
<thead><tr><th>Name</th><th class="size">Size</th><th>Type</th></tr></thead>
<tbody>
${rows.join("\n")}
</tbody>
<tfoot><tr><td>Total</td><td class="size" title="${listing.totalSize} bytes">${total}</td><td></td></tr></tfoot>
</table>
</body>
</html>
`;
}
