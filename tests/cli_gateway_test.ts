/**
 * `gateway` (cli/gateway.ts) run as a real subprocess against a real gateway on loopback: put a
 * directory and get it back byte for byte, resume interrupted and damaged downloads, and the
 * exact exit statuses and messages scripts rely on.
 */
import { assert, assertEquals } from "./assert.ts";
import { toHex } from "../src/blake3/hash.ts";
import { hash } from "../src/blake3/tree.ts";
import { encodeCollectionMeta } from "../src/collection/collection.ts";
import { directoryCollection } from "../src/collection/directory.ts";
import { concat } from "./bao_helpers.ts";
import { editBody, flipBit, startTamperingProxy } from "./client_proxy.ts";
import { startGateway, type TestGateway, upload } from "./gateway_helpers.ts";
import { randomBytes, seededRandom } from "./random.ts";

const CLI = new URL("../cli/gateway.ts", import.meta.url).pathname;
const GROUP = 16384;

interface Result {
  code: number;
  stdout: Uint8Array;
  text: string;
  stderr: string;
}

/** Runs the CLI with `GATEWAY_URL` set to `gateway` and no token from the environment. */
async function cli(gateway: string, args: string[], cwd?: string): Promise<Result> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, ...args],
    // INIT_CWD (set when the suite runs under `deno task`) is left as it is: only the task's
    // GATEWAY_CLI_CWD moves the CLI.
    env: { GATEWAY_URL: gateway, GATEWAY_TOKEN: "", NO_COLOR: "1", INIT_CWD: "/nonexistent" },
    cwd,
    stdin: "null",
  }).output();
  return {
    code: out.code,
    stdout: out.stdout,
    text: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

/** A gateway URL on a port that was free a moment ago: nothing listens there. */
function freeUrl(): string {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return `http://127.0.0.1:${port}`;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

async function withSetup(
  fn: (gw: TestGateway, dir: string) => Promise<void>,
  env: Record<string, string> = {},
): Promise<void> {
  const gw = await startGateway({ env });
  const dir = await Deno.makeTempDir({ prefix: "cli-gateway-" });
  try {
    await fn(gw, dir);
  } finally {
    await gw.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/** A directory with nested, empty, binary, long-named and non-ASCII files. */
async function makeTree(root: string): Promise<Map<string, Uint8Array>> {
  const rand = seededRandom(701);
  const files = new Map<string, Uint8Array>([
    ["photos/big.bin", randomBytes(5 * GROUP + 777, rand)],
    ["photos/2024/a.jpg", randomBytes(1000, rand)],
    ["photos/empty", new Uint8Array(0)],
    [`photos/${"long-name-".repeat(12)}.txt`, new TextEncoder().encode("a name over 100 bytes")],
    ["photos/ünïcødé 名前.txt", new TextEncoder().encode("names are UTF-8")],
  ]);
  for (const [name, bytes] of files) {
    const path = `${root}/${name}`;
    await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
    await Deno.writeFile(path, bytes);
  }
  return files;
}

Deno.test("gateway put DIR makes the collection sendme names; get writes it back byte for byte", async () => {
  await withSetup(async (gw, dir) => {
    const files = await makeTree(`${dir}/src`);
    const put = await cli(gw.url, ["put", `${dir}/src/photos`]);
    assertEquals(put.code, 0, put.stderr);
    const expected = toHex((await directoryCollection(`${dir}/src/photos`)).hash);
    assertEquals(put.text, `${expected}\n`);
    // stderr is not a terminal here: one plain final line, no bar.
    assert(
      /^put photos: stored collection [0-9a-f]{12}… of 5 files \(.+ in .+ s.*\)\n$/.test(
        put.stderr,
      ),
      put.stderr,
    );

    const get = await cli(gw.url, ["get", expected, "-o", `${dir}/out`]);
    assertEquals(get.code, 0, get.stderr);
    for (const [name, bytes] of files) {
      assertEquals(await Deno.readFile(`${dir}/out/${name}`), bytes, name);
    }

    const ls = await cli(gw.url, ["ls", expected]);
    assertEquals(ls.code, 0, ls.stderr);
    const lines = ls.text.trimEnd().split("\n").map((l) => l.split(/\s+/));
    assertEquals(lines.length, files.size);
    for (const [name, bytes] of files) {
      const line = ls.text.split("\n").find((l) => l.endsWith(`  ${name}`));
      assert(line !== undefined, `ls lists ${name}`);
      assertEquals(line.split(/\s+/).slice(0, 2), [toHex(hash(bytes)), String(bytes.length)]);
    }

    // Each entry by its gateway URL, and by HASH/name to stdout.
    for (const [name, bytes] of files) {
      const url = `${gw.url}/collections/${expected}/${
        name.split("/").map(encodeURIComponent).join("/")
      }`;
      const one = await cli(gw.url, ["get", url, "-o", `${dir}/one`]);
      assertEquals(one.code, 0, one.stderr);
      assertEquals(await Deno.readFile(`${dir}/one`), bytes, name);
      await Deno.remove(`${dir}/one`);
      const cat = await cli(gw.url, ["cat", `${expected}/${name}`]);
      assertEquals(cat.stdout, bytes, name);
    }
  });
});

Deno.test("gateway put FILE, cat and get --range at odd offsets", async () => {
  await withSetup(async (gw, dir) => {
    const data = randomBytes(3 * GROUP + 5, seededRandom(702));
    await Deno.writeFile(`${dir}/f`, data);
    const put = await cli(gw.url, ["put", `${dir}/f`]);
    assertEquals([put.code, put.text], [0, `${toHex(hash(data))}\n`], put.stderr);
    const h = put.text.trim();
    assertEquals((await cli(gw.url, ["cat", h])).stdout, data);
    for (const [a, b] of [[0, 0], [1, 16384], [16383, 16385], [40000, 49156]]) {
      const r = await cli(gw.url, ["cat", `${gw.url}/blobs/${h}`, "--range", `${a}-${b}`]);
      assertEquals(r.stdout, data.slice(a, b + 1), `${a}-${b}`);
    }
    const tail = await cli(gw.url, ["get", h, "--range", "49000-", "-o", `${dir}/tail`]);
    assertEquals(tail.code, 0, tail.stderr);
    assertEquals(await Deno.readFile(`${dir}/tail`), data.slice(49000));
    const json = await cli(gw.url, ["put", `${dir}/f`, "--json"]);
    assertEquals(JSON.parse(json.text), { hash: h, size: data.length });
  });
});

Deno.test("gateway get resumes a cut OUT.part and refetches from a damaged group on", async () => {
  await withSetup(async (gw, dir) => {
    const data = randomBytes(10 * GROUP + 123, seededRandom(703));
    const h = (await upload(gw.url, data)).body.hash!;
    const out = `${dir}/out`, part = `${out}.part`;
    const first = await cli(gw.url, ["get", h, "-o", out]);
    assertEquals(first.code, 0, first.stderr);
    assertEquals(await Deno.readFile(out), data);
    assert(!await exists(part), "the .part becomes OUT");

    /** Runs `get` with `left` in OUT.part: it must keep exactly `kept` bytes of it. */
    const resumeKeeps = async (left: Uint8Array, kept: number) => {
      await Deno.remove(out);
      await Deno.writeFile(part, left);
      const r = await cli(gw.url, ["get", h, "-o", out]);
      assertEquals(r.code, 0, r.stderr);
      assert(r.stderr.includes(`kept ${kept} verified bytes already there`), r.stderr);
      assertEquals(await Deno.readFile(out), data);
      assert(!await exists(part), "the .part becomes OUT");
    };

    // Interrupted: a cut in the middle of a group keeps the whole groups before it.
    await resumeKeeps(data.slice(0, 6 * GROUP + 500), 6 * GROUP);

    // Damaged and cut: a flipped byte in group 3 keeps groups 0..2 only.
    const damaged = data.slice(0, 8 * GROUP);
    damaged[3 * GROUP + 17] ^= 0x40;
    await resumeKeeps(damaged, 3 * GROUP);

    // Complete already, with junk after the end: the blob stays, the junk goes.
    await resumeKeeps(concat([data, new Uint8Array([1, 2, 3])]), data.length);

    // OUT itself is the blob: hashed here, so nothing is fetched (there is no gateway at all).
    const again = await cli(freeUrl(), ["get", h, "-o", out]);
    assertEquals(again.code, 0, again.stderr);
    assert(again.stderr.includes(`kept ${data.length} verified bytes already there`), again.stderr);
    assertEquals(await Deno.readFile(out), data);
  });
});

Deno.test("gateway get from a gateway that corrupts a byte: exit 1, only verified bytes kept", async () => {
  await withSetup(async (gw, dir) => {
    const data = randomBytes(6 * GROUP, seededRandom(704));
    const h = (await upload(gw.url, data)).body.hash!;
    const proxy = startTamperingProxy(gw.url, {
      // The full Bao stream: header 8 bytes, then pairs and groups; flip a byte deep inside.
      tamper: (url, res) =>
        url.search.includes("chunks=") ? res : editBody(res, (b) => flipBit(b, b.length - 100)),
    });
    try {
      const r = await cli(proxy.url, ["get", h, "-o", `${dir}/out`]);
      assertEquals(r.code, 1, r.stderr);
      assert(r.stderr.startsWith("gateway get: verification failed: "), r.stderr);
      assertEquals(r.stderr.trimEnd().split("\n").length, 1, r.stderr);
      const kept = await Deno.readFile(`${dir}/out.part`);
      assert(!await exists(`${dir}/out`), "an unproven download is never OUT");
      assert(kept.length < data.length, "the corrupted group is not written");
      assertEquals(kept, data.slice(0, kept.length));
    } finally {
      await proxy.close();
    }
  });
});

Deno.test("gateway errors: exact statuses and one-line messages", async () => {
  await withSetup(async (gw, dir) => {
    const bad = await cli(gw.url, ["get", "1234"]);
    assertEquals(
      [bad.code, bad.stderr],
      [
        2,
        "gateway get: invalid hash: a hash is 64 hex or 52 base32 characters, got 4 characters\n",
      ],
    );

    const missing = "ab".repeat(32);
    const notFound = await cli(gw.url, ["get", missing, "-o", `${dir}/x`]);
    assertEquals(
      [notFound.code, notFound.stderr],
      [3, `gateway get: not found: blob ${missing} is not here\n`],
    );
    const info = await cli(gw.url, ["info", missing, "--json"]);
    assertEquals(info.code, 3);
    assertEquals(JSON.parse(info.text).size, null);

    const nowhere = freeUrl();
    const down = await cli(nowhere, ["get", missing]);
    assertEquals(down.code, 4, down.stderr);
    assert(down.stderr.startsWith(`gateway get: unreachable: ${nowhere}: `));
    assertEquals(down.stderr.trimEnd().split("\n").length, 1, down.stderr);

    const usage = await cli(gw.url, ["frobnicate"]);
    assertEquals(
      [usage.code, usage.stderr],
      [2, 'gateway: unknown command "frobnicate"\n(gateway --help for usage)\n'],
    );
    const help = await cli(gw.url, ["--help"]);
    assertEquals(help.code, 0);
    assert(help.text.startsWith("usage: gateway"));
  });
});

Deno.test("gateway put with a wrong or missing token: exit 5", async () => {
  await withSetup(async (gw, dir) => {
    await Deno.writeFile(`${dir}/f`, randomBytes(100_000, seededRandom(705)));
    const wrong = await cli(gw.url, ["put", `${dir}/f`, "--token", "nope"]);
    assertEquals(
      [wrong.code, wrong.stderr],
      [5, "gateway put: forbidden: the gateway refused (wrong token)\n"],
    );
    const none = await cli(gw.url, ["put", `${dir}`]);
    assertEquals(
      [none.code, none.stderr],
      [5, "gateway put: unauthorized: the gateway needs a token (--token or GATEWAY_TOKEN)\n"],
    );
    const right = await cli(gw.url, ["put", `${dir}/f`, "--token", "s3cret"]);
    assertEquals(right.code, 0, right.stderr);
    // Reads, and any server a URL argument names, never see the token: here one in front of
    // the gateway that notes what it is sent.
    const seen: (string | null)[] = [];
    const other = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
      seen.push(req.headers.get("Authorization"));
      const url = new URL(req.url);
      return fetch(`${gw.url}${url.pathname}${url.search}`, { headers: req.headers });
    });
    try {
      const h = right.text.trim();
      for (
        const url of [`${gw.url}/blobs/${h}`, `http://127.0.0.1:${other.addr.port}/blobs/${h}`]
      ) {
        const got = await cli(gw.url, ["get", url, "-o", `${dir}/copy`, "--token", "s3cret"]);
        assertEquals(got.code, 0, got.stderr);
        await Deno.remove(`${dir}/copy`);
      }
      assert(seen.length > 0 && seen.every((a) => a === null), JSON.stringify(seen));
    } finally {
      await other.shutdown();
    }
  }, { GATEWAY_TOKEN: "s3cret" });
});

Deno.test("gateway gives up on a gateway that goes silent: exit 4, never a hang", async () => {
  // One listener that never answers, one that sends headers and then nothing.
  const silent = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of silent) held.push(conn);
  })();
  let release!: () => void;
  const released = new Promise<void>((r) => release = r);
  const stalling = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () =>
    new Response(
      new ReadableStream({
        async pull() {
          await released;
        },
      }),
    ));
  try {
    const hash = "ab".repeat(32);
    const quiet = await cli(`http://127.0.0.1:${silent.addr.port}`, [
      "info",
      hash,
      "--timeout",
      "0.5",
    ]);
    assertEquals(
      [quiet.code, quiet.stderr],
      [
        4,
        `gateway info: timed out: the gateway sent nothing for 0.5 s\n`,
      ],
    );
    // `get` asks discovery first: its silence ends the command, it is not asked again.
    const connections = held.length;
    const get = await cli(`http://127.0.0.1:${silent.addr.port}`, [
      "get",
      hash,
      "-o",
      "/dev/null",
      "--timeout",
      "0.5",
    ]);
    assertEquals([get.code, get.stderr], [
      4,
      `gateway get: timed out: the gateway sent nothing for 0.5 s\n`,
    ]);
    assertEquals(held.length, connections + 1);
    const stalled = await cli(`http://127.0.0.1:${stalling.addr.port}`, [
      "cat",
      hash,
      "--timeout",
      "0.5",
    ]);
    assertEquals(stalled.code, 4, stalled.stderr);
    // After its headers, for a JSON answer too: exit 4, one line, never a crash.
    const info = await cli(`http://127.0.0.1:${stalling.addr.port}`, [
      "info",
      hash,
      "--timeout",
      "0.5",
    ]);
    assertEquals([info.code, info.stderr], [
      4,
      "gateway info: timed out: the gateway sent nothing for 0.5 s\n",
    ]);
    const bad = await cli("http://127.0.0.1:1", ["info", hash, "--timeout", "soon"]);
    assertEquals([bad.code, bad.stderr.split("\n")[0]], [
      2,
      `gateway: --timeout takes seconds (0 for none, at most 2147483), got "soon"`,
    ]);
  } finally {
    release();
    silent.close();
    await accepting.catch(() => {});
    for (const c of held) c.close();
    await stalling.shutdown();
  }
});

Deno.test("gateway --timeout counts only waits on the network: slow transfers and readers live", async () => {
  await withSetup(async (gw, dir) => {
    const data = randomBytes(4 << 20, seededRandom(706));
    await Deno.writeFile(`${dir}/big`, data);
    const { body } = await upload(gw.url, data);
    let release!: () => void;
    const released = new Promise<void>((r) => release = r);
    // In front of the gateway: takes uploads a piece every 20 ms (an upload slower overall than
    // the timeout); passes downloads on until 2 MiB, then stalls.
    const proxy = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
      const url = new URL(req.url);
      const target = `${gw.url}${url.pathname}${url.search}`;
      if (req.method === "POST") {
        const pieces: Uint8Array[] = [];
        for await (const piece of req.body!) {
          pieces.push(piece);
          await new Promise((r) => setTimeout(r, 20));
        }
        return await fetch(target, { method: "POST", headers: req.headers, body: concat(pieces) });
      }
      const res = await fetch(target, { headers: req.headers });
      let passed = 0;
      return new Response(
        res.body!.pipeThrough(
          new TransformStream({
            async transform(piece, out) {
              if (passed > 2 << 20) await released;
              passed += piece.length;
              out.enqueue(piece);
            },
          }),
        ),
        res,
      );
    });
    const via = `http://127.0.0.1:${proxy.addr.port}`;
    try {
      const put = await cli(via, ["put", `${dir}/big`, "--timeout", "1", "-q"]);
      assertEquals([put.code, put.text.trim()], [0, body.hash], put.stderr);
      // A stall after megabytes arrived still ends the command.
      const stalled = await cli(via, ["cat", body.hash!, "--timeout", "1"]);
      assertEquals(stalled.code, 4, stalled.stderr);
      // A reader that takes its time (nothing reads the pipe for 2 s) is not the network's fault.
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", CLI, "cat", body.hash!, "--timeout", "0.5"],
        env: { GATEWAY_URL: gw.url, GATEWAY_TOKEN: "", NO_COLOR: "1" },
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      await new Promise((r) => setTimeout(r, 2000));
      const out = await child.output();
      assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
      assertEquals(out.stdout, data);
    } finally {
      release();
      await proxy.shutdown();
    }
  }, { GATEWAY_TOKEN: "" });
});

Deno.test("gateway get never replaces a file it did not write, unless --force", async () => {
  await withSetup(async (gw, dir) => {
    const data = randomBytes(3 * GROUP + 9, seededRandom(707));
    const h = (await upload(gw.url, data)).body.hash!;
    const mine = new TextEncoder().encode("#!/bin/sh\necho mine\n");
    const hook = `${dir}/pre-commit`;
    await Deno.writeFile(hook, mine, { mode: 0o755 });
    await Deno.chmod(hook, 0o755);

    for (const extra of [[], ["--range", "5-9"]]) {
      const refused = await cli(gw.url, ["get", h, "-o", hook, ...extra]);
      assertEquals([refused.code, refused.stderr], [
        6,
        `gateway get: ${hook} already exists${
          extra.length ? "" : " and is not this blob"
        } (--force replaces it)\n`,
      ]);
      assertEquals(await Deno.readFile(hook), mine);
      assert(!await exists(`${hook}.part`), "nothing was started");
    }

    const ranged = await cli(gw.url, ["get", h, "-o", hook, "--range", "5-9", "--force"]);
    assertEquals(ranged.code, 0, ranged.stderr);
    assertEquals(await Deno.readFile(hook), data.slice(5, 10));
    await Deno.chmod(hook, 0o755);
    const forced = await cli(gw.url, ["get", h, "-o", hook, "--force"]);
    assertEquals(forced.code, 0, forced.stderr);
    assertEquals(await Deno.readFile(hook), data);
    // A new file, with the default mode: the old one's executable bits are gone.
    assertEquals((await Deno.stat(hook)).mode! & 0o111, 0);

    // A device is written as it is: never truncated, resumed or renamed onto.
    for (const extra of [[], ["--range", "0-99"]]) {
      const sink = await cli(gw.url, ["get", h, "-o", "/dev/null", ...extra]);
      assertEquals(sink.code, 0, sink.stderr);
      assertEquals((await Deno.stat("/dev/null")).isCharDevice, true);
      assert(!await exists("/dev/null.part"), "no .part next to a device");
    }
  });
});

Deno.test("gateway get of a collection keeps to its own folder and the user's files", async () => {
  await withSetup(async (gw, dir) => {
    // Someone else's collection whose names start with `.git`.
    const theirs = new TextEncoder().encode("#!/bin/sh\necho theirs\n");
    await Deno.mkdir(`${dir}/src/.git/hooks`, { recursive: true });
    await Deno.writeFile(`${dir}/src/.git/hooks/pre-commit`, theirs);
    const put = await cli(gw.url, ["put", `${dir}/src/.git`]);
    assertEquals(put.code, 0, put.stderr);
    const h = put.text.trim();

    const repo = `${dir}/repo`, hook = `${repo}/.git/hooks/pre-commit`;
    const mine = new TextEncoder().encode("#!/bin/sh\necho mine\n");
    await Deno.mkdir(`${repo}/.git/hooks`, { recursive: true });
    await Deno.writeFile(hook, mine, { mode: 0o755 });

    // Without -o: a name starting with "." sends the files into a folder named by the hash.
    const get = await cli(gw.url, ["get", h], repo);
    assertEquals(get.code, 0, get.stderr);
    assert(get.stderr.includes(`1 file verified into ${h}`), get.stderr);
    assertEquals(await Deno.readFile(`${repo}/${h}/.git/hooks/pre-commit`), theirs);
    assertEquals(await Deno.readFile(hook), mine);

    // Into `.` as asked: the existing hook is refused, left as it was.
    const here = await cli(gw.url, ["get", h, "-o", "."], repo);
    assertEquals([here.code, here.stderr], [
      6,
      "gateway get: ./.git/hooks/pre-commit already exists and is not this blob " +
      "(--force replaces it)\n",
    ]);
    assertEquals(await Deno.readFile(hook), mine);

    // sendme's names (`photos/...`) go under `.`, and files there already are kept.
    const files = await makeTree(`${dir}/tree`);
    const photos = (await cli(gw.url, ["put", `${dir}/tree/photos`])).text.trim();
    for (const round of [0, 1]) {
      const r = await cli(gw.url, ["get", photos], repo);
      assertEquals(r.code, 0, r.stderr);
      assert(r.stderr.includes(`5 files verified into .`), r.stderr);
      assertEquals(r.stderr.includes("already there"), round === 1, r.stderr);
    }
    for (const [name, bytes] of files) assertEquals(await Deno.readFile(`${repo}/${name}`), bytes);

    // An empty collection still makes the folder asked for.
    await Deno.mkdir(`${dir}/empty`);
    const none = (await cli(gw.url, ["put", `${dir}/empty`])).text.trim();
    const empty = await cli(gw.url, ["get", none, "-o", `${dir}/made`]);
    assertEquals(empty.code, 0, empty.stderr);
    assertEquals((await Deno.stat(`${dir}/made`)).isDirectory, true);
  });
});

Deno.test("gateway ls escapes control characters in names", async () => {
  await withSetup(async (gw, dir) => {
    await Deno.mkdir(`${dir}/d`);
    await Deno.writeFile(`${dir}/d/red\x1b[31m\nfake line\x7f\u0085`, new Uint8Array(3));
    const put = await cli(gw.url, ["put", `${dir}/d`]);
    assertEquals(put.code, 0, put.stderr);
    const ls = await cli(gw.url, ["ls", put.text.trim()]);
    assertEquals(ls.code, 0, ls.stderr);
    assertEquals(ls.text.split("\n").length, 2, ls.text);
    assert(ls.text.endsWith("  d/red\\x1b[31m\\x0afake line\\x7f\\x85\n"), ls.text);
    const json = await cli(gw.url, ["ls", put.text.trim(), "--json"]);
    assertEquals(JSON.parse(json.text).entries[0].name, "d/red\x1b[31m\nfake line\x7f\u0085");
  });
});

Deno.test("gateway put refuses what the gateway would: a changed file, a name with a backslash", async () => {
  await withSetup(async (gw, dir) => {
    // In front of the gateway: holds an upload after its first piece until the test says.
    let started!: () => void, release!: () => void;
    const first = new Promise<void>((r) => started = r);
    const released = new Promise<void>((r) => release = r);
    let posts = 0;
    const proxy = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
      posts++;
      const pieces: Uint8Array[] = [];
      try {
        for await (const piece of req.body!) {
          if (pieces.length === 0) {
            started();
            await released;
          }
          pieces.push(piece);
        }
      } catch {
        return new Response(null, { status: 400 }); // the CLI gave the upload up
      }
      const url = new URL(req.url);
      return await fetch(`${gw.url}${url.pathname}`, {
        method: "POST",
        headers: req.headers,
        body: concat(pieces),
      });
    });
    const via = `http://127.0.0.1:${proxy.addr.port}`;
    try {
      const path = `${dir}/growing`;
      await Deno.writeFile(path, randomBytes(16 << 20, seededRandom(708)));
      const put = cli(via, ["put", path, "-q"]);
      await first;
      await Deno.truncate(path, 1000);
      release();
      const r = await put;
      assertEquals(r.code, 6, r.stderr);
      assert(r.stderr.startsWith(`gateway put: ${path} changed while it was being sent`), r.stderr);

      // Refused before a byte is sent, not after the files before it.
      posts = 0;
      await Deno.mkdir(`${dir}/d`);
      await Deno.writeFile(`${dir}/d/a`, new Uint8Array(10));
      await Deno.writeFile(`${dir}/d/b\\c`, new Uint8Array(10));
      const bad = await cli(via, ["put", `${dir}/d`]);
      assertEquals([bad.code, bad.stderr], [
        6,
        `gateway put: cannot upload ${await Deno.realPath(dir)}/d/b\\c: collection name ` +
        `"d/b\\\\c" contains a backslash\n`,
      ]);
      assertEquals(posts, 0);
    } finally {
      release();
      await proxy.shutdown();
    }
  }, { GATEWAY_TOKEN: "" });
});

Deno.test("gateway exits 4 on a server that answers other than JSON, 70 on its own bugs", async () => {
  const html = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () =>
      new Response("<!doctype html>\n<p>welcome</p>", { headers: { "content-type": "text/html" } }),
  );
  const dir = await Deno.makeTempDir({ prefix: "cli-gateway-" });
  try {
    const url = `http://127.0.0.1:${html.addr.port}`;
    await Deno.writeFile(`${dir}/f`, new Uint8Array(10));
    for (const args of [["info", "ab".repeat(32)], ["put", `${dir}/f`]]) {
      const r = await cli(url, args);
      assertEquals([r.code, r.stderr], [
        4,
        `gateway ${args[0]}: gateway error: gateway answered 200 unexpected answer: not the ` +
        `gateway's JSON: "<!doctype html>\\n<p>welcome</p>"\n`,
      ]);
    }
    for (const name of ["constructor", "toString", "__proto__"]) {
      const r = await cli(url, [name]);
      assertEquals([r.code, r.stderr], [
        2,
        `gateway: unknown command "${name}"\n(gateway --help for usage)\n`,
      ]);
    }
    // A failure nothing expects (injected: a file system call throwing a plain Error).
    await Deno.writeTextFile(
      `${dir}/inject.ts`,
      `Deno.stat = () => Promise.reject(new Error("injected\\nsecond"));`,
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--preload", `${dir}/inject.ts`, CLI, "put", `${dir}/f`],
      env: { GATEWAY_URL: url, NO_COLOR: "1" },
      stdin: "null",
    }).output();
    assertEquals(
      [out.code, new TextDecoder().decode(out.stderr)],
      [70, "gateway put: unexpected error: injected\\x0asecond\n"],
    );
  } finally {
    await html.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("gateway get: links, stdout by name, names in messages, entries x.part and x, OS errors", async () => {
  await withSetup(async (gw, dir) => {
    const data = randomBytes(2 * GROUP + 5, seededRandom(808));
    const h = (await upload(gw.url, data)).body.hash!;

    // A link at OUT: `--force` replaces the file it names, and the link stays a link.
    await Deno.writeTextFile(`${dir}/target.txt`, "mine");
    await Deno.symlink(`${dir}/target.txt`, `${dir}/link`);
    assertEquals((await cli(gw.url, ["get", h, "-o", `${dir}/link`])).code, 6);
    const forced = await cli(gw.url, ["get", h, "-o", `${dir}/link`, "--force"]);
    assertEquals(forced.code, 0, forced.stderr);
    assert((await Deno.lstat(`${dir}/link`)).isSymlink);
    assertEquals(await Deno.readFile(`${dir}/target.txt`), data);
    // A link to nothing is refused, even with --force.
    await Deno.symlink(`${dir}/nowhere`, `${dir}/dangling`);
    const dangling = await cli(gw.url, ["get", h, "-o", `${dir}/dangling`, "--force"]);
    assertEquals([dangling.code, await exists(`${dir}/nowhere`)], [6, false]);
    // A link at OUT.part (someone else's) is not written through.
    await Deno.writeTextFile(`${dir}/precious.txt`, "precious");
    await Deno.symlink(`${dir}/precious.txt`, `${dir}/out.part`);
    const through = await cli(gw.url, ["get", h, "-o", `${dir}/out`]);
    assertEquals(through.code, 6, through.stderr);
    assertEquals(await Deno.readTextFile(`${dir}/precious.txt`), "precious");

    // stdout by its device name is stdout, with the task's permissions (no -A needed).
    const named = await cli(gw.url, ["get", h, "-o", "/dev/stdout"]);
    assertEquals([named.code, named.stdout], [0, data], named.stderr);

    // A name in the way, with escape sequences in it: the message shows them escaped.
    const odd = `${dir}/x\x1b[2J`;
    await Deno.writeTextFile(odd, "in the way");
    const inTheWay = await cli(gw.url, ["get", h, "-o", odd]);
    assertEquals(inTheWay.code, 6);
    assert(inTheWay.stderr.includes("x\\x1b[2J") && !inTheWay.stderr.includes("\x1b"));

    // A failure Deno has no class for (a name too long) is local: exit 6, not 70.
    const long = await cli(gw.url, ["get", h, "-o", `${dir}/${"n".repeat(300)}`]);
    assertEquals(long.code, 6, long.stderr);

    // A collection listing `x.part` before `x`: both arrive whole.
    const files = [new TextEncoder().encode("the part"), new TextEncoder().encode("the x")];
    const names = ["d/x.part", "d/x"];
    const hashes = [];
    for (const f of files) hashes.push(hash(f));
    for (const f of files) await upload(gw.url, f);
    const meta = new Uint8Array(encodeCollectionMeta(names));
    await upload(gw.url, meta);
    const seq = concat([hash(meta), ...hashes]);
    await upload(gw.url, seq);
    const got = await cli(gw.url, [
      "get",
      `${gw.url}/collections/${toHex(hash(seq))}`,
      "-o",
      `${dir}/c`,
    ]);
    assertEquals(got.code, 0, got.stderr);
    assertEquals(await Deno.readFile(`${dir}/c/d/x.part`), files[0]);
    assertEquals(await Deno.readFile(`${dir}/c/d/x`), files[1]);
  });
});
