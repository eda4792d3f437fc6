/**
 * The gateway's HTTP application: every resource router mounted on one Hono app. Routers stay
 * thin; what they serve comes from `src/`.
 */
import { Hono } from "hono";
import { healthRoutes } from "./health.ts";

export function createApp(): Hono {
  const app = new Hono();
  app.route("/", healthRoutes());
  return app;
}
