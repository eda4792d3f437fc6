/**
 * Collections benchmark (issue 4): a collection of 10,000 files of 1–8 KiB created through
 * `POST /collections` (a streamed form) and read back whole through `POST /get`, on a real
 * gateway on loopback with a Deno KV file, as deployed locally. Client and server share this
 * process (and its two cores), as in the HTTP tests.
 *
 * Baselines from the same run: the same files uploaded one `POST /blobs` each (what a client
 * would do without collections), and one blob of the same total size read with `GET /blobs`.
 */
import { parseHash, toHex } from "../src/blake3/hash.ts";
import { loadConfig } from "../src/config.ts";
import { Metrics } from "../src/metrics.ts";
import { encodeRequest, getAll } from "../src/protocol/request.ts";
import { readResponse } from "../src/protocol/response_reader.ts";
import { BlobStore } from "../src/store/blob_store.ts";
import { createApp } from "../routes/app.ts";
import { type Figure, mbps, report } from "./harness.ts";

const FILES = 10_000;

interface Gateway {
  url: string;
  close(): Promise<void>;
}

async function startGateway(): Promise<Gateway> {
  const dir = await Deno.makeTempDir({ prefix: "bench-collections-" });
  const kv = await Deno.openKv(`${dir}/gateway.kv`);
  const config = loadConfig({ KV_PATH: `${dir}/gateway.kv`, GATEWAY_GC_INTERVAL: "0" });
  const app = createApp({
    config,
    store: new BlobStore(kv),
    metrics: new Metrics(),
    log: () => {},
  });
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen: () => {} },
    (request, info) => app.fetch(request, info),
  );
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    async close() {
      await server.shutdown();
      kv.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

function randomFiles(): [string, Uint8Array<ArrayBuffer>][] {
  return Array.from({ length: FILES }, (_, i) => {
    const data = new Uint8Array(1024 + Math.floor(Math.random() * 7 * 1024) + 1);
    crypto.getRandomValues(data);
    return [`bench/${String(Math.floor(i / 100)).padStart(3, "0")}/file-${i}.bin`, data];
  });
}

async function seconds(fn: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return (performance.now() - t0) / 1000;
}

async function drain(body: ReadableStream<Uint8Array>): Promise<number> {
  let n = 0;
  for await (const piece of body) n += piece.length;
  return n;
}

export async function collectionsBench(): Promise<boolean> {
  const files = randomFiles();
  const total = files.reduce((n, [, d]) => n + d.length, 0);
  const gw = await startGateway();
  try {
    let hash = "";
    const create = await seconds(async () => {
      const form = new FormData();
      for (const [name, data] of files) form.append("file", new File([data], name));
      const res = await fetch(`${gw.url}/collections`, { method: "POST", body: form });
      if (res.status !== 201) {
        throw new Error(`POST /collections: ${res.status} ${await res.text()}`);
      }
      hash = (await res.json()).hash;
    });
    const request = encodeRequest(getAll(parseHash(hash))) as Uint8Array<ArrayBuffer>;
    let received = 0;
    const read = await seconds(async () => {
      const res = await fetch(`${gw.url}/get`, { method: "POST", body: request });
      received = await drain(res.body!);
    });
    let verifiedFiles = 0;
    const verified = await seconds(async () => {
      const res = await fetch(`${gw.url}/get`, { method: "POST", body: request });
      for await (const e of readResponse(getAll(parseHash(hash)), res.body!)) {
        if (e.type === "done" && e.index >= 2) verifiedFiles++;
      }
    });
    if (verifiedFiles !== FILES) throw new Error(`read back ${verifiedFiles} of ${FILES} files`);

    // Baselines: one POST /blobs per file; one GET /blobs of a blob as large as all of them.
    const perBlob = await seconds(async () => {
      for (const [, data] of files.slice(0, 2000)) {
        const res = await fetch(`${gw.url}/blobs`, { method: "POST", body: data });
        await res.body?.cancel();
      }
    }) / 2000 * FILES;
    const big = new Uint8Array(total);
    for (let i = 0; i < total; i += 65536) crypto.getRandomValues(big.subarray(i, i + 65536));
    const up = await fetch(`${gw.url}/blobs`, { method: "POST", body: big });
    const bigHash = (await up.json()).hash;
    const single = await seconds(async () => {
      await drain((await fetch(`${gw.url}/blobs/${bigHash}`)).body!);
    });

    const uploadBase = { name: "POST /blobs per file", value: FILES / perBlob };
    const readBase = { name: "GET /blobs of one blob", value: mbps(total, single) };
    const figures: Figure[] = [
      { name: "baseline: POST /blobs, one per file", value: FILES / perBlob, unit: "files/s" },
      {
        name: "baseline: GET /blobs, same bytes as one blob",
        value: mbps(total, single),
        unit: "MB/s",
      },
      {
        name: "POST /collections (multipart)",
        value: FILES / create,
        unit: "files/s",
        baseline: uploadBase,
      },
      {
        name: "POST /get all, drained",
        value: mbps(received, read),
        unit: "MB/s",
        baseline: readBase,
      },
      { name: "POST /get all, drained", value: FILES / read, unit: "files/s" },
      {
        name: "POST /get all, verified by readResponse",
        value: mbps(received, verified),
        unit: "MB/s",
        baseline: readBase,
      },
      { name: "POST /get all, verified by readResponse", value: FILES / verified, unit: "files/s" },
    ];
    return report(
      `collections: ${FILES} files of 1–8 KiB (${(total / 1e6).toFixed(1)} MB), collection ${
        toHex(parseHash(hash)).slice(0, 12)
      }…`,
      figures,
    );
  } finally {
    await gw.close();
  }
}
