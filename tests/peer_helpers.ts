/**
 * Peers for tests: a dishonest peer gateway in front of an honest one. It answers discovery
 * truthfully (so it is asked for data) and then tampers with the data stream in one way; or it
 * tampers with its discovery answers instead.
 */

/** What the liar does to its data answers (`POST /get`). */
export type Lie =
  | "flip-data"
  | "swap-pair"
  | "wrong-size"
  | "truncate"
  | "stall"
  /** The first 20 KB at once, then a byte every 20 ms: always sending, never getting on. */
  | "drip"
  /** A redirect to the honest gateway's `POST /blobs`, to make the asker write there. */
  | "redirect"
  /** Discovery answered with headers, then a byte every 20 ms, never ending. */
  | "discovery-trickle"
  /** Discovery answered with an endless stream of bytes. */
  | "discovery-flood";

/**
 * A body that yields `first` at once, then one byte of `rest` (or a zero byte, for ever, when
 * `rest` is undefined) after each `everyMs`, until it ends or is cancelled.
 */
function trickle(first: Uint8Array, rest: Uint8Array | undefined, everyMs: number) {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let at = 0;
  return new ReadableStream<Uint8Array>({
    start: (controller) => controller.enqueue(first),
    pull: (controller) =>
      new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          if (rest !== undefined && at >= rest.length) controller.close();
          else controller.enqueue(rest === undefined ? new Uint8Array(1) : rest.slice(at, ++at));
          resolve();
        }, everyMs);
      }),
    cancel: () => clearTimeout(timer),
  });
}

export interface Liar {
  url: string;
  /** POST /get requests it received. */
  requests(): number;
  close(): Promise<void>;
}

async function body(res: Response): Promise<Uint8Array<ArrayBuffer>> {
  return new Uint8Array(await res.arrayBuffer());
}

/**
 * Starts a peer on loopback that proxies `upstream` and lies in the way `lie` says, from its
 * `honestFor + 1`-th data request on (a peer that earns trust first).
 */
export function startLiar(upstream: string, lie: Lie, honestFor = 0): Liar {
  let count = 0;
  let release!: () => void;
  const released = new Promise<void>((r) => release = r);
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, async (req) => {
    const url = new URL(req.url);
    const target = `${upstream}${url.pathname}${url.search}`;
    if (url.pathname.startsWith("/discovery")) {
      if (lie === "discovery-trickle") {
        return new Response(trickle(new Uint8Array(1), undefined, 20));
      }
      if (lie === "discovery-flood") {
        return new Response(
          ReadableStream.from((function* () {
            while (true) yield new Uint8Array(65536);
          })()),
        );
      }
    }
    if (req.method !== "POST" || url.pathname !== "/get") {
      const body = req.method === "POST" ? await req.arrayBuffer() : undefined;
      return await fetch(target, { method: req.method, headers: req.headers, body });
    }
    count++;
    if (count <= honestFor) {
      return await fetch(target, { method: "POST", body: await req.arrayBuffer() });
    }
    if (lie === "stall") {
      await released;
      return new Response(null, { status: 503 });
    }
    if (lie === "redirect") {
      return new Response(null, { status: 307, headers: { Location: `${upstream}/blobs` } });
    }
    const res = await fetch(target, { method: "POST", body: await req.arrayBuffer() });
    const bytes = await body(res);
    switch (lie) {
      case "flip-data":
        // The last byte is data in every response (the last leaf comes last).
        bytes[bytes.length - 1] ^= 0x01;
        return new Response(bytes);
      case "swap-pair": {
        // The first pair after the size header: left and right CVs exchanged.
        const pair = bytes.slice(8, 72);
        bytes.set(pair.subarray(32), 8);
        bytes.set(pair.subarray(0, 32), 40);
        return new Response(bytes);
      }
      case "wrong-size": {
        const view = new DataView(bytes.buffer);
        view.setBigUint64(0, view.getBigUint64(0, true) + 1024n, true);
        return new Response(bytes);
      }
      case "drip":
        return new Response(trickle(bytes.subarray(0, 20_000), bytes.subarray(20_000), 20));
      case "truncate":
        // Half the response, then the connection ends abruptly.
        return new Response(
          new ReadableStream({
            start(controller) {
              controller.enqueue(bytes.subarray(0, bytes.length >> 1));
              controller.error(new Error("peer stops here"));
            },
          }),
        );
      default:
        // The lies of discovery answers: data is answered honestly.
        return new Response(bytes);
    }
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    requests: () => count,
    async close() {
      release();
      await server.shutdown();
    },
  };
}
