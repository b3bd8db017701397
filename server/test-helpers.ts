/**
 * Test helpers (imported by *.test.ts only): a raw `ws` client that sees every message, for tests
 * that speak the protocol byte by byte; a proxy that cuts connections; a server in a child process.
 */
import { WebSocket } from "ws";
import { decodeMessage, type Message } from "../shared/index.ts";
import type {
  HostileServerCommand,
  HostileServerConfig,
  HostileServerReply,
  HostileServerStats,
} from "./test-fixtures/hostile-server.ts";

/** A raw WebSocket client with a queue of received messages. */
export class RawClient {
  readonly ws: WebSocket;
  readonly #queue: (Buffer | string)[] = [];
  readonly #waiters: ((m: Buffer | string) => void)[] = [];
  /** Close code once closed. */
  closeCode: number | null = null;
  readonly closed: Promise<number>;

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on("message", (data, isBinary) => {
      const message = isBinary ? (data as Buffer) : data.toString();
      const waiter = this.#waiters.shift();
      if (waiter) waiter(message);
      else this.#queue.push(message);
    });
    ws.on("error", () => {});
    this.closed = new Promise((resolve) =>
      ws.on("close", (code) => {
        this.closeCode = code;
        resolve(code);
      }),
    );
  }

  static async connect(url: string, options: ConstructorParameters<typeof WebSocket>[2] = {}): Promise<RawClient> {
    const ws = new WebSocket(url, { perMessageDeflate: false, ...options });
    const client = new RawClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
    });
    return client;
  }

  send(data: Uint8Array | string): void {
    this.ws.send(data);
  }

  /** The next message, raw. Rejects after `timeoutMs`. */
  next(timeoutMs = 5000): Promise<Buffer | string> {
    const queued = this.#queue.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const waiter = (m: Buffer | string) => {
        clearTimeout(timer);
        resolve(m);
      };
      const timer = setTimeout(() => {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        reject(new Error(`no message within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiters.push(waiter);
    });
  }

  /** The next message, decoded as a control message. */
  async nextMessage(timeoutMs?: number): Promise<Message> {
    const raw = await this.next(timeoutMs);
    if (typeof raw === "string") throw new Error(`expected binary, got text ${raw}`);
    return decodeMessage(raw, { maxTotalByteLength: Number.MAX_SAFE_INTEGER });
  }

  /** Messages already received and not read. */
  get queuedCount(): number {
    return this.#queue.length;
  }

  close(): void {
    this.ws.close();
  }
}

/**
 * A TCP proxy on loopback that forwards to `target` and cuts each connection after a given number
 * of server-to-client bytes counted from the end of the HTTP response head ("\r\n\r\n"): the
 * body of an HTTP stream, or the WebSocket frames of an upgraded connection. `cuts[i]` applies to
 * the i-th connection; connections past the list are not cut.
 */
export class CuttingProxy {
  readonly #server: import("node:net").Server;
  readonly #sockets = new Set<import("node:net").Socket>();
  connectionCount = 0;

  private constructor(server: import("node:net").Server) {
    this.#server = server;
  }

  static async start(targetPort: number, cuts: number[]): Promise<CuttingProxy> {
    const net = await import("node:net");
    let proxy: CuttingProxy | null = null;
    const server = net.createServer((client) => {
      const p = proxy as CuttingProxy;
      const cut = cuts[p.connectionCount++];
      const upstream = net.connect(targetPort, "127.0.0.1");
      p.#sockets.add(client).add(upstream);
      client.on("error", () => upstream.destroy());
      upstream.on("error", () => client.destroy());
      client.on("close", () => upstream.destroy());
      upstream.on("close", () => client.destroy());
      client.pipe(upstream);
      let head = Buffer.alloc(0);
      let bodyBytes = -1; // -1 until the response head has passed
      upstream.on("data", (chunk: Buffer) => {
        let data = chunk;
        if (bodyBytes < 0) {
          head = Buffer.concat([head, data]);
          const end = head.indexOf("\r\n\r\n");
          if (end < 0) return;
          client.write(head.subarray(0, end + 4));
          data = head.subarray(end + 4);
          bodyBytes = 0;
        }
        if (cut !== undefined && bodyBytes + data.byteLength >= cut) {
          client.write(data.subarray(0, cut - bodyBytes), () => {
            client.destroy();
            upstream.destroy();
          });
          bodyBytes = cut;
          upstream.pause();
          return;
        }
        bodyBytes += data.byteLength;
        if (!client.write(data)) {
          upstream.pause();
          client.once("drain", () => upstream.resume());
        }
      });
    });
    proxy = new CuttingProxy(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
    return proxy;
  }

  get port(): number {
    return (this.#server.address() as import("node:net").AddressInfo).port;
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

/**
 * A server in a child process (server/test-fixtures/hostile-server.ts): a crash shows as the
 * child exiting, and its RSS and event-loop lag are its own.
 */
export class ServerChild {
  readonly process: import("node:child_process").ChildProcess;
  readonly url: string;
  readonly port: number;
  readonly exited: Promise<number | null>;
  #nextId = 1;

  private constructor(
    child: import("node:child_process").ChildProcess,
    url: string,
    port: number,
    exited: Promise<number | null>,
  ) {
    this.process = child;
    this.url = url;
    this.port = port;
    this.exited = exited;
  }

  static async start(config: HostileServerConfig = {}): Promise<ServerChild> {
    const { spawn } = await import("node:child_process");
    const { fileURLToPath } = await import("node:url");
    const fixture = fileURLToPath(new URL("./test-fixtures/hostile-server.ts", import.meta.url));
    const child = spawn(process.execPath, ["--expose-gc", "--import", "tsx", fixture, JSON.stringify(config)], {
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    const { url, port } = await new Promise<{ url: string; port: number }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("server child did not start within 20 s")), 20_000);
      child.once("exit", (code, signal) => reject(new Error(`server child exited (${code ?? signal}) at startup`)));
      child.on("message", (reply: HostileServerReply) => {
        if (reply.type === "listening") {
          clearTimeout(timer);
          resolve(reply);
        }
      });
    });
    return new ServerChild(child, url, port, exited);
  }

  /** True while the child runs. */
  get alive(): boolean {
    return this.process.exitCode === null && this.process.signalCode === null;
  }

  #ask<T extends HostileServerReply>(type: HostileServerCommand["type"], timeoutMs = 5000): Promise<T> {
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.process.off("message", onMessage);
        reject(new Error(`server child did not answer ${type} within ${timeoutMs} ms`));
      }, timeoutMs);
      const onMessage = (reply: HostileServerReply) => {
        if ("id" in reply && reply.id === id) {
          clearTimeout(timer);
          this.process.off("message", onMessage);
          resolve(reply as T);
        }
      };
      this.process.on("message", onMessage);
      this.process.send({ type, id } as HostileServerCommand);
    });
  }

  stats(): Promise<HostileServerStats> {
    return this.#ask<Extract<HostileServerReply, { type: "stats" }>>("stats");
  }

  async reset(): Promise<void> {
    await this.#ask("reset");
  }

  async gc(): Promise<void> {
    await this.#ask("gc");
  }

  /** Runs close() in the child; resolves with how long it took, in ms. */
  async close(timeoutMs = 30_000): Promise<number> {
    const reply = await this.#ask<Extract<HostileServerReply, { type: "closed" }>>("close", timeoutMs);
    return reply.closeMs;
  }

  async kill(): Promise<void> {
    if (this.alive) this.process.kill("SIGKILL");
    await this.exited;
  }
}
