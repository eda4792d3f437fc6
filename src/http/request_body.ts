/**
 * A request's body for the routes that stream it (uploads, iroh requests), with the runtime's
 * failures to read it (a client that disconnected, a body cut short of its `Content-Length`)
 * turned into `RequestBodyError`, so that they are told apart from the gateway's own faults.
 *
 * @module
 */

import { RequestBodyError } from "./errors.ts";

/** The body of `req` (empty when it has none); read errors become `RequestBodyError`. */
export function requestBody(req: Request): ReadableStream<Uint8Array> {
  if (req.body === null) return ReadableStream.from<Uint8Array>([]);
  const reader = req.body.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      let next: ReadableStreamReadResult<Uint8Array>;
      try {
        next = await reader.read();
      } catch (e) {
        throw new RequestBodyError(
          `the request body broke off: ${e instanceof Error ? e.message : String(e)}`,
          { cause: e },
        );
      }
      if (next.done) controller.close();
      else controller.enqueue(next.value);
    },
    cancel: (reason) => reader.cancel(reason),
  }, { highWaterMark: 0 });
}
