/** Entry point: wires configuration, storage and routes, then serves. */
import { createApp } from "./routes/app.ts";

const port = Number(Deno.env.get("PORT") ?? 8080);
const hostname = Deno.env.get("HOSTNAME") ?? "127.0.0.1";

Deno.serve({ port, hostname }, createApp().fetch);
