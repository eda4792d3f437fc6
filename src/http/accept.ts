/**
 * Proactive negotiation by `Accept` (RFC 9110 §12.5.1), for resources with more than one
 * representation (listings, discovery answers).
 *
 * @module
 */

/**
 * The weight `accept` gives `type` (lower case, `major/minor`): that of its most specific
 * matching media range, 0 when none matches. A weight that is not a number from 0 to 1 counts
 * as 0: a malformed preference cannot win.
 */
function quality(accept: string, type: string): number {
  const [major] = type.split("/");
  let best = -1, q = 0;
  for (const item of accept.split(",")) {
    const [range, ...params] = item.split(";").map((s) => s.trim().toLowerCase());
    const specificity = range === type ? 3 : range === `${major}/*` ? 2 : range === "*/*" ? 1 : 0;
    if (specificity === 0 || specificity <= best) continue;
    const qParam = params.find((p) => p.startsWith("q="));
    const value = qParam === undefined ? 1 : Number(qParam.slice(2));
    best = specificity;
    q = Number.isFinite(value) && value >= 0 && value <= 1 ? value : 0;
  }
  return q;
}

/**
 * Which of `offered` (lower-case types, the default first) `accept` prefers. The highest weight
 * wins and a tie goes to the one offered first; with no `Accept`, or none acceptable, the default
 * is sent (RFC 9110 §12.5.1 allows that rather than a 406, and every client can read it).
 */
export function negotiate(accept: string | null, offered: readonly [string, ...string[]]): string {
  if (accept === null) return offered[0];
  let chosen = offered[0], best = quality(accept, chosen);
  for (const type of offered.slice(1)) {
    const q = quality(accept, type);
    if (q > best) [chosen, best] = [type, q];
  }
  return chosen;
}
