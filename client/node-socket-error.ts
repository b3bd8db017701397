/**
 * The one error type of the Node socket reader (node-socket.ts): a plain Error subclass with a
 * stable `code`, so the HTTP transport can map each code to its own StreamError in one place.
 * The reader never throws StreamError itself: it only moves bytes.
 */

/** Codes of {@link NodeSocketError}; callers branch on these, never on the message. */
export type NodeSocketErrorCode =
  | "ABORTED" // the caller's AbortSignal fired; `cause` is the signal's reason
  | "CANCELED" // the caller called cancel(); later reads fail with this
  | "ECONNECT" // the connection (TCP connect, DNS lookup, TLS handshake) failed; `cause` is Node's error
  | "ECONNRESET" // the peer reset the connection (ECONNRESET, EPIPE) after it was open
  | "ESOCKET" // any other socket error after the connection was open; `cause` is Node's error
  | "EINCOMPLETE" // the connection closed cleanly before the response head or body was complete
  | "EBADHEAD" // a response head that is malformed, over the size cap, or frames its body ambiguously
  | "EBADCHUNK"; // malformed chunked transfer-encoding

/** What went wrong while reading a response from a raw socket. */
export class NodeSocketError extends Error {
  override readonly name = "NodeSocketError";
  readonly code: NodeSocketErrorCode;
  constructor(code: NodeSocketErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

/** Node's own socket error (with its errno code) as a {@link NodeSocketError}. */
export function fromSocketError(err: Error & { code?: unknown }, connected: boolean): NodeSocketError {
  const errno = typeof err.code === "string" ? err.code : "";
  if (!connected) return new NodeSocketError("ECONNECT", `Could not connect: ${err.message}`, { cause: err });
  if (errno === "ECONNRESET" || errno === "EPIPE") {
    return new NodeSocketError("ECONNRESET", `Connection reset by the peer: ${err.message}`, { cause: err });
  }
  return new NodeSocketError("ESOCKET", `Socket error: ${err.message}`, { cause: err });
}
