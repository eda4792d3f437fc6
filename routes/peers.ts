/** `GET /peers`: the configured peer gateways and what this gateway has seen of each. */
import { Hono } from "hono";
import type { PeerSet } from "../src/peers/peer.ts";

export function peerRoutes(peers: PeerSet): Hono {
  const app = new Hono();
  app.get("/peers", (c) => c.json({ peers: peers.peers.map((p) => p.status()) }));
  return app;
}
