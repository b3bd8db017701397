/**
 * A TCP proxy in front of the harness server that cuts a connection after N bytes on the first
 * attempt of a request, so that the browser's resume runs over a real cut (at a byte in the
 * middle of a chunk), on either transport.
 *
 * A request opts in through its path: `/cut/<id>/<N>/rest` is forwarded as `/rest`, and the
 * first request (GET or WebSocket upgrade) seen with that id has its response cut N bytes after
 * the response head: the HTTP body, or the WebSocket frames. Later requests with the id pass
 * untouched; every one is counted, so tests can tell how many attempts a fetch made. The proxy
 * reads each request head on a connection (browsers reuse connections for several GETs, one at
 * a time, never pipelined; the harness's requests have no bodies) until an upgrade, and rewrites
 * Host to the upstream's own address.
 */
import { connect, createServer, type Server, type Socket } from "node:net";

/** What the proxy saw for one id. */
export interface CutStats {
  /** Paths (after the /cut/ prefix) of the requests with this id, in order: one per attempt. */
  requests: string[];
  /** Connections cut (0 or 1). */
  cuts: number;
}

const CUT_PATH = /^(\S+) \/cut\/([A-Za-z0-9_-]+)\/(\d+)(\/\S*) (HTTP\/1\.[01])$/;
const MAX_HEAD_BYTES = 64 * 1024;

export class CuttingProxy {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  readonly #stats = new Map<string, CutStats>();
  readonly #targetPort: number;

  private constructor(server: Server, targetPort: number) {
    this.#server = server;
    this.#targetPort = targetPort;
  }

  /** Listens on 127.0.0.1:`port` and forwards to 127.0.0.1:`targetPort`. */
  static async start(port: number, targetPort: number): Promise<CuttingProxy> {
    let proxy: CuttingProxy | null = null;
    const server = createServer((client) => (proxy as CuttingProxy).#onConnection(client));
    proxy = new CuttingProxy(server, targetPort);
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => resolve());
    });
    return proxy;
  }

  /** What the proxy saw for `id` (empty when nothing came). */
  stats(id: string): CutStats {
    return this.#stats.get(id) ?? { requests: [], cuts: 0 };
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #onConnection(client: Socket): void {
    const upstream = connect(this.#targetPort, "127.0.0.1");
    this.#sockets.add(client).add(upstream);
    const destroyBoth = () => {
      client.destroy();
      upstream.destroy();
    };
    for (const socket of [client, upstream]) {
      socket.on("error", destroyBoth);
      socket.on("close", () => {
        this.#sockets.delete(socket);
        destroyBoth();
      });
    }
    // Responses: forwarded as they come, unless a cut is armed for the next one.
    let cutAfter: number | null = null;
    let head: Buffer | null = null;
    let bodyBytes = 0;
    let dead = false;
    const forward = (data: Buffer) => {
      if (!client.write(data)) {
        upstream.pause();
        client.once("drain", () => upstream.resume());
      }
    };
    upstream.on("data", (chunk: Buffer) => {
      if (dead) return;
      if (cutAfter === null) return forward(chunk);
      let data = chunk;
      if (head !== null) {
        head = Buffer.concat([head, data]);
        const end = head.indexOf("\r\n\r\n");
        if (end < 0) return;
        forward(head.subarray(0, end + 4));
        data = head.subarray(end + 4);
        head = null;
      }
      if (bodyBytes + data.byteLength >= cutAfter) {
        dead = true;
        client.write(data.subarray(0, cutAfter - bodyBytes), destroyBoth);
        return;
      }
      bodyBytes += data.byteLength;
      forward(data);
    });
    // Requests: each head is rewritten; after an upgrade the bytes are WebSocket frames.
    let pending = Buffer.alloc(0);
    let upgraded = false;
    client.on("data", (chunk: Buffer) => {
      if (upgraded) {
        upstream.write(chunk);
        return;
      }
      pending = Buffer.concat([pending, chunk]);
      for (;;) {
        const end = pending.indexOf("\r\n\r\n");
        if (end < 0) {
          if (pending.byteLength > MAX_HEAD_BYTES) destroyBoth();
          return;
        }
        const lines = pending.subarray(0, end).toString("latin1").split("\r\n");
        pending = pending.subarray(end + 4);
        const match = CUT_PATH.exec(lines[0] ?? "");
        if (match) {
          const [, method, id, n, rest, version] = match as unknown as [string, string, string, string, string, string];
          lines[0] = `${method} ${rest} ${version}`;
          const stats = this.#stats.get(id) ?? { requests: [], cuts: 0 };
          this.#stats.set(id, stats);
          stats.requests.push(rest);
          if (stats.requests.length === 1) {
            stats.cuts = 1;
            cutAfter = Number(n);
            head = Buffer.alloc(0);
            bodyBytes = 0;
          }
        }
        const rewritten = lines.map((line) => (/^host:/i.test(line) ? `Host: 127.0.0.1:${this.#targetPort}` : line));
        upstream.write(`${rewritten.join("\r\n")}\r\n\r\n`);
        if (rewritten.some((line) => /^upgrade:/i.test(line))) {
          upgraded = true;
          if (pending.byteLength > 0) upstream.write(pending);
          return;
        }
      }
    });
  }
}
