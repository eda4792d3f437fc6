/**
 * The streaming tar reader: archives GNU tar writes in its gnu, ustar and pax formats (long and
 * Unicode names, links, empty and block-sized files), split at random points; hand-made
 * archives for every rejection; and random and mutated archives, which must end in the typed
 * error.
 */
import { assert, assertEquals, assertRejects } from "./assert.ts";
import { MalformedTarError, readTar } from "../src/collection/tar.ts";
import { concat } from "./bao_helpers.ts";
import {
  mutated,
  paxEntry,
  randomPieces,
  readEntries,
  TAR_END,
  tarEntry,
  tarHeader,
  tarOf,
  tarOfDirectory,
  testTree,
} from "./archive_helpers.ts";
import { randomBytes, seededRandom } from "./random.ts";

const ENC = new TextEncoder();

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}

Deno.test("tar: GNU tar's gnu, ustar and pax archives read back at random split points", async () => {
  const rand = seededRandom(21);
  const { parent, files } = await testTree(rand);
  try {
    for (const format of ["gnu", "ustar", "pax"]) {
      // ustar cannot hold the longest name; everything else is the same tree.
      const args = [`--format=${format}`, "-cf", "-", "-C", parent, "root"];
      if (format === "ustar") args.splice(1, 0, "--exclude=a-rather-long-*");
      const archive = await tarOfDirectory(args);
      for (let round = 0; round < 8; round++) {
        const got = await readEntries(readTar(randomPieces(archive, rand, 3000)));
        const gotFiles = new Map(
          got.flatMap((e) => e.type === "file" ? [[e.name, e.data] as const] : []),
        );
        const expected = new Map(
          [...files].filter(([n]) => format !== "ustar" || !n.includes("a-rather-long")),
        );
        // The second name of a.txt is stored as a hard link to the first one tar met.
        const links = got.filter((e) => e.type === "link");
        assertEquals(links.length, 1, format);
        const [link] = links as { name: string; target: string }[];
        assertEquals([link.name, link.target].sort(), ["root/a.txt", "root/hard-a"], format);
        expected.delete(link.name);
        assertEquals(gotFiles, expected, format);
      }
    }
    // `tar -C root .` names entries `./x`: the prefix is dropped.
    const dot = await readEntries(
      readTar(once(await tarOfDirectory(["-cf", "-", "-C", `${parent}/root`, "."]))),
    );
    assert(dot.some((e) => e.name === "a.txt"), "./a.txt read as a.txt");
    assert(dot.every((e) => !e.name.startsWith("./")));
  } finally {
    await Deno.remove(parent, { recursive: true });
  }
});

Deno.test("tar: prefix field, pax path and size, GNU long names, skipped types", async () => {
  const data = ENC.encode("data");
  const archive = concat([
    tarEntry({ name: "file", prefix: "deep/dir" }, data),
    // A GNU header keeps times where POSIX has the prefix: it must not be read as one.
    tarEntry({ name: "gnu-file", prefix: "\x31\x32", magic: "gnu" }, data),
    paxEntry({ path: "from/pax ✓", mtime: "1.5", "SCHILY.xattr.x": "y" }),
    tarEntry({ name: "ignored-name" }, data),
    tarEntry({ name: "././@LongLink", type: "L" }, ENC.encode(`${"L".repeat(300)}\0`)),
    tarEntry({ name: "short", magic: "gnu" }, data),
    tarEntry({ name: "global", type: "g" }, ENC.encode("16 path=nowhere\n")),
    tarEntry({ name: "dir/", type: "5" }),
    tarEntry({ name: "sym", type: "2", linkname: "file" }),
    tarEntry({ name: "fifo", type: "6" }),
    tarEntry({ name: "contig", type: "7" }, data),
    tarEntry({ name: "hard", type: "1", linkname: "./deep/dir/file" }),
    TAR_END,
  ]);
  const got = await readEntries(readTar(once(archive)));
  assertEquals(got, [
    { type: "file", name: "deep/dir/file", data },
    { type: "file", name: "gnu-file", data },
    { type: "file", name: "from/pax ✓", data },
    { type: "file", name: "L".repeat(300), data },
    { type: "file", name: "contig", data },
    { type: "link", name: "hard", target: "deep/dir/file" },
  ]);
  // A pax size overrides the header's (which tar sets to 0 past 8 GiB).
  const sized = concat([
    paxEntry({ size: "4" }),
    tarEntry({ name: "s", size: 0 }),
    data,
    new Uint8Array(508),
    TAR_END,
  ]);
  assertEquals(await readEntries(readTar(once(sized))), [{ type: "file", name: "s", data }]);
  // Base-256 size.
  const b256 = tarHeader({ name: "b", rawSize: "" });
  b256.set([0x80, ...new Uint8Array(10), 4], 124);
  fixChecksum(b256);
  assertEquals(
    await readEntries(readTar(once(concat([b256, data, new Uint8Array(508), TAR_END])))),
    [
      { type: "file", name: "b", data },
    ],
  );
});

function fixChecksum(block: Uint8Array): void {
  block.fill(32, 148, 156);
  const sum = block.reduce((a, b) => a + b, 0);
  block.set(ENC.encode(sum.toString(8).padStart(6, "0") + "\0 "), 148);
}

Deno.test("tar: a file left unread or half read is skipped", async () => {
  const rand = seededRandom(22);
  const files: [string, Uint8Array][] = [
    ["a", randomBytes(5000, rand)],
    ["b", randomBytes(70_000, rand)],
    ["c", ENC.encode("last")],
  ];
  const names: string[] = [];
  for await (const e of readTar(randomPieces(tarOf(files), rand))) {
    names.push(e.name);
    if (e.type === "file" && e.name === "b") { for await (const _ of e.body) break; }
    if (e.type === "file" && e.name === "c") {
      const pieces: Uint8Array[] = [];
      for await (const p of e.body) pieces.push(p);
      assertEquals(concat(pieces), files[2][1]);
    }
  }
  assertEquals(names, ["a", "b", "c"]);
});

Deno.test("tar: every kind of malformed archive is a MalformedTarError", async () => {
  const data = ENC.encode("data");
  const file = tarEntry({ name: "f" }, data);
  const badSum = tarHeader({ name: "f" });
  badSum[0] ^= 1;
  const nonUtf8 = tarHeader({ name: "f" });
  nonUtf8[0] = 0xff;
  fixChecksum(nonUtf8);
  const cases: Record<string, Uint8Array> = {
    "empty stream": new Uint8Array(0),
    "no end marker": file,
    "ends inside a header": file.subarray(0, 100),
    "ends inside the data": concat([tarHeader({ name: "f", size: 100 }), data]),
    "ends inside the padding": file.subarray(0, 520),
    "wrong checksum": concat([badSum, TAR_END]),
    "v7 header without magic": concat([
      tarEntry({ name: "f", magic: "\0\0\0\0\0\0\0\0" }, data),
      TAR_END,
    ]),
    "size not octal": concat([tarHeader({ name: "f", rawSize: "12a4\0" }), TAR_END]),
    "size with junk after it": concat([tarHeader({ name: "f", rawSize: "4\0x" }), TAR_END]),
    "name not UTF-8": concat([nonUtf8, TAR_END]),
    "sparse file": concat([tarEntry({ name: "f", type: "S" }), TAR_END]),
    "unknown type": concat([tarEntry({ name: "f", type: "Q" }), TAR_END]),
    "pax header without entry": concat([paxEntry({ path: "x" }), TAR_END]),
    "pax sparse keys": concat([paxEntry({ "GNU.sparse.major": "1" }), file, TAR_END]),
    "pax bad size": concat([paxEntry({ size: "-1" }), file, TAR_END]),
    "pax bad length": concat([
      tarEntry({ name: "p", type: "x" }, ENC.encode("99 path=x\n")),
      file,
      TAR_END,
    ]),
    "pax length with leading zero": concat([
      tarEntry({ name: "p", type: "x" }, ENC.encode("011 path=x\n")),
      file,
      TAR_END,
    ]),
    "pax record without =": concat([
      tarEntry({ name: "p", type: "x" }, ENC.encode("8 pathx\n")),
      file,
      TAR_END,
    ]),
    "pax record not UTF-8": concat([
      tarEntry({ name: "p", type: "x" }, Uint8Array.of(...ENC.encode("9 path="), 0xff, 10)),
      file,
      TAR_END,
    ]),
    "extended header over 1 MiB": concat([
      tarHeader({ name: "p", type: "x", size: 2 ** 20 + 1 }),
      TAR_END,
    ]),
    "long name without entry": concat([
      tarEntry({ name: "././@LongLink", type: "L" }, ENC.encode("x\0")),
      TAR_END,
    ]),
  };
  for (const [what, bytes] of Object.entries(cases)) {
    await assertRejects(readEntries(readTar(once(bytes))), MalformedTarError, what);
  }
});

Deno.test("tar: random and mutated archives end in the typed error or parse", async () => {
  const rand = seededRandom(23);
  const valid = concat([
    paxEntry({ path: "pax/name" }),
    tarEntry({ name: "p" }, randomBytes(700, rand)),
    tarEntry({ name: "b", prefix: "a" }, randomBytes(20, rand)),
    tarEntry({ name: "d/", type: "5" }),
    tarEntry({ name: "l", type: "1", linkname: "a/b" }),
    TAR_END,
  ]);
  let parsed = 0;
  for (let i = 0; i < 3000; i++) {
    const input = mutated(valid, rand);
    try {
      await readEntries(readTar(randomPieces(input, rand, 700)));
      parsed++;
    } catch (e) {
      assert(e instanceof MalformedTarError, `case ${i}: ${e}`);
    }
  }
  assert(parsed > 100 && parsed < 3000, `parsed ${parsed}`);
});
