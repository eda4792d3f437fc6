/** `GET /health`: liveness for load balancers and systemd, cheap enough to poll often. */
import { Hono } from "hono";

export function healthRoutes(): Hono {
  const app = new Hono();
  app.get("/health", (c) => c.json({ status: "ok" }));
  return app;
}
