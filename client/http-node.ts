/**
 * The HTTP transport's opener in Node: one GET over a raw socket (client/node-socket.ts), whose
 * body lands straight in the views the transport reads into (recv_into: no userland copy while a
 * read is pending), and the one mapping of the socket reader's NodeSocketError codes to the
 * stream's errors:
 *
 * | NodeSocketError | StreamError |
 * |---|---|
 * | ECONNECT; EINCOMPLETE before the response head | E_CONNECTION_CLOSED ("Could not connect") |
 * | ECONNRESET, ESOCKET | E_CONNECTION_CLOSED (retryable) |
 * | EINCOMPLETE in the body (a clean close before Content-Length) | E_INCOMPLETE (retryable) |
 * | EBADHEAD, EBADCHUNK | E_PROTOCOL (not an HTTP response one can trust) |
 * | ABORTED, CANCELED | passed on: the stream has settled already (its signal fired or it released the reader) |
 *
 * node-socket.ts is imported on first use, so that browser bundles never evaluate it.
 */
import { StreamError } from "../shared/index.ts";
import type { ByteReader } from "./byte-reader.ts";
import type { HttpOpener } from "./http.ts";
import { NodeSocketError } from "./node-socket-error.ts";

type NodeSocketModule = typeof import("./node-socket.ts");
let nodeSocket: Promise<NodeSocketModule> | null = null;

/** The stream error for a NodeSocketError (`headSeen`: the response head had arrived); anything else as it is. */
export function streamErrorOf(err: unknown, origin: string, headSeen: boolean): unknown {
  if (!(err instanceof NodeSocketError)) return err;
  const options = { cause: err };
  switch (err.code) {
    case "ECONNECT":
      return new StreamError("E_CONNECTION_CLOSED", `Could not connect to ${origin}: ${err.message}`, 1, options);
    case "EINCOMPLETE":
      return headSeen
        ? new StreamError("E_INCOMPLETE", `Stream ended early: ${err.message}`, 1, options)
        : new StreamError("E_CONNECTION_CLOSED", `Could not connect to ${origin}: ${err.message}`, 1, options);
    case "ECONNRESET":
    case "ESOCKET":
      return new StreamError("E_CONNECTION_CLOSED", `Connection lost: ${err.message}`, 1, options);
    case "EBADHEAD":
    case "EBADCHUNK":
      return new StreamError("E_PROTOCOL", `Invalid HTTP response from ${origin}: ${err.message}`, 1, options);
    case "ABORTED":
    case "CANCELED":
      return err;
  }
}

/**
 * Node: requestRaw. Its reader fills each view whole and takes several pending reads, filled in
 * order ({@link ByteReader.fills}): the transport keeps the next window pending, so no body byte
 * goes through userland scratch. `onData` runs on every socket read (the idle timer).
 */
export const openWithNodeSocket: HttpOpener = async (url, { headers, signal, onData }) => {
  nodeSocket ??= import("./node-socket.ts");
  const { requestRaw } = await nodeSocket;
  let response: Awaited<ReturnType<NodeSocketModule["requestRaw"]>>;
  try {
    response = await requestRaw(url, { headers, signal, onData });
  } catch (err) {
    throw streamErrorOf(err, url.origin, false);
  }
  const { reader } = response;
  const mapped = (err: unknown) => {
    throw streamErrorOf(err, url.origin, true);
  };
  const byteReader: ByteReader = {
    read: (view) => reader.readInto(view).catch(mapped),
    transfers: false,
    fills: true,
    filledByteLength: (view) => reader.filledByteLength(view),
    cancel: () => reader.cancel(),
  };
  return { status: response.status, contentType: response.headers["content-type"] ?? "", reader: byteReader };
};
