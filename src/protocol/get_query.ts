/**
 * The query form of a Get (GATEWAY.md `GET /get/:hash?ranges=`): the request's RangeSpecSeq
 * (IB `wire::RangeSpecSeq`, brief §4) as unpadded base64url (RFC 4648 §5), so that a Get can be
 * a plain, cacheable URL. Without `ranges` the URL asks for the whole blob
 * (IB `GetRequest::blob`).
 *
 * @module
 */

import { ChunkRangesSeq } from "../ranges/range_spec.ts";
import { DecodeError } from "./decode_error.ts";

const BASE64URL = /^[A-Za-z0-9_-]*={0,2}$/;

function base64url(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/** The `ranges` query value for `ranges`. */
export function encodeRangesQuery(ranges: ChunkRangesSeq): string {
  return base64url(ranges.encode());
}

/**
 * The ranges a `?ranges=` value asks for (`undefined`: the whole blob). Padding is optional.
 * Throws `DecodeError` for text that is not base64url or bytes that are not a RangeSpecSeq.
 */
export function decodeRangesQuery(text: string | undefined): ChunkRangesSeq {
  if (text === undefined) return ChunkRangesSeq.BLOB;
  // The anchored check first: it leaves at most two `=` for `/=+$/`, which on a long run of
  // them is tried from every position (quadratic in a URL anyone sends).
  if (!BASE64URL.test(text)) throw new DecodeError("ranges is not base64url", 0);
  const bare = text.replace(/=+$/, "");
  if (bare.length % 4 === 1) throw new DecodeError("ranges is not base64url", 0);
  const binary = atob(bare.replaceAll("-", "+").replaceAll("_", "/"));
  return ChunkRangesSeq.decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
}
