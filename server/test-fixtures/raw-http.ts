/**
 * A curl-like HTTP/1.1 client for tests: it writes the request bytes exactly as given (method,
 * target, every header, duplicates and odd spellings included) on a fresh TCP connection, with
 * `Connection: close`, and reads the response to the end of the connection: status, headers and
 * the body (all of it, or only its first and last bytes for large bodies).
 */
import { connect } from "node:net";

/** A response as it came. */
export interface RawResponse {
  status: number;
  /** Header values by lower-case name, in order (a repeated header has several). */
  headers: Map<string, string[]>;
  /** The body, or its first `keepHead` and last `keepTail` bytes joined when it was longer. */
  body: Buffer;
  /** Bytes of body received in all. */
  bodyByteLength: number;
}

/** Options of {@link rawHttp}. */
export interface RawHttpOptions {
  /** Local address to connect from (any 127.x.y.z on Linux loopback). Defaults to the kernel's choice. */
  localAddress?: string;
  /** Keep only this many first bytes of a longer body (with `keepTail`). Defaults to all. */
  keepHead?: number;
  /** Keep only this many last bytes of a longer body (with `keepHead`). Defaults to all. */
  keepTail?: number;
  /** Fails after this long. Defaults to 30_000 ms. */
  timeoutMs?: number;
}

/** The one value of header `name` (the first, if repeated), or undefined. */
export function header(response: RawResponse, name: string): string | undefined {
  return response.headers.get(name)?.[0];
}

/**
 * Sends `GET`-like request lines to 127.0.0.1:`port` and resolves with the response once the
 * server closes the connection.
 * @param head the request line and headers, without the final blank line, e.g.
 *   `GET /arraywire?name=a HTTP/1.1\r\nHost: 127.0.0.1\r\nRange: bytes=0-9`.
 * @throws {Error} when the connection fails, times out, or the response head does not parse.
 */
export function rawHttp(port: number, head: string, options: RawHttpOptions = {}): Promise<RawResponse> {
  const { keepHead = Number.POSITIVE_INFINITY, keepTail = 0, timeoutMs = 30_000 } = options;
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port, localAddress: options.localAddress });
    const timer = setTimeout(() => socket.destroy(new Error(`rawHttp: no end within ${timeoutMs} ms`)), timeoutMs);
    let headBytes = Buffer.alloc(0);
    let response: RawResponse | null = null;
    const first: Buffer[] = [];
    let firstByteLength = 0;
    let tail = Buffer.alloc(0);
    const takeBody = (data: Buffer) => {
      const r = response as RawResponse;
      r.bodyByteLength += data.byteLength;
      if (firstByteLength < keepHead) {
        const part = data.subarray(0, Math.min(data.byteLength, keepHead - firstByteLength));
        first.push(part);
        firstByteLength += part.byteLength;
        data = data.subarray(part.byteLength);
      }
      if (keepTail > 0 && data.byteLength > 0) tail = Buffer.concat([tail, data]).subarray(-keepTail);
    };
    socket.on("data", (data: Buffer) => {
      if (response) return takeBody(data);
      headBytes = Buffer.concat([headBytes, data]);
      const end = headBytes.indexOf("\r\n\r\n");
      if (end < 0) return;
      const lines = headBytes.subarray(0, end).toString("latin1").split("\r\n");
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? "");
      if (!status) {
        socket.destroy(new Error(`rawHttp: bad status line ${JSON.stringify(lines[0])}`));
        return;
      }
      const headers = new Map<string, string[]>();
      for (const line of lines.slice(1)) {
        const colon = line.indexOf(":");
        const name = line.slice(0, colon).trim().toLowerCase();
        headers.set(name, [...(headers.get(name) ?? []), line.slice(colon + 1).trim()]);
      }
      response = { status: Number(status[1]), headers, body: Buffer.alloc(0), bodyByteLength: 0 };
      takeBody(headBytes.subarray(end + 4));
    });
    socket.once("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.once("close", () => {
      clearTimeout(timer);
      if (!response) return reject(new Error("rawHttp: the connection closed before a response head"));
      response.body = Buffer.concat([...first, tail]);
      resolve(response);
    });
    socket.write(`${head}\r\nConnection: close\r\n\r\n`);
  });
}
