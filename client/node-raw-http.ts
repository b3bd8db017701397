/**
 * The HTTP transport's opener in Node: the GET goes through the recv_into reader
 * (client/node-socket.ts, `net.connect({ onread })`), so the body lands in the windows the stream
 * hands out with socket reads as large as those windows, one connection per request.
 *
 * Why not `node:http`: it reads every socket through Node's one 64 KiB buffer. With several
 * responses in one busy process, Linux's receive-buffer autotuning then keeps the window of some
 * connections at its initial size for their whole life: it grows a connection's buffer only when
 * more than the current one (64 KiB on loopback) was copied to the process within one measured
 * round trip, and a process that reads each socket once per turn of its event loop, 64 KiB at a
 * time, seldom does. Those connections got one 64 KiB window per turn: 4-6 MB/s while the others
 * got 85-120 MB/s (docs/DEPLOY.md §9, bench/fairness-repro.ts). Larger reads let every
 * connection's window grow.
 */
import { StreamError } from "../shared/index.ts";
import type { ByteReader } from "./byte-reader.ts";
import type { HttpOpener } from "./http.ts";

/** What this file uses of client/node-socket.ts, loaded only in Node. */
type NodeSocketModule = typeof import("./node-socket.ts");

let loading: Promise<NodeSocketModule> | null = null;

function loadNodeSocket(): Promise<NodeSocketModule> {
  // A variable specifier keeps bundlers from pulling node:net into browser builds; the source
  // (run through tsx or Vite) has .ts files, the built package .js ones.
  const specifier = import.meta.url.endsWith(".ts") ? "./node-socket.ts" : "./node-socket.js";
  loading ??= import(/* @vite-ignore */ specifier) as Promise<NodeSocketModule>;
  return loading;
}

/** A reader's failure as the transport's error: the connection was lost (or the read aborted). */
function connectionLost(err: unknown): StreamError {
  if (err instanceof StreamError) return err;
  const what = err instanceof Error ? err.message : String(err);
  return new StreamError("E_CONNECTION_CLOSED", `Connection lost: ${what}`, 1, { cause: err });
}

/**
 * Sends the GET on a new connection through requestRaw and reads the body with `readSome`:
 * socket reads land in the window itself (no userland copy while one is pending), each read
 * offered what is left of the window, and each resolves at once with what came (so progress,
 * the idle timer and a resume see every byte held).
 * @throws what requestRaw rejects with (a NodeSocketError: ECONNECT, EBADHEAD, ...), which the
 *   transport reports as E_CONNECTION_CLOSED.
 */
export const openWithNodeSocket: HttpOpener = async (url, headers, signal) => {
  const { requestRaw } = await loadNodeSocket();
  const response = await requestRaw(url, { headers, signal });
  const raw = response.reader;
  const reader: ByteReader = {
    async read(view) {
      if (view.byteLength === 0) {
        throw new RangeError("read: expected a non-empty window, got 0 bytes (a detached or empty view)");
      }
      try {
        return await raw.readSome(view);
      } catch (err) {
        throw connectionLost(err);
      }
    },
    transfers: false,
    cancel: () => raw.cancel(),
    // Bytes that arrive while no read is pending go to the read-ahead: the idle timer sees them too.
    onActivity: (listener) => {
      raw.onActivity = listener;
    },
  };
  return { status: response.status, contentType: response.headers["content-type"] ?? "", reader };
};
