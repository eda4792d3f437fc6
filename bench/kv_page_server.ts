/**
 * The ceiling Deno KV puts on random ranges, measured beside the gateway: a bare `Deno.serve`
 * that answers `Range: bytes=a-b` with the bytes of the gateway's own stored pages, one KV
 * point read per 64 KiB page touched, and nothing else (no verification, no routing, no
 * headers beyond `Content-Range`). It opens the gateway's KV file as a second process, as two
 * gateways on one file do.
 *
 * Usage: deno run -A bench/kv_page_server.ts KV_PATH HASH PORT
 */
import { parseHash } from "../src/blake3/hash.ts";
import { type BlobMeta, DATA_PAGE, keys } from "../src/store/layout.ts";

const [kvPath, hashHex, portText] = Deno.args;
const kv = await Deno.openKv(kvPath);
const meta = (await kv.get<BlobMeta>(keys.blob(parseHash(hashHex)))).value;
if (meta === null) throw new Error(`blob ${hashHex} is not in ${kvPath}`);
const { dataId, size } = meta;

Deno.serve({ port: Number(portText), hostname: "127.0.0.1", onListen() {} }, async (req) => {
  const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.get("Range") ?? "");
  if (m === null) return new Response("send a single Range", { status: 400 });
  const first = Number(m[1]), last = Math.min(Number(m[2]), size - 1);
  const out = new Uint8Array(last - first + 1);
  for (let p = Math.floor(first / DATA_PAGE); p * DATA_PAGE <= last; p++) {
    const page = (await kv.get<Uint8Array>(keys.dataPage(dataId, p), { consistency: "eventual" }))
      .value!;
    const from = Math.max(first, p * DATA_PAGE), to = Math.min(last + 1, (p + 1) * DATA_PAGE);
    out.set(page.subarray(from - p * DATA_PAGE, to - p * DATA_PAGE), from - first);
  }
  return new Response(out, {
    status: 206,
    headers: { "content-range": `bytes ${first}-${last}/${size}` },
  });
});
