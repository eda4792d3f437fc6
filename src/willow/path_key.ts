/**
 * An order-preserving byte encoding of paths, for Deno KV keys.
 *
 * Deno KV orders a `Uint8Array` key part bytewise, a proper prefix first; Willow orders paths by
 * component, each component bytewise, a proper prefix first. `pathKey` maps one order onto the
 * other. Each component becomes its bytes followed by the terminator 0x01; the byte values that
 * would collide with the terminator or sort wrongly against it are escaped:
 *
 * | path symbol | key bytes |
 * |---|---|
 * | end of component | `01` |
 * | byte 00 | `02 01` |
 * | byte 01 | `02 02` |
 * | byte 02 | `02 03` |
 * | byte b ≥ 03 | `b` |
 *
 * The codes are prefix-free and ordered like the symbols (end < 00 < 01 < … < ff), so comparing
 * two keys bytewise compares the paths: at the first differing component, either one component
 * ends first (01 sorts below every byte code) or the first differing byte decides; and a path
 * that is a prefix of another has a key that is a prefix of the other's. No 0x00 byte is ever
 * written, so Deno KV's own escaping of zero bytes in key parts adds nothing.
 *
 * A prefix query is a key range: the keys of the paths that extend `p` are exactly those in
 * `[pathKey(p), pathKeyPrefixEnd(p))` (the end is `pathKey(p)` with its final 01 raised to 02;
 * for the empty path every key matches and the range is open).
 *
 * Size: one byte per path byte plus one per component, plus one per byte below 03. Typical
 * (textual) paths cost their length plus their component count; the worst case under the
 * Willow'25 limits is 1024 components + 2 × 1024 bytes = 3072 bytes, more than Deno KV's 2048
 * bytes per key. A store must therefore decide what to do with paths whose `pathKey` does not fit
 * its key budget (for example keep a truncated key plus a digest and compare in memory).
 *
 * A store key such as `[namespace, subspace, pathKey(path)]` orders entries by subspace, then by
 * path; the other coordinates go in as they are: 32-byte ids as `Uint8Array` parts (bytewise =
 * Willow'25 numeric order), timestamps as `bigint` parts (Deno KV orders them numerically) or as
 * 8 big-endian bytes.
 *
 * @module
 */

import { WillowDecodeError } from "./errors.ts";
import { type Path, pathOf } from "./path.ts";

const END = 0x01;
const ESCAPE = 0x02;

/** The order-preserving key bytes of `p`. */
export function pathKey(p: Path): Uint8Array {
  let n = 0;
  for (const c of p) {
    n += c.length + 1;
    for (const b of c) if (b <= ESCAPE) n++;
  }
  const out = new Uint8Array(n);
  let i = 0;
  for (const c of p) {
    for (const b of c) {
      if (b <= ESCAPE) {
        out[i++] = ESCAPE;
        out[i++] = b + 1;
      } else {
        out[i++] = b;
      }
    }
    out[i++] = END;
  }
  return out;
}

/** The path a key encodes; throws `WillowDecodeError` for bytes `pathKey` never writes. */
export function pathFromKey(key: Uint8Array): Path {
  const components: Uint8Array[] = [];
  let current: number[] = [];
  for (let i = 0; i < key.length; i++) {
    const b = key[i];
    if (b === END) {
      components.push(Uint8Array.from(current));
      current = [];
    } else if (b === ESCAPE) {
      const next = key[++i];
      if (next === undefined || next < 1 || next > 3) {
        throw new WillowDecodeError("invalid", "bad escape in a path key");
      }
      current.push(next - 1);
    } else if (b === 0) {
      throw new WillowDecodeError("invalid", "zero byte in a path key");
    } else {
      current.push(b);
    }
  }
  if (current.length > 0) throw new WillowDecodeError("truncated", "path key ends mid-component");
  try {
    return pathOf(components);
  } catch {
    throw new WillowDecodeError("invalid", "path key of a path over the limits");
  }
}

/**
 * The exclusive end of the key range holding exactly the keys of the paths with prefix `p`, or
 * `undefined` (open) for the empty path.
 */
export function pathKeyPrefixEnd(p: Path): Uint8Array | undefined {
  if (p.length === 0) return undefined;
  const key = pathKey(p);
  key[key.length - 1] = END + 1;
  return key;
}
