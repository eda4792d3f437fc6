/** Shared helpers for the iroh-blobs protocol tests: an in-memory provider and a reader driver. */
import { type Hash, toHex } from "../src/blake3/hash.ts";
import { type BaoSource, memorySource } from "../src/bao/encode.ts";
import { outboardOf } from "../src/bao/outboard.ts";
import { readResponse } from "../src/protocol/response_reader.ts";
import type { ReadResponseOptions } from "../src/protocol/response_reader.ts";
import type { Request } from "../src/protocol/request.ts";
import type { BlobProvider } from "../src/protocol/response_writer.ts";
import { assert } from "./assert.ts";
import { concat } from "./bao_helpers.ts";

/** A real `BlobProvider` over blobs held in memory (k = 4 outboards). */
export class MemoryProvider implements BlobProvider {
  readonly #blobs = new Map<string, BaoSource>();

  /** Stores `data`; returns its hash. */
  add(data: Uint8Array): Hash {
    const outboard = outboardOf(data);
    this.#blobs.set(toHex(outboard.root), memorySource(data, outboard));
    return outboard.root;
  }

  /** Stores a source as is (a damaged or foreign one, for failure tests). */
  put(hash: Hash, source: BaoSource): void {
    this.#blobs.set(toHex(hash), source);
  }

  delete(hash: Hash): void {
    this.#blobs.delete(toHex(hash));
  }

  open(hash: Hash): Promise<BaoSource | undefined> {
    return Promise.resolve(this.#blobs.get(toHex(hash)));
  }
}

/** `bytes` as a stream of slices whose sizes come from `step`. */
export async function* sliced(
  bytes: Uint8Array,
  step: () => number,
): AsyncGenerator<Uint8Array> {
  for (let off = 0; off < bytes.length;) {
    const n = Math.max(1, step());
    yield bytes.subarray(off, off + n);
    off += n;
  }
}

export interface ReadBlob {
  hash: Hash;
  size: number;
  sizeVerified: boolean;
  /** Verified pieces, contiguous checks left to the test. */
  pieces: { offset: number; data: Uint8Array }[];
  done: boolean;
}

/** Reads a whole response, gathering the events per blob index (checking their order). */
export async function readAll(
  request: Request,
  response: AsyncIterable<Uint8Array>,
  options?: ReadResponseOptions,
): Promise<Map<number, ReadBlob>> {
  const blobs = new Map<number, ReadBlob>();
  let lastIndex = -1;
  for await (const e of readResponse(request, response, options)) {
    let blob = blobs.get(e.index);
    if (blob === undefined) {
      assert(e.index > lastIndex, "blobs arrive in ascending index order");
      lastIndex = e.index;
      blob = { hash: e.hash, size: e.size, sizeVerified: false, pieces: [], done: false };
      blobs.set(e.index, blob);
    }
    assert(!blob.done, "no event after a blob's done");
    blob.sizeVerified = e.sizeVerified;
    if (e.type === "data") blob.pieces.push({ offset: e.offset, data: e.data.slice() });
    else blob.done = true;
  }
  return blobs;
}

/** The verified bytes of a blob from `start` on (they must begin there and be contiguous). */
export function wholeData(blob: ReadBlob, start = 0): Uint8Array {
  let next = start;
  for (const p of blob.pieces) {
    assert(p.offset === next, `gap at ${next}`);
    next += p.data.length;
  }
  return concat(blob.pieces.map((p) => p.data));
}
