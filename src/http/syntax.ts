/**
 * Lexical rules of HTTP field values shared by the parsers here (RFC 9110 §5.6).
 *
 * @module
 */

/** `token = 1*tchar` (RFC 9110 §5.6.2): range units, media types, parameter names. */
export const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * Removes optional whitespace (`OWS = *( SP / HTAB )`, RFC 9110 §5.6.3) from both ends. Only
 * those two: `String.prototype.trim` also strips line breaks and Unicode spaces, which a field
 * value must not be allowed to smuggle past a parser. Index loops, not `/[ \t]+$/`: that
 * pattern is tried from every position of a run of spaces, quadratic in a header anyone sends.
 */
export function trimOws(text: string): string {
  let start = 0, end = text.length;
  while (start < end && isOws(text.charCodeAt(start))) start++;
  while (end > start && isOws(text.charCodeAt(end - 1))) end--;
  return text.slice(start, end);
}

function isOws(code: number): boolean {
  return code === 0x20 || code === 0x09;
}
