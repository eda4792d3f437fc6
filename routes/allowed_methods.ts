/**
 * `405 Method Not Allowed` with `Allow` (RFC 9110 §15.5.6) for a path that routes serve with
 * other methods, read from the app's own route table so that it cannot drift from the routes.
 */
import type { Hono } from "hono";

/**
 * A Hono path pattern (`/blobs/:hash`, `:name{[\s\S]+}`, `*`) as a regular expression. A `*`
 * matches line terminators too, as Hono's does: a decoded path may hold them.
 */
function patternRegex(pattern: string): RegExp {
  const source = pattern.split("/").map((segment) => {
    if (segment === "*") return "[\\s\\S]*";
    const param = /^:\w+(?:\{(.+)\})?$/.exec(segment);
    if (param !== null) return param[1] === undefined ? "[^/]+" : `(?:${param[1]})`;
    return segment.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  }).join("/");
  return new RegExp(`^${source}$`);
}

/** The methods some route of `app` answers at `path`, sorted; none when no route matches it. */
export function allowedMethods(app: Hono, path: string): string[] {
  const methods = new Set<string>();
  for (const route of app.routes) {
    // Middleware (`app.use`) is registered for every method; it serves no path by itself.
    if (route.method !== "ALL" && patternRegex(route.path).test(path)) methods.add(route.method);
  }
  if (methods.size === 0) return [];
  // HEAD is answered by GET handlers, OPTIONS by the CORS middleware everywhere.
  if (methods.has("GET")) methods.add("HEAD");
  methods.add("OPTIONS");
  return [...methods].sort();
}
