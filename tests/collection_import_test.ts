/**
 * `importCollection` against real Deno KV, below HTTP: the lease keeps a slow upload's files
 * alive through garbage collection, and every way an upload can fail leaves nothing pinned.
 */
import { assert, assertEquals, assertRejects } from "./assert.ts";
import { hash } from "../src/blake3/tree.ts";
import type { ArchiveEntry } from "../src/collection/archive_entry.ts";
import { InvalidCollectionError } from "../src/collection/collection.ts";
import {
  archiveEntries,
  importCollection,
  NamesTooLargeError,
  TooManyFilesError,
} from "../src/collection/import.ts";
import { UploadTooLargeError } from "../src/store/errors.ts";
import { tarOf } from "./archive_helpers.ts";
import { concat } from "./bao_helpers.ts";
import { BlobStore } from "../src/store/blob_store.ts";
import { nothingPinned } from "./collection_helpers.ts";
import { randomBytes, seededRandom } from "./random.ts";

async function withStore(fn: (store: BlobStore) => Promise<void>): Promise<void> {
  const kv = await Deno.openKv(":memory:");
  try {
    await fn(new BlobStore(kv, { heartbeatMs: 10, uploadStaleMs: 60, unpinnedGraceMs: 0 }));
  } finally {
    kv.close();
  }
}

function file(name: string, data: Uint8Array): ArchiveEntry {
  return { type: "file", name, body: ReadableStream.from([data]) };
}

Deno.test("import: a slow upload's files survive garbage collection while the lease is renewed", async () => {
  await withStore(async (store) => {
    const rand = seededRandom(51);
    const data = [randomBytes(20_000, rand), randomBytes(100, rand)];
    async function* slow(): AsyncGenerator<ArchiveEntry> {
      yield file("a", data[0]);
      // Several lease lifetimes pass, with collections running, before the next file.
      for (let i = 0; i < 6; i++) {
        await new Promise((r) => setTimeout(r, 40));
        await store.gc();
      }
      yield file("b", data[1]);
    }
    const result = await importCollection(store, slow());
    assertEquals(result.entries.map((e) => [e.name, e.size]), [["a", 20_000], ["b", 100]]);
    await store.gc();
    for (const d of data) assert((await store.stat(hash(d))) !== undefined);
    assertEquals((await store.stat(result.collection.hash))?.refs, 1);
  });
});

Deno.test("import: a body that fails, too many files or a late bad name leave nothing pinned", async () => {
  await withStore(async (store) => {
    const rand = seededRandom(52);
    async function* broken(): AsyncGenerator<ArchiveEntry> {
      yield file("ok", randomBytes(5000, rand));
      yield {
        type: "file",
        name: "cut",
        body: (async function* () {
          yield randomBytes(1000, rand);
          throw new Error("client went away");
        })(),
      };
    }
    await assertRejects(importCollection(store, broken()), Error);
    assert(await nothingPinned(store));
    const many = (async function* () {
      for (let i = 0; i < 5; i++) yield file(`f${i}`, Uint8Array.of(i));
    })();
    await assertRejects(importCollection(store, many, { maxFiles: 3 }), TooManyFilesError);
    assert(await nothingPinned(store));
    const longNames = (async function* () {
      for (let i = 0; i < 5; i++) yield file(`${i}/${"n".repeat(100)}`, Uint8Array.of(i));
    })();
    await assertRejects(
      importCollection(store, longNames, { maxMetaSize: 300 }),
      NamesTooLargeError,
    );
    assert(await nothingPinned(store));
    const late = (async function* () {
      for (let i = 0; i < 20; i++) yield file(`f${i}`, randomBytes(3000, rand));
      yield file("../x", Uint8Array.of(1));
    })();
    await assertRejects(importCollection(store, late), InvalidCollectionError);
    assert(await nothingPinned(store));
    await store.gc();
    let left = 0;
    for await (const _ of store.list()) left++;
    assertEquals(left, 0, "garbage collection removes what the failed uploads stored");
  });
});

Deno.test("import: a body over the limit inside a file is UploadTooLargeError, not a cut archive", async () => {
  await withStore(async (store) => {
    const rand = seededRandom(53);
    const archive = tarOf([["a", randomBytes(60_000, rand)], ["b", randomBytes(60_000, rand)]]);
    for (const type of ["application/x-tar", "multipart/form-data; boundary=x"]) {
      const body = type === "application/x-tar" ? archive : formBody([
        ["a", randomBytes(60_000, rand)],
        ["b", randomBytes(60_000, rand)],
      ]);
      const pieces = ReadableStream.from([body.slice(0, 70_000), body.slice(70_000)]);
      const entries = archiveEntries(type, pieces, 100_000);
      await assertRejects(importCollection(store, entries), UploadTooLargeError, type);
      assert(await nothingPinned(store));
    }
  });
});

/** A form-data body with boundary `x`. */
function formBody(files: [string, Uint8Array][]): Uint8Array {
  const enc = new TextEncoder();
  return concat([
    ...files.flatMap(([name, data]) => [
      enc.encode(`--x\r\nContent-Disposition: form-data; name="f"; filename="${name}"\r\n\r\n`),
      data,
      enc.encode("\r\n"),
    ]),
    enc.encode("--x--\r\n"),
  ]);
}
