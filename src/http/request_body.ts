/**
 * A request's body for the routes that stream it (uploads, iroh requests, Willow submissions),
 * with the runtime's failures to read it (a client that disconnected, a body cut short of its
 * `Content-Length`) turned into `RequestBodyError`, so that they are told apart from the
 * gateway's own faults; and a deadline for a client that stops sending, which would otherwise
 * hold its place among the requests in flight for as long as it keeps the connection open
 * (nginx's `client_body_timeout`). Bytes are counted here, as they arrive, so that what a client
 * sent is seen whatever became of its request (an upload refused or cut off half-way, a body of a
 * route that is not an upload).
 *
 * @module
 */

import { RequestBodyError, RequestBodyStalledError } from "./errors.ts";

/**
 * `req` with a body that fails with `RequestBodyStalledError` once the gateway has waited
 * `idleMs` for the client's next piece, and with `RequestBodyError` when the runtime cannot read
 * it. Only waiting on the client counts: while the gateway is busy with what it has
 * (backpressure), no clock runs. `received` learns the length of every piece read.
 */
export function withBodyDeadline(
  req: Request,
  idleMs: number,
  received: (bytes: number) => void,
): Request {
  if (req.method === "GET" || req.method === "HEAD") return req;
  // `req.body` is not even looked at before the first read: once it is, Deno ends the connection
  // of a request whose body goes unread (a refusal) as soon as the response is sent, and the
  // client, still sending, sees a reset instead of the answer; once it is locked, Deno keeps the
  // connection open for good.
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (reader === undefined) {
        if (req.body === null) return controller.close();
        reader = req.body.getReader();
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      const stalled = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new RequestBodyStalledError(idleMs)), idleMs);
      });
      try {
        const next = await Promise.race([reader.read(), stalled]);
        if (next.done) controller.close();
        else {
          received(next.value.byteLength);
          controller.enqueue(next.value);
        }
      } catch (e) {
        if (e instanceof RequestBodyStalledError) {
          reader.cancel(e).catch(() => {});
          throw e;
        }
        throw new RequestBodyError(
          `the request body broke off: ${e instanceof Error ? e.message : String(e)}`,
          { cause: e },
        );
      } finally {
        clearTimeout(timer);
      }
    },
    cancel: (reason) => reader?.cancel(reason),
  }, { highWaterMark: 0 });
  // Not `new Request(req, …)`: that copies `req.signal`, which Deno.serve warns about reading.
  return new Request(req.url, {
    method: req.method,
    headers: req.headers,
    body,
    duplex: "half",
  } as RequestInit);
}

/**
 * The body of `req` (empty when it has none), as the routes that stream it read it: the app
 * serves every request through `withBodyDeadline`, so its read errors are already typed.
 */
export function requestBody(req: Request): ReadableStream<Uint8Array> {
  return req.body ?? ReadableStream.from<Uint8Array>([]);
}
