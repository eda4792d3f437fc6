/**
 * The baseline the HTTP benchmarks compare against: a plain `Deno.serve` file server, as a
 * developer would write one. GET streams the file (single byte ranges supported, so random-range
 * figures compare like with like); POST writes the body to a file.
 *
 * Usage: deno run -A bench/file_server.ts FILE PORT [UPLOAD_DIR]
 */

const [path, portText, uploadDir = Deno.makeTempDirSync()] = Deno.args;
const size = (await Deno.stat(path)).size;

Deno.serve({ port: Number(portText), hostname: "127.0.0.1", onListen() {} }, async (req) => {
  if (req.method === "POST") {
    const out = await Deno.open(`${uploadDir}/upload`, {
      write: true,
      create: true,
      truncate: true,
    });
    await req.body?.pipeTo(out.writable);
    return Response.json({ ok: true });
  }
  const file = await Deno.open(path);
  const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.get("Range") ?? "");
  if (m === null) {
    return new Response(file.readable, { headers: { "content-length": String(size) } });
  }
  const first = Number(m[1]), last = Math.min(Number(m[2]), size - 1);
  await file.seek(first, Deno.SeekMode.Start);
  const buf = new Uint8Array(last - first + 1);
  let n = 0;
  while (n < buf.length) {
    const r = await file.read(buf.subarray(n));
    if (r === null) break;
    n += r;
  }
  file.close();
  return new Response(buf.subarray(0, n), {
    status: 206,
    headers: { "content-range": `bytes ${first}-${first + n - 1}/${size}` },
  });
});
