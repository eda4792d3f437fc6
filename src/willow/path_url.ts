/**
 * Willow paths in URLs and JSON: each component as a `/`-prefixed segment, percent-encoded, so
 * that `/willow/<namespace>/<subspace>` plus the path string is the entry's URL (but for
 * components `.` and `..`, which URL parsers remove as dot segments: those take `?path=`).
 *
 * Components are arbitrary bytes: a segment's `%XX` escapes stand for bytes, other characters for
 * their UTF-8 encoding. The empty path is the empty string and a path of one empty component is
 * `/`, so every path has exactly one canonical string (`pathToUrl`), and `pathFromUrl` reads that
 * and any other spelling of the same bytes.
 *
 * @module
 */

import { InvalidWillowValueError } from "./errors.ts";
import { type Path, pathOf } from "./path.ts";

const UNRESERVED = /[A-Za-z0-9\-._~]/;

function segmentBytes(segment: string): Uint8Array {
  const out: number[] = [];
  const utf8 = new TextEncoder();
  for (let i = 0; i < segment.length; i++) {
    const ch = segment[i];
    if (ch === "%") {
      const hex = segment.slice(i + 1, i + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) {
        throw new InvalidWillowValueError(`bad percent escape in path segment "${segment}"`);
      }
      out.push(parseInt(hex, 16));
      i += 2;
    } else {
      const cp = segment.codePointAt(i)!;
      const s = String.fromCodePoint(cp);
      out.push(...utf8.encode(s));
      i += s.length - 1;
    }
  }
  return Uint8Array.from(out);
}

/** The path a string of `/`-prefixed segments names; `InvalidWillowValueError` if it is none. */
export function pathFromUrl(text: string): Path {
  if (text === "") return pathOf([]);
  if (!text.startsWith("/")) {
    throw new InvalidWillowValueError(`a path is written like /blog/ideas, got "${text}"`);
  }
  return pathOf(text.slice(1).split("/").map(segmentBytes));
}

/** The canonical string of `p`: unreserved characters as they are, every other byte as `%XX`. */
export function pathToUrl(p: Path): string {
  let out = "";
  for (const c of p) {
    out += "/";
    for (const b of c) {
      const ch = String.fromCharCode(b);
      out += b < 0x80 && UNRESERVED.test(ch)
        ? ch
        : `%${b.toString(16).toUpperCase().padStart(2, "0")}`;
    }
  }
  return out;
}
