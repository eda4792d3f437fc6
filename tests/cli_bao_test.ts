/** `deno task bao`, run as a real subprocess on real files and pipes. */
import { assert, assertEquals } from "./assert.ts";
import { createBLAKE3 } from "hash-wasm";
import vectors from "./vectors/bao_test_vectors.json" with { type: "json" };
import { toHex } from "../src/blake3/hash.ts";
import { hash } from "../src/blake3/tree.ts";
import { encodeRanges, memorySource, sizeHeader } from "../src/bao/encode.ts";
import { collect } from "../src/bytes.ts";
import { outboardOf } from "../src/bao/outboard.ts";
import { ChunkRanges } from "../src/ranges/chunk_ranges.ts";
import { concat } from "./bao_helpers.ts";
import { randomBytes, seededRandom } from "./random.ts";

const CLI = new URL("../cli/bao.ts", import.meta.url).pathname;

function withoutInitCwd(env: Record<string, string>): Record<string, string> {
  const { INIT_CWD: _, ...rest } = env;
  return rest;
}

async function bao(args: string[], stdin?: Uint8Array) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, ...args],
    env: { INIT_CWD: "/nonexistent" }, // not the task's GATEWAY_CLI_CWD: ignored
    stdin: stdin ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin) {
    const w = child.stdin.getWriter();
    await w.write(stdin);
    await w.close();
  }
  const out = await child.output();
  return { code: out.code, stdout: out.stdout, stderr: new TextDecoder().decode(out.stderr) };
}

async function withTempDir(fn: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "cli-bao-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const data = randomBytes(300_000, seededRandom(5));

Deno.test("bao hash prints only the hex hash, for a file and for stdin", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeFile(`${dir}/f`, data);
    const reference = await createBLAKE3();
    reference.update(data);
    const expected = reference.digest("hex") + "\n";
    const r = await bao(["hash", `${dir}/f`]);
    assertEquals([r.code, new TextDecoder().decode(r.stdout)], [0, expected]);
    const s = await bao(["hash", "-"], data);
    assertEquals(new TextDecoder().decode(s.stdout), expected);
    // A relative path is the caller's, as `deno task bao` run in `dir` passes it: the real
    // task, with its permissions.
    const config = new URL("../deno.json", import.meta.url).pathname;
    const here = await new Deno.Command(Deno.execPath(), {
      args: ["task", "-q", "--config", config, "bao", "hash", "f"],
      cwd: dir,
      // Without the INIT_CWD of a `deno task test` around this test: the task sets its own only
      // where there is none.
      clearEnv: true,
      env: { ...withoutInitCwd(Deno.env.toObject()), NO_COLOR: "1" },
    }).output();
    assertEquals(
      [here.code, new TextDecoder().decode(here.stdout)],
      [0, expected],
      new TextDecoder().decode(here.stderr),
    );
  });
});

Deno.test("bao outboard: 8-byte size then pre-order pairs; --no-header; --k", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeFile(`${dir}/f`, data);
    for (const k of [0, 4]) {
      const r = await bao(["outboard", `${dir}/f`, `${dir}/o`, "--k", String(k)]);
      assertEquals(r.code, 0, r.stderr);
      const expected = concat([sizeHeader(data.length), outboardOf(data, k, "pre").pairs]);
      assertEquals(await Deno.readFile(`${dir}/o`), expected);
    }
    await bao(["outboard", `${dir}/f`, `${dir}/o`, "--no-header"]);
    assertEquals(await Deno.readFile(`${dir}/o`), outboardOf(data, 4, "pre").pairs);
  });
});

Deno.test("bao encode writes what iroh-blobs sends for one blob, whole or for --ranges", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeFile(`${dir}/f`, data);
    const source = memorySource(data, outboardOf(data, 4));
    for (const ranges of [undefined, "0..4,10..12", "290.."]) {
      const args = ["encode", `${dir}/f`, `${dir}/e`, ...(ranges ? ["--ranges", ranges] : [])];
      const r = await bao(args);
      assertEquals(r.code, 0, r.stderr);
      const q = ranges ? ChunkRanges.parse(ranges) : ChunkRanges.ALL;
      const expected = concat([sizeHeader(data.length), await collect(encodeRanges(source, q))]);
      assertEquals(await Deno.readFile(`${dir}/e`), expected, `ranges ${ranges}`);
    }
    // Stdin to stdout works too.
    const piped = await bao(["encode", "-", "-", "--ranges", "3..5"], data);
    const expected = await collect(encodeRanges(source, ChunkRanges.range(3, 5)));
    assertEquals(piped.stdout, concat([sizeHeader(data.length), expected]));
  });
});

Deno.test("bao slice reproduces the official slice vectors", async () => {
  await withTempDir(async (dir) => {
    const c = vectors.slice.find((v) => v.input_len === 11264)!;
    const input = new Uint8Array(c.input_len);
    const view = new DataView(input.buffer);
    for (let i = 0; i * 4 < input.length; i++) view.setUint32(i * 4, i + 1, true);
    await Deno.writeFile(`${dir}/f`, input);
    for (const s of c.slices) {
      const r = await bao(["slice", `${dir}/f`, String(s.start), String(s.len), "-"]);
      assertEquals(r.code, 0, r.stderr);
      assertEquals(r.stdout.length, s.output_len);
      assertEquals(toHex(hash(r.stdout)), s.output_blake3);
    }
  });
});

Deno.test("bao decode round-trips, and stops with exit 1 at the first bad byte", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeFile(`${dir}/f`, data);
    const h = toHex(hash(data));
    await bao(["encode", `${dir}/f`, `${dir}/e`]);
    const ok = await bao(["decode", h, `${dir}/e`, `${dir}/out`]);
    assertEquals(ok.code, 0, ok.stderr);
    assertEquals(await Deno.readFile(`${dir}/out`), data);
    // Ranges to a file land at their offsets; to stdout they come back to back.
    await bao(["encode", `${dir}/f`, `${dir}/e2`, "--ranges", "2..3"]);
    const part = await bao(["decode", h, `${dir}/e2`, "-", "--ranges", "2..3"]);
    assertEquals(part.stdout, data.subarray(2048, 3072));
    await bao(["decode", h, `${dir}/e2`, `${dir}/sparse`, "--ranges", "2..3"]);
    assertEquals((await Deno.readFile(`${dir}/sparse`)).subarray(2048), data.subarray(2048, 3072));
    // Corrupt a byte of the fourth 16 KiB group: three groups come out, then a clear failure.
    const enc = await Deno.readFile(`${dir}/e`);
    const at = 8 + 64 * 15 + 3 * 16384 + 100;
    enc[at] ^= 0x40;
    await Deno.writeFile(`${dir}/bad`, enc);
    const bad = await bao(["decode", h, `${dir}/bad`, `${dir}/out2`]);
    assertEquals(bad.code, 1);
    assert(/verification failed: .*chunk 48/.test(bad.stderr), bad.stderr);
    const partial = await Deno.readFile(`${dir}/out2`);
    assert(partial.length <= 3 * 16384, `wrote ${partial.length} bytes`);
    assertEquals(partial, data.subarray(0, partial.length));
    // A truncated encoding also fails.
    await Deno.writeFile(`${dir}/short`, enc.subarray(0, 1000));
    assertEquals((await bao(["decode", h, `${dir}/short`, `${dir}/out3`])).code, 1);
  });
});

Deno.test("bao usage errors exit 2 with a message: bad hash, bad ranges, bad k, missing args", async () => {
  for (
    const args of [
      ["decode", "nothex", "-", "-"],
      ["encode", "x", "y", "--ranges", "5..2"],
      ["outboard", "x", "y", "--k", "11"],
      ["hash"],
      ["frobnicate"],
      ["hash", "-x", "f"],
      ["encode", "x", "y", "--ranges"],
    ]
  ) {
    const r = await bao(args);
    assertEquals(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert(r.stderr.startsWith("bao: "), r.stderr);
  }
  const missing = await bao(["hash", "/nonexistent/file"]);
  assertEquals(missing.code, 3, "a file error, not a failed verification");
});

Deno.test("bao --help, before or after a command, prints the usage on stdout and exits 0", async () => {
  for (const args of [["--help"], ["-h"], ["encode", "--help"]]) {
    const r = await bao(args);
    assertEquals(r.code, 0, `${args.join(" ")}: ${r.stderr}`);
    assert(new TextDecoder().decode(r.stdout).startsWith("usage: deno task bao"));
  }
});
