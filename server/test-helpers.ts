/**
 * Test helpers (imported by *.test.ts only): a raw `ws` client that sees every message, for tests
 * that speak the protocol byte by byte.
 */
import { WebSocket } from "ws";
import { decodeMessage, type Message } from "../shared/index.ts";

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
