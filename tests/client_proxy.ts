/**
 * A lying gateway for the client tests: a loopback HTTP server in front of a real gateway that
 * forwards every request and lets a test rewrite chosen responses (flip a bit, change a
 * header, cut the body short or break the connection) or the requests themselves.
 */

export interface ProxyHooks {
  /** The response to send for `url`, given the real one. Untouched when absent. */
  tamper?: (url: URL, res: Response) => Response | Promise<Response>;
  /** Edits the headers forwarded upstream (e.g. a cache that drops `Range`). */
  editRequest?: (url: URL, headers: Headers) => void;
}

export interface TamperingProxy {
  url: string;
  /** Every request URL seen, in order. */
  seen: URL[];
  close(): Promise<void>;
}

export function startTamperingProxy(upstream: string, hooks: ProxyHooks): TamperingProxy {
  const seen: URL[] = [];
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, async (req) => {
    const url = new URL(req.url);
    seen.push(url);
    const headers = new Headers(req.headers);
    hooks.editRequest?.(url, headers);
    const res = await fetch(upstream + url.pathname + url.search, { method: req.method, headers });
    return hooks.tamper ? await hooks.tamper(url, res) : res;
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    seen,
    close: () => server.shutdown(),
  };
}

/** The response's headers without the length, for a body that changes length. */
function headersOf(res: Response): Headers {
  const headers = new Headers(res.headers);
  headers.delete("Content-Length");
  return headers;
}

/** `res` with its whole body rewritten by `edit` (which may change its length). */
export async function editBody(
  res: Response,
  edit: (body: Uint8Array<ArrayBuffer>) => Uint8Array<ArrayBuffer>,
): Promise<Response> {
  const body = edit(new Uint8Array(await res.arrayBuffer()));
  return new Response(body, { status: res.status, headers: headersOf(res) });
}

/** A copy of `bytes` with bit 0 of byte `at` flipped. */
export function flipBit(bytes: Uint8Array<ArrayBuffer>, at: number): Uint8Array<ArrayBuffer> {
  const out = bytes.slice();
  out[at] ^= 1;
  return out;
}

/**
 * `res` whose body sends its first `n` bytes and then breaks the connection: the length it
 * announces is the whole body's, so the server closes the connection when the bytes run out.
 */
export async function cutConnection(res: Response, n: number): Promise<Response> {
  const whole = new Uint8Array(await res.arrayBuffer());
  const headers = headersOf(res);
  headers.set("Content-Length", String(whole.length));
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(whole.subarray(0, n));
      controller.close();
    },
  });
  return new Response(stream, { status: res.status, headers });
}

/** `res` with header `name` set to `value`. */
export function withHeader(res: Response, name: string, value: string): Response {
  const headers = new Headers(res.headers);
  headers.set(name, value);
  return new Response(res.body, { status: res.status, headers });
}
