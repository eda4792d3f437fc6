/** `GET /metrics`: Prometheus text exposition of this instance's counters. */
import { Hono } from "hono";
import type { Metrics } from "../src/metrics.ts";

export function metricsRoutes(metrics: Metrics): Hono {
  const app = new Hono();
  app.get(
    "/metrics",
    (c) =>
      c.body(metrics.render(), 200, { "Content-Type": "text/plain; version=0.0.4; charset=utf-8" }),
  );
  return app;
}
