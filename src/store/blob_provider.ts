/**
 * The store as the provider of iroh-blobs responses (`BlobProvider`, `src/protocol/
 * response_writer.ts`). The writer opens blobs ahead of the one it is sending and says which
 * chunks it will read, so each blob's read-ahead is bounded to them and its first group is
 * already being fetched when the writer gets to it: for a collection of small files, the store's
 * lookups then overlap instead of adding up.
 *
 * @module
 */

import type { Hash } from "../blake3/hash.ts";
import { CHUNK_LEN } from "../blake3/constants.ts";
import type { ChunkRanges } from "../ranges/chunk_ranges.ts";
import type { BlobProvider } from "../protocol/response_writer.ts";
import type { BlobStore } from "./blob_store.ts";
import type { KvBlobSource } from "./kv_source.ts";

export function storeProvider(store: BlobStore): BlobProvider {
  return {
    async open(hash: Hash, ranges?: ChunkRanges): Promise<KvBlobSource | undefined> {
      const source = await store.open(hash);
      // Answers to peers are public reads.
      if (source === undefined || source.meta.restricted) return undefined;
      if (ranges === undefined) return source;
      const { size, groupBytes } = source.tree;
      const wanted = ranges.truncate(size);
      if (wanted.isEmpty || size === 0) return source;
      const b = wanted.boundaries;
      source.setReadWindow(wanted.isOpen ? size : Math.min(b[b.length - 1] * CHUNK_LEN, size));
      const start = Math.min(Math.floor((b[0] * CHUNK_LEN) / groupBytes) * groupBytes, size);
      // Only warms the source's cache: the read that counts is the writer's, verified.
      Promise.resolve(source.readData(start, Math.min(start + groupBytes, size))).catch(() => {});
      return source;
    },
    holding: (hash, pieces) => store.holding(hash, pieces),
  };
}
