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
 * value must not be allowed to smuggle past a parser.
 */
export function trimOws(text: string): string {
  return text.replace(/^[ \t]+|[ \t]+$/g, "");
}
