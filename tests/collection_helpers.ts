/** Shared pieces of the collection and `/get` HTTP tests: uploads and pin checks. */
import type { BlobStore } from "../src/store/blob_store.ts";

export interface CollectionReply {
  status: number;
  location: string | null;
  body: {
    hash?: string;
    entries?: { name: string; hash: string; size: number }[];
    error?: string;
    detail?: string;
  };
}

async function reply(res: Response): Promise<CollectionReply> {
  return { status: res.status, location: res.headers.get("Location"), body: await res.json() };
}

/** `POST /collections` as a form, one file part per entry (named by its filename). */
export async function postForm(
  url: string,
  files: Iterable<[string, Uint8Array<ArrayBuffer>]>,
  headers: Record<string, string> = {},
): Promise<CollectionReply> {
  const form = new FormData();
  for (const [name, data] of files) form.append("file", new File([data], name));
  return await reply(await fetch(`${url}/collections`, { method: "POST", body: form, headers }));
}

/** `POST /collections` of a tar archive. */
export async function postTar(
  url: string,
  archive: Uint8Array<ArrayBuffer> | ReadableStream<Uint8Array>,
): Promise<CollectionReply> {
  const res = await fetch(`${url}/collections`, {
    method: "POST",
    body: archive,
    headers: { "Content-Type": "application/x-tar" },
  });
  return await reply(res);
}

/** Whether no stored blob is pinned by anything. */
export async function nothingPinned(store: BlobStore): Promise<boolean> {
  for await (const { meta } of store.list()) if (meta.refs > 0) return false;
  return true;
}
