/**
 * Node only: one HTTP/1.1 GET over a raw `net` / `tls` socket whose body is read straight into the
 * caller's memory (recv_into, no userland copy): see node-socket-reader.ts for how. The HTTP
 * transport uses it in place of `node:http`, which hands over the socket's chunks as new Buffers
 * that then have to be copied into the target.
 *
 * node:net and node:tls are loaded on the first request, through variable specifiers, so that a
 * browser bundle that reaches this file (client/http.ts imports it lazily) never pulls them in.
 */
import type { Socket } from "node:net";
import type { ConnectionOptions } from "node:tls";
import { encodeRequestHead } from "./http1-head.ts";
import { NodeSocketError } from "./node-socket-error.ts";
import { type ByteReader, SocketReader, type SocketReaderStats } from "./node-socket-reader.ts";

export type { NodeSocketErrorCode } from "./node-socket-error.ts";
export { NodeSocketError } from "./node-socket-error.ts";
export type { ByteReader, SocketReaderStats } from "./node-socket-reader.ts";
export { DEFAULT_READ_AHEAD_BYTE_LENGTH } from "./node-socket-reader.ts";

/** Options of {@link requestRaw}. */
export interface RequestRawOptions {
  /** Request headers, written as given after Host. */
  headers?: Record<string, string>;
  /** Aborts the request and the body; reads then reject with ABORTED. No effect once the whole body is in. */
  signal?: AbortSignal;
  /** TLS options for https: URLs (`ca`, `rejectUnauthorized`, client certificates, ...). */
  tls?: Omit<ConnectionOptions, "host" | "port" | "path" | "socket" | "onread">;
  /**
   * Scratch for body bytes that arrive while no readInto is pending (copied later); the socket
   * pauses when it is full. Defaults to 64 KiB.
   */
  readAheadByteLength?: number;
  /**
   * Called after each socket read that brought bytes (head or body), before they are delivered:
   * a cheap way to see that the connection is alive while a large view is still filling (an
   * idle timer). If it throws, the reader fails with ESOCKET.
   */
  onData?: () => void;
}

/** A response whose body is read with {@link ByteReader.readInto}. */
export interface RawResponse {
  status: number;
  /** Lower-case names; a repeated header's values joined with ", ". */
  headers: Record<string, string>;
  reader: ByteReader & {
    readonly stats: SocketReaderStats;
    /** Resolves with the first bytes a socket read put into the view (see SocketReader.readSome). */
    readSome(view: Uint8Array): Promise<Uint8Array>;
  };
}

/**
 * GETs `url` (http: or https:) on a new connection (`Connection: close`) and resolves once the
 * response head is in. Body bytes go straight into the views given to `reader.readInto`; while a
 * read is pending, a Content-Length or close-delimited body is never copied in userland (chunked
 * bodies: all but the bytes read along with each chunk-size line).
 *
 * The memory of a pending view must stay allocated and in place (not transferred or resized)
 * until its read settles: the kernel writes into it. A caller that stops reading before the end
 * of the body calls `reader.cancel()`: otherwise the connection stays open, paused.
 * @throws {TypeError} (synchronously) for a URL that is not http: or https:, or a header that
 *   could inject (CR, LF, NUL, a non-token name) or one the reader sets itself (Connection,
 *   Content-Length, Transfer-Encoding, Upgrade; a Host header replaces the URL's, once).
 * @throws {RangeError} (synchronously) for a readAheadByteLength below 1.
 * @throws {@link NodeSocketError} (as a rejection) ECONNECT when the connection fails, EBADHEAD for a
 *   malformed or oversized (> 64 KiB) response head, EINCOMPLETE when the connection closes before
 *   the head is in, ECONNRESET / ESOCKET for socket errors, ABORTED when the signal fires.
 */
export function requestRaw(url: URL | string, options: RequestRawOptions = {}): Promise<RawResponse> {
  const target = new URL(String(url));
  if (target.protocol !== "http:" && target.protocol !== "https:") {
    throw new TypeError(`requestRaw url: expected an http: or https: URL, got ${target.protocol}`);
  }
  const requestHead = encodeRequestHead(target, options.headers);
  const reader = new SocketReader(options.readAheadByteLength, options.onData);
  const { signal } = options;
  const aborted = () => new NodeSocketError("ABORTED", "The request was aborted", { cause: signal?.reason });
  if (signal?.aborted) return Promise.reject(aborted());
  const modules = loadedModules ?? loadModules();
  return modules instanceof Promise
    ? modules.then((m) => {
        if (signal?.aborted) throw aborted();
        return connect(m, target, requestHead, reader, options);
      })
    : connect(modules, target, requestHead, reader, options);
}

interface NetModules {
  net: typeof import("node:net");
  tls: typeof import("node:tls");
}

let loadedModules: NetModules | null = null;

/** Loads node:net and node:tls; the specifiers are variables so that bundlers leave them alone. */
async function loadModules(): Promise<NetModules> {
  const netSpecifier = "node:net";
  const tlsSpecifier = "node:tls";
  const [net, tls] = await Promise.all([
    import(/* @vite-ignore */ netSpecifier) as Promise<typeof import("node:net")>,
    import(/* @vite-ignore */ tlsSpecifier) as Promise<typeof import("node:tls")>,
  ]);
  loadedModules = { net, tls };
  return loadedModules;
}

function connect(
  { net, tls }: NetModules,
  target: URL,
  requestHead: Uint8Array,
  reader: SocketReader,
  options: RequestRawOptions,
): Promise<RawResponse> {
  const { signal } = options;
  const secure = target.protocol === "https:";
  const host = target.hostname.replace(/^\[(.*)\]$/, "$1"); // [::1] -> ::1
  const port = Number(target.port || (secure ? 443 : 80));
  const socket: Socket = secure
    ? tls.connect({
        ALPNProtocols: ["http/1.1"],
        servername: net.isIP(host) ? undefined : host,
        ...options.tls,
        host,
        port,
        // tls.connect documents onread ("see the onread option of net.Socket"); @types/node omits it.
        onread: reader.onread,
      } as ConnectionOptions)
    : net.connect({ host, port, noDelay: true, onread: reader.onread });
  reader.attach(socket, secure ? "secureConnect" : "connect");
  if (signal) {
    const onAbort = () => reader.abort(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    socket.once("close", () => signal.removeEventListener("abort", onAbort));
  }
  socket.write(requestHead);
  return reader.head.then((head) => {
    if (head.status === 101) {
      reader.cancel();
      throw new NodeSocketError(
        "EBADHEAD",
        "Invalid response head: expected a final status, got 101 without an upgrade",
      );
    }
    return { status: head.status, headers: head.headers, reader };
  });
}
