/** `POST /admin/gc`: run garbage collection now (it also runs on a timer) and report it. */
import { Hono } from "hono";
import type { BlobStore } from "../src/store/blob_store.ts";
import { requireWriter } from "./middleware.ts";

export function adminRoutes(store: BlobStore, token: string | undefined): Hono {
  const app = new Hono();
  app.post("/admin/gc", requireWriter(token), async (c) => c.json(await store.gc()));
  return app;
}
