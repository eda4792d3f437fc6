/**
 * The gateway as real processes (`deno run main.ts`, as `deno task start` runs it) on a shared
 * KV file: a SIGKILL in the middle of a large upload, a client that disconnects, and two
 * instances serving each other's uploads.
 */
import { assert, assertEquals } from "./assert.ts";
import { toHex } from "../src/blake3/hash.ts";
import { Hasher } from "../src/blake3/hasher.ts";
import { spawnGateway } from "./processes.ts";
import { seededRandom } from "./random.ts";

/** A deterministic body of `size` bytes in 1 MiB pieces, with its hash computed alongside. */
function generated(size: number, seed: number, onSent?: (sent: number) => void) {
  const rand = seededRandom(seed);
  const block = new Uint8Array(1 << 20);
  for (let i = 0; i < block.length; i++) block[i] = (rand() * 256) | 0;
  let sent = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent >= size) return controller.close();
      const piece = block.slice(0, Math.min(block.length, size - sent));
      // Vary every piece so the blob is not a repetition.
      new DataView(piece.buffer).setUint32(0, sent / block.length);
      sent += piece.length;
      controller.enqueue(piece);
      onSent?.(sent);
    },
  }, { highWaterMark: 0 });
}

async function hashOf(stream: ReadableStream<Uint8Array>): Promise<string> {
  const h = new Hasher();
  for await (const p of stream) h.update(p);
  return toHex(h.finalize());
}

async function countKeys(kvPath: string, prefix: Deno.KvKey): Promise<number> {
  const kv = await Deno.openKv(kvPath);
  try {
    let n = 0;
    for await (const _ of kv.list({ prefix }, { batchSize: 500 })) n++;
    return n;
  } finally {
    kv.close();
  }
}

Deno.test("crash: SIGKILL mid-way through a 256 MiB upload leaves no blob; GC reclaims; retry works", async () => {
  const dir = await Deno.makeTempDir({ prefix: "gw-crash-" });
  const kvPath = `${dir}/gateway.kv`;
  const size = 256 << 20;
  const expected = await hashOf(generated(size, 1));
  const env = { GATEWAY_UPLOAD_STALE: "1" };
  const a = await spawnGateway(kvPath, env);
  try {
    let killed = false;
    const body = generated(size, 1, (sent) => {
      if (!killed && sent >= 96 << 20) {
        killed = true;
        a.child.kill("SIGKILL");
      }
    });
    let failed = false;
    try {
      const res = await fetch(`${a.url}/blobs`, { method: "POST", body });
      await res.body?.cancel();
    } catch {
      failed = true;
    }
    assert(failed && killed, "the upload died with the server");
    await a.child.status;
    assert((await countKeys(kvPath, ["data"])) > 0, "the killed upload left pages behind");
    assertEquals(await countKeys(kvPath, ["blob"]), 0, "but no blob");

    const b = await spawnGateway(kvPath, env);
    try {
      const missing = await fetch(`${b.url}/blobs/${expected}`);
      assertEquals(missing.status, 404);
      await missing.body?.cancel();
      await new Promise((r) => setTimeout(r, 1100)); // past the 1 s staleness of its heartbeat
      const gc = await (await fetch(`${b.url}/admin/gc`, { method: "POST" })).json();
      assertEquals(gc.uploads, 1);
      assert(gc.pages > 0);
      assertEquals(await countKeys(kvPath, ["data"]), 0);
      assertEquals(await countKeys(kvPath, ["ob"]), 0);
      assertEquals(await countKeys(kvPath, ["upload"]), 0);
      const retry = await fetch(`${b.url}/blobs`, { method: "POST", body: generated(size, 1) });
      assertEquals(retry.status, 201);
      assertEquals((await retry.json()).hash, expected);
    } finally {
      await b.stop();
    }
  } finally {
    await a.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a client that disconnects mid-upload leaves nothing visible and no pages", async () => {
  const dir = await Deno.makeTempDir({ prefix: "gw-abort-" });
  const kvPath = `${dir}/gateway.kv`;
  const gw = await spawnGateway(kvPath);
  try {
    const controller = new AbortController();
    const body = generated(64 << 20, 2, (sent) => {
      if (sent >= 20 << 20) controller.abort();
    });
    let aborted = false;
    try {
      const res = await fetch(`${gw.url}/blobs`, {
        method: "POST",
        body,
        signal: controller.signal,
      });
      await res.body?.cancel();
    } catch {
      aborted = true;
    }
    assert(aborted);
    // The server notices the broken body and discards the upload itself.
    let left = -1;
    for (let i = 0; i < 100 && left !== 0; i++) {
      await new Promise((r) => setTimeout(r, 50));
      left = (await countKeys(kvPath, ["data"])) + (await countKeys(kvPath, ["upload"]));
    }
    assertEquals(left, 0);
    assertEquals(await countKeys(kvPath, ["blob"]), 0);
  } finally {
    await gw.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("two gateway processes on one KV file serve each other's uploads", async () => {
  const dir = await Deno.makeTempDir({ prefix: "gw-shared-" });
  const kvPath = `${dir}/gateway.kv`;
  const a = await spawnGateway(kvPath);
  const b = await spawnGateway(kvPath);
  try {
    for (const [writer, reader] of [[a, b], [b, a]]) {
      const data = new Uint8Array(3 << 20).map((_, i) => (i * 31 + writer.url.length) & 0xff);
      const up = await (await fetch(`${writer.url}/blobs`, { method: "POST", body: data })).json();
      const res = await fetch(`${reader.url}/blobs/${up.hash}`);
      assertEquals(res.status, 200);
      assertEquals(new Uint8Array(await res.arrayBuffer()), data);
    }
  } finally {
    await a.stop();
    await b.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a store or address that cannot be used stops the gateway with a line naming it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "gateway-start-" });
  const busy = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    await Deno.writeTextFile(`${dir}/notes.txt`, "not a database");
    const start = async (env: Record<string, string>) => {
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", new URL("../main.ts", import.meta.url).pathname],
        env: { GATEWAY_GC_INTERVAL: "0", ...env },
        stdin: "null",
      }).output();
      return [out.code, new TextDecoder().decode(out.stderr)] as const;
    };
    const [code, stderr] = await start({ KV_PATH: `${dir}/notes.txt`, PORT: "0" });
    assertEquals([code, stderr], [
      2,
      `configuration: KV_PATH=${dir}/notes.txt: file is not a database\n`,
    ]);
    const [code2, stderr2] = await start({ KV_PATH: ":memory:", PORT: String(busy.addr.port) });
    assertEquals(code2, 2);
    assert(
      stderr2.startsWith(`configuration: HOSTNAME=127.0.0.1 PORT=${busy.addr.port}: `),
      stderr2,
    );
  } finally {
    busy.close();
    await Deno.remove(dir, { recursive: true });
  }
});

/**
 * A gateway holding a 64 MiB blob (more than loopback buffers take, so a reader that stops
 * reading holds its response open), with a download of it started and its first piece read.
 */
async function downloading(kvPath: string, env: Record<string, string>) {
  const gw = await spawnGateway(kvPath, env);
  const size = 64 << 20;
  const up = await fetch(`${gw.url}/blobs`, { method: "POST", body: generated(size, 3) });
  const { hash } = await up.json();
  const res = await fetch(`${gw.url}/blobs/${hash}`);
  assertEquals(res.status, 200);
  const reader = res.body!.getReader();
  const first = await reader.read();
  assert(!first.done);
  return { gw, hash, reader, first: first.value, port: Number(new URL(gw.url).port) };
}

/** Whether a new TCP connection to `port` on loopback is accepted. */
async function accepts(port: number): Promise<boolean> {
  try {
    (await Deno.connect({ hostname: "127.0.0.1", port })).close();
    return true;
  } catch {
    return false;
  }
}

/** The process's exit code, or `undefined` if it is still running after `ms`. */
async function exitWithin(child: Deno.ChildProcess, ms: number): Promise<number | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<undefined>((r) => {
    timer = setTimeout(() => r(undefined), ms);
  });
  try {
    return await Promise.race([child.status.then((s) => s.code), late]);
  } finally {
    clearTimeout(timer);
  }
}

Deno.test("SIGTERM: new connections are refused, a download in flight finishes, exit 0", async () => {
  const dir = await Deno.makeTempDir({ prefix: "gw-term-" });
  const { gw, hash, reader, first, port } = await downloading(`${dir}/gateway.kv`, {});
  try {
    gw.child.kill("SIGTERM");
    let refused = false;
    for (let i = 0; i < 100 && !refused; i++) {
      await new Promise((r) => setTimeout(r, 20));
      refused = !(await accepts(port));
    }
    assert(refused, "the listener closed");
    const h = new Hasher();
    h.update(first);
    for (let r = await reader.read(); !r.done; r = await reader.read()) h.update(r.value);
    assertEquals(toHex(h.finalize()), hash, "the whole blob arrived");
    assertEquals(await exitWithin(gw.child, 5000), 0);
  } finally {
    await gw.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("SIGTERM: a reader that does not finish within GATEWAY_SHUTDOWN_GRACE is cut", async () => {
  const dir = await Deno.makeTempDir({ prefix: "gw-grace-" });
  const { gw, reader } = await downloading(`${dir}/gateway.kv`, { GATEWAY_SHUTDOWN_GRACE: "300" });
  try {
    gw.child.kill("SIGTERM");
    assertEquals(await exitWithin(gw.child, 200), undefined, "it waited for the reader");
    assertEquals(await exitWithin(gw.child, 5000), 0);
    let cut = false;
    try {
      while (!(await reader.read()).done);
    } catch {
      cut = true;
    }
    assert(cut, "the download failed rather than ending as if complete");
  } finally {
    await gw.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a second SIGTERM while requests finish exits at once, with 1", async () => {
  const dir = await Deno.makeTempDir({ prefix: "gw-term2-" });
  const { gw, reader } = await downloading(`${dir}/gateway.kv`, {});
  try {
    gw.child.kill("SIGTERM");
    assertEquals(await exitWithin(gw.child, 300), undefined, "the first waits for the reader");
    gw.child.kill("SIGTERM");
    assertEquals(await exitWithin(gw.child, 5000), 1);
    await reader.cancel().catch(() => {});
  } finally {
    await gw.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
