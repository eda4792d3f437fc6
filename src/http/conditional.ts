/**
 * Entity tags and the conditional request headers that compare them (RFC 9110 §8.8.3, §13.1,
 * §13.2).
 *
 * A blob's representation is immutable and named by its hash, so its entity tag is the hash
 * itself, strong. There is no `Last-Modified`: the date-based conditions (`If-Modified-Since`,
 * `If-Unmodified-Since`, an HTTP-date in `If-Range`) have nothing to compare with, and RFC 9110
 * says what that means for each (§13.1.3, §13.1.4 ignore them; §13.1.5 makes `If-Range` false).
 *
 * @module
 */

import { type Hash, toHex } from "../blake3/hash.ts";
import { hash as blake3 } from "../blake3/tree.ts";
import { trimOws } from "./syntax.ts";

/**
 * An entity tag (§8.8.3): `opaque` is the text between the double quotes, `weak` whether it
 * carried the case-sensitive `W/` prefix.
 */
export interface EntityTag {
  readonly weak: boolean;
  readonly opaque: string;
}

/** The strong tag `"<64 hex>"` of a blob: content-addressed bytes never change under it. */
export function blobEntityTag(hash: Hash): EntityTag {
  return { weak: false, opaque: toHex(hash) };
}

/**
 * The strong tag of a representation that ranges choose from a blob (a Bao encoding, a Get
 * response): the hash, what it is, and 96 bits of the BLAKE3 of the canonical ranges. Spellings
 * of the same ranges share it, different ranges never do, and it stays short however many
 * ranges were asked for (a header that echoed them grew to the size of the query).
 */
export function selectionEntityTag(hash: Hash, kind: string, ranges: Uint8Array): EntityTag {
  return { weak: false, opaque: `${toHex(hash)}.${kind}.${toHex(blake3(ranges).subarray(0, 12))}` };
}

/** The `ETag` field value of a tag (§8.8.3 `entity-tag = [ weak ] opaque-tag`). */
export function formatEntityTag(tag: EntityTag): string {
  return `${tag.weak ? "W/" : ""}"${tag.opaque}"`;
}

/** `etagc = %x21 / %x23-7E / obs-text` (§8.8.3), repeated, between the quotes. */
const OPAQUE = /^[\x21\x23-\x7e\x80-\xff]*$/;

/**
 * The entity-tag starting at `text[i]` (§8.8.3) and the index just past it, or `undefined`.
 * The closing quote is the next one: `etagc` excludes DQUOTE, so there are no escapes.
 */
function scanTag(text: string, i: number): { tag: EntityTag; end: number } | undefined {
  const weak = text.startsWith("W/", i);
  const open = weak ? i + 2 : i;
  if (text[open] !== '"') return undefined;
  const close = text.indexOf('"', open + 1);
  if (close < 0) return undefined;
  const opaque = text.slice(open + 1, close);
  return OPAQUE.test(opaque) ? { tag: { weak, opaque }, end: close + 1 } : undefined;
}

/**
 * Entity tags of `#entity-tag` (§5.6.1 lists, §8.8.3), or `"*"`; `undefined` when the value
 * is not that syntax or lists no tag. The scan cannot split on commas: a comma is a legal
 * character inside an opaque tag.
 */
function parseTagList(field: string): readonly EntityTag[] | "*" | undefined {
  const text = trimOws(field);
  if (text === "*") return "*";
  const tags: EntityTag[] = [];
  let i = 0;
  const skip = (chars: string) => {
    while (i < text.length && chars.includes(text[i])) i++;
  };
  for (;;) {
    skip(" \t,");
    if (i >= text.length) break;
    const scanned = scanTag(text, i);
    if (scanned === undefined) return undefined;
    tags.push(scanned.tag);
    i = scanned.end;
    skip(" \t");
    if (i < text.length && text[i] !== ",") return undefined;
  }
  return tags.length > 0 ? tags : undefined;
}

/** Strong comparison (§8.8.3.2): neither is weak and the opaque tags are identical. */
function strongMatch(a: EntityTag, b: EntityTag): boolean {
  return !a.weak && !b.weak && a.opaque === b.opaque;
}

/** Weak comparison (§8.8.3.2): the opaque tags are identical, weak or not. */
function weakMatch(a: EntityTag, b: EntityTag): boolean {
  return a.opaque === b.opaque;
}

/**
 * `If-Match` (§13.1.1): true for `*` (the representation exists, or we would not be asked)
 * or when a listed tag strongly matches `current`. A value that is not a tag list cannot show
 * the client's precondition holds, so it is false: a guard must not pass on garbage.
 */
export function ifMatchHolds(field: string, current: EntityTag): boolean {
  const tags = parseTagList(field);
  if (tags === "*") return true;
  return tags !== undefined && tags.some((tag) => strongMatch(tag, current));
}

/**
 * `If-None-Match` (§13.1.2): false for `*` or when a listed tag weakly matches `current`
 * (`W/"x"` matches `"x"`: a cache revalidating its copy gets a 304 either way). A value that
 * is not a tag list is true: the client then gets the full response, which is always safe for
 * a GET.
 */
export function ifNoneMatchHolds(field: string, current: EntityTag): boolean {
  const tags = parseTagList(field);
  if (tags === "*") return false;
  return tags === undefined || !tags.some((tag) => weakMatch(tag, current));
}

/**
 * `If-Range` (§13.1.5): true only for a single entity tag (not a list) that strongly matches
 * `current`. A weak tag (clients MUST NOT send one), an HTTP-date (we have no `Last-Modified`
 * to match exactly) or anything else is false, and a false `If-Range` means "send everything".
 */
export function ifRangeHolds(field: string, current: EntityTag): boolean {
  const text = trimOws(field);
  const scanned = scanTag(text, 0);
  return scanned !== undefined && scanned.end === text.length && strongMatch(scanned.tag, current);
}

/**
 * What the preconditions of a request leave to do (§13.2.2):
 * - `precondition-failed`: `If-Match` is false, or `If-None-Match` is false on a method other
 *   than GET/HEAD;
 * - `not-modified`: `If-None-Match` is false on GET or HEAD;
 * - `range`: a GET with `Range` whose `If-Range` (if any) holds: evaluate the Range header;
 * - `full`: send the whole representation (any `Range` is ignored).
 */
export type PreconditionOutcome = "precondition-failed" | "not-modified" | "range" | "full";

/**
 * Evaluates the preconditions of a request for a representation tagged `current`, in the order
 * of RFC 9110 §13.2.2: If-Match, (If-Unmodified-Since), If-None-Match, (If-Modified-Since),
 * If-Range. The bracketed ones are skipped because the resource has no modification date
 * (§13.1.4, §13.1.3). Range is defined for GET only (§14.2), so a HEAD never gets `range`.
 * Call it only when the request would otherwise succeed (§13.2.1: a 404 ignores preconditions).
 */
export function evaluatePreconditions(
  method: string,
  headers: Headers,
  current: EntityTag,
): PreconditionOutcome {
  const getOrHead = method === "GET" || method === "HEAD";
  const ifMatch = headers.get("If-Match");
  if (ifMatch !== null && !ifMatchHolds(ifMatch, current)) return "precondition-failed";
  const ifNoneMatch = headers.get("If-None-Match");
  if (ifNoneMatch !== null && !ifNoneMatchHolds(ifNoneMatch, current)) {
    return getOrHead ? "not-modified" : "precondition-failed";
  }
  if (method !== "GET" || !headers.has("Range")) return "full";
  const ifRange = headers.get("If-Range");
  return ifRange === null || ifRangeHolds(ifRange, current) ? "range" : "full";
}
