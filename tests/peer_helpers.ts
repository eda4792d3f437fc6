/**
 * Peers for tests: a dishonest peer gateway in front of an honest one. It answers discovery
 * truthfully (so it is asked for data) and then tampers with the data stream in one way.
 */

export type Lie = "flip-data" | "swap-pair" | "wrong-size" | "truncate" | "stall";

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
    if (req.method !== "POST" || url.pathname !== "/get") {
      return await fetch(target, { method: req.method, headers: req.headers });
    }
    count++;
    if (count <= honestFor) {
      return await fetch(target, { method: "POST", body: await req.arrayBuffer() });
    }
    if (lie === "stall") {
      await released;
      return new Response(null, { status: 503 });
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
