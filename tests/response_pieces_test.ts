/**
 * The request observer (`routes/middleware.ts`) with the real Hono stack on `Deno.serve`: a large
 * answer built in memory (a listing, a discovery of many children) is handed to the runtime in
 * pieces, so a client that stops reading is cut after the send timeout like any other; and a cut
 * response says why in its log line.
 */
import { Hono } from "hono";
import { assert, assertEquals } from "./assert.ts";
import { Metrics } from "../src/metrics.ts";
import { observe } from "../routes/middleware.ts";

const SEND_TIMEOUT_MS = 300;

async function withObservedApp(
  fn: (url: string, logs: Record<string, unknown>[]) => Promise<void>,
): Promise<void> {
  const logs: Record<string, unknown>[] = [];
  const app = new Hono();
  app.use("*", observe(new Metrics(), (line) => logs.push(JSON.parse(line)), SEND_TIMEOUT_MS));
  // 32 MB of JSON in one string: far more than loopback buffers take.
  app.get("/big", (c) => c.json({ names: Array.from({ length: 4000 }, () => "x".repeat(8000)) }));
  app.get("/cut", () => {
    let pulls = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (pulls++ === 0) controller.enqueue(new Uint8Array(1000));
        else controller.error(new Error("stored data failed verification at group 3"));
      },
    });
    return new Response(body);
  });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, app.fetch);
  try {
    await fn(`http://127.0.0.1:${server.addr.port}`, logs);
  } finally {
    await server.shutdown();
  }
}

async function logged(logs: Record<string, unknown>[], path: string) {
  for (let i = 0; i < 100; i++) {
    const line = logs.find((l) => l.path === path);
    if (line !== undefined) return line;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no log line for ${path}`);
}

Deno.test("response pieces: a client that stops reading a large JSON answer is cut after the send timeout", async () => {
  await withObservedApp(async (url, logs) => {
    const res = await fetch(`${url}/big`);
    const reader = res.body!.getReader();
    assert(!(await reader.read()).done);
    // It reads nothing more. Handed over whole, the answer was logged "complete" at once and
    // its in-flight place freed while 32 MB waited for the client.
    const line = await logged(logs, "/big");
    assertEquals(line.outcome, "stalled");
    assert(String(line.detail).includes(`${SEND_TIMEOUT_MS} ms`), String(line.detail));
    await reader.cancel().catch(() => {});
  });
});

Deno.test("response pieces: a large answer read to the end arrives whole", async () => {
  await withObservedApp(async (url, logs) => {
    const json = await (await fetch(`${url}/big`)).json();
    assertEquals(json.names.length, 4000);
    const line = await logged(logs, "/big");
    assertEquals([line.outcome, line.bytes], ["complete", JSON.stringify(json).length]);
  });
});

Deno.test("response pieces: a response cut by its source is logged with why", async () => {
  await withObservedApp(async (url, logs) => {
    const res = await fetch(`${url}/cut`);
    const cut = await res.arrayBuffer().then(() => false, () => true);
    assert(cut, "the client sees the response cut");
    const line = await logged(logs, "/cut");
    assertEquals(
      [line.outcome, line.detail],
      ["error", "stored data failed verification at group 3"],
    );
  });
});
