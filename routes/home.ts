/**
 * `/`: the home page (what the gateway holds, uploads, verified downloads) and its script,
 * served under a content-hashed name with a year-long immutable cache. Thin: the page and the
 * inventory are in `src/web/`.
 */
import { Hono } from "hono";
import { APP_SCRIPT, APP_SCRIPT_NAME } from "../src/web/app_bundle.ts";
import { HOME_CSP, homePage } from "../src/web/home_page.ts";
import { InvalidCursorError, pinnedPage, storeTotals } from "../src/web/inventory.ts";
import type { BlobStore } from "../src/store/blob_store.ts";
import { HttpError } from "./errors.ts";

/** Pinned items per page. */
const PAGE_SIZE = 50;
const SCRIPT_PATH = `/assets/${APP_SCRIPT_NAME}`;

export function homeRoutes(deps: { store: BlobStore; token: string | undefined }): Hono {
  const app = new Hono();

  app.get("/", async (c) => {
    const cursor = c.req.query("after");
    let page;
    try {
      page = await pinnedPage(deps.store, { cursor, limit: PAGE_SIZE });
    } catch (e) {
      if (e instanceof InvalidCursorError) throw new HttpError(400, "invalid cursor", e.message);
      throw e;
    }
    const totals = await storeTotals(deps.store);
    c.header("Content-Security-Policy", HOME_CSP);
    c.header("Cache-Control", "no-cache");
    c.header("X-Content-Type-Options", "nosniff");
    c.header("Referrer-Policy", "no-referrer");
    return c.html(homePage({
      page,
      totals,
      tokenRequired: deps.token !== undefined,
      scriptPath: SCRIPT_PATH,
      paged: cursor !== undefined,
    }));
  });

  app.get(SCRIPT_PATH, (c) => {
    c.header("Cache-Control", "public, max-age=31536000, immutable");
    c.header("X-Content-Type-Options", "nosniff");
    return c.body(APP_SCRIPT, 200, { "Content-Type": "text/javascript; charset=utf-8" });
  });

  return app;
}
