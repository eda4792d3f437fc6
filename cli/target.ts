/**
 * What a `get` or `cat` argument names: a blob by its hash, a collection's entry
 * (`HASH/name/in/it`), or a gateway URL as the gateway's own pages and `Location` headers write
 * them (`…/blobs/<hash>`, `…/collections/<hash>`, `…/collections/<hash>/<name>`), which also
 * names the gateway: a URL wins over `--gateway`, since it says where the content is.
 *
 * @module
 */

import { type Hash, parseTypedHash } from "../src/blake3/hash.ts";
import { UsageError } from "./args.ts";

export type Target =
  | { readonly kind: "blob"; readonly hash: Hash; readonly gateway?: string }
  | { readonly kind: "collection"; readonly hash: Hash; readonly gateway?: string }
  | {
    readonly kind: "entry";
    readonly hash: Hash;
    readonly name: string;
    readonly gateway?: string;
  };

/** Parses a URL's path after the gateway's base: `blobs/<hash>` or `collections/<hash>[/name]`. */
function fromUrl(url: URL): Target {
  const segments = url.pathname.split("/");
  const at = segments.findIndex((s, i) =>
    (s === "blobs" || s === "collections") && i + 1 < segments.length && segments[i + 1] !== ""
  );
  if (at < 0) {
    throw new UsageError(`${url.href} is not a /blobs/<hash> or /collections/<hash> URL`);
  }
  const gateway = url.origin + segments.slice(0, at).join("/");
  const hash = parseTypedHash(segments[at + 1]);
  const rest = segments.slice(at + 2);
  if (segments[at] === "blobs") {
    if (rest.length > 0) throw new UsageError(`${url.href} is not a blob URL`);
    return { kind: "blob", hash, gateway };
  }
  let name: string;
  try {
    name = rest.map((s) => decodeURIComponent(s)).join("/");
  } catch {
    throw new UsageError(`${url.href} has a malformed percent-encoded name`);
  }
  return name === "" ? { kind: "collection", hash, gateway } : {
    kind: "entry",
    hash,
    name,
    gateway,
  };
}

/** The target `text` names; `InvalidHashError` or `UsageError` when it names none. */
export function parseTarget(text: string): Target {
  if (/^https?:\/\//i.test(text)) {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw new UsageError(`${JSON.stringify(text)} is not a URL`);
    }
    return fromUrl(url);
  }
  const slash = text.indexOf("/");
  if (slash < 0) return { kind: "blob", hash: parseTypedHash(text) };
  const name = text.slice(slash + 1);
  const hash = parseTypedHash(text.slice(0, slash));
  return name === "" ? { kind: "collection", hash } : { kind: "entry", hash, name };
}
