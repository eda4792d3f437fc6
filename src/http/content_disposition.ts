/**
 * The `Content-Disposition` of a named blob (RFC 6266): shown inline, saved under its name.
 *
 * @module
 */

/**
 * `name` as an RFC 8187 `value-chars`: UTF-8, percent-encoded but for `attr-char`.
 * `encodeURIComponent` leaves `'()*` as they are, which `attr-char` does not allow (a parser
 * may stop at the `'`), so those are encoded too.
 */
function extValue(name: string): string {
  return encodeURIComponent(name).replace(
    /['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/**
 * `name` for recipients that know no `filename*` (RFC 6266 §4.3): printable ASCII, in a quoted
 * string. Anything else becomes `_`: a quote or backslash (which would need escapes that
 * recipients read differently), a control, a non-ASCII character, and `%` (which some decode,
 * RFC 6266 appendix D).
 */
function asciiFallback(name: string): string {
  return name.replace(/[^\x20-\x7e]|["\\%]/gu, "_");
}

/**
 * The field for a blob named `path` in a collection or namespace: the file is its last segment.
 * None without a name, or for an empty one (a Willow path may end in an empty component).
 */
export function inlineDisposition(path: string | undefined): string | undefined {
  const name = path?.slice(path.lastIndexOf("/") + 1);
  if (name === undefined || name === "") return undefined;
  return `inline; filename="${asciiFallback(name)}"; filename*=UTF-8''${extValue(name)}`;
}
