/**
 * Typed errors shared by both ends. Callers branch on `code`, never on `message`.
 *
 * - {@link ProtocolError}: bytes from the wire that break the protocol (bad magic, short message,
 *   a length over a cap, ...). Every message is self-delimiting (one WebSocket message), so the
 *   receiver fails only the stream the message names and keeps the connection: the server answers
 *   with an ERROR carrying the code, the client rejects that stream with StreamError E_PROTOCOL
 *   (E_TOO_LARGE for the codes in {@link TOO_BIG_CODES}). ws itself closes with 1002/1007/1009
 *   for broken frames and over-size messages.
 * - {@link StreamError}: a stream that did not complete: the peer sent an ERROR message, the stream
 *   was cancelled, the connection closed early, or the caller's target does not fit.
 *
 * Both are exported from `arraywire/protocol`.
 */

/** Codes of {@link ProtocolError}: each names one way the bytes on the wire can be wrong. */
export type ProtocolErrorCode =
  | "E_SHORT_MESSAGE" // fewer bytes than the fixed part of the message needs
  | "E_BAD_LENGTH" // message length disagrees with the lengths it declares
  | "E_BAD_MAGIC"
  | "E_BAD_VERSION"
  | "E_UNKNOWN_TYPE" // message type byte not defined by the protocol
  | "E_UNKNOWN_DTYPE"
  | "E_UNSUPPORTED_DTYPE" // known dtype this runtime has no TypedArray for (float16 on Node 20)
  | "E_BAD_SHAPE" // too many dimensions, or a dimension that is not a safe integer
  | "E_SIZE_MISMATCH" // totalByteLength != product(shape) * itemsize
  | "E_BAD_RANGE" // range / offsets that do not fit inside the array
  | "E_RESERVED" // a reserved field or flag that is not zero
  | "E_TOO_LARGE" // a byte length above the receiver's cap or Number.MAX_SAFE_INTEGER
  | "E_HEADER_TOO_LARGE" // a control message longer than the receiver's cap
  | "E_BAD_TEXT" // name or message that is not valid UTF-8
  | "E_BAD_ENCODING" // an encoded chunk that is not one plain zstd frame, or does not decode to its raw length
  | "E_BAD_JSON" // a JSON part that does not parse, or has duplicate / forbidden keys
  | "E_UNEXPECTED_MESSAGE" // a message that is valid alone but not in this state
  | "E_TEXT_FRAME"; // a WebSocket text frame where only binary frames are allowed

/** Protocol error codes about sizes: a client reports them as StreamError E_TOO_LARGE (others as E_PROTOCOL). */
export const TOO_BIG_CODES: ReadonlySet<ProtocolErrorCode> = new Set(["E_TOO_LARGE", "E_HEADER_TOO_LARGE"]);

/** Thrown when bytes from the wire break the protocol. */
export class ProtocolError extends Error {
  override readonly name = "ProtocolError";
  readonly code: ProtocolErrorCode;
  constructor(code: ProtocolErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

/**
 * Codes of {@link StreamError}: a closed union, so that `err.code === "E_UNKNOWN_NAM"` (a typo) does
 * not compile. It holds every code this library produces or a server of this protocol version
 * sends (docs/PROTOCOL.md section 9; shared/protocol-doc.test.ts keeps the two lists equal),
 * including the {@link ProtocolErrorCode}s a server echoes for a bad client message. A code
 * outside it (a newer server's, or an array source's own code) arrives as `"E_REMOTE"`, with the
 * code as sent in {@link StreamError.remoteCode}.
 */
export type StreamErrorCode =
  | ProtocolErrorCode
  | "E_UNKNOWN_NAME" // no array is published under the requested name
  | "E_BAD_REQUEST" // the request is well-formed but cannot be served (bad params, resume offset)
  | "E_BAD_RANGE" // the element range does not fit the array (or is not a valid range at all)
  | "E_GONE" // resume asked for a generation the server no longer has, or a file changed under a stream
  | "E_STREAM_EXISTS" // the stream id is already in use on this connection
  | "E_TOO_MANY_STREAMS" // too many streams on the connection, or connections from the address
  | "E_TOO_LARGE" // the array is larger than the receiver agreed to allocate
  | "E_UNSUPPORTED" // the array exists but cannot be served as a typed array (a file's dtype or layout)
  | "E_BUSY" // the server's budget (source bytes, queue) is spent for now: retry later
  | "E_SHUTDOWN" // the server is closing
  | "E_TIMEOUT" // no progress within the configured time (stall on the server, idle on the client)
  | "E_CONNECTION_CLOSED" // the connection closed before the stream ended
  | "E_CHECKSUM" // the trailer checksum does not match the bytes received
  | "E_INCOMPLETE" // the trailer arrived before every byte of the range
  | "E_TARGET_MISMATCH" // the caller's `into` array has another dtype or is too small
  | "E_DTYPE_MISMATCH" // the server's dtype is not the `dtype` the caller asked for
  | "E_ALLOCATION_FAILED" // the runtime refused to allocate the target (past its typed array cap, or out of memory)
  | "E_UNAUTHORIZED" // the server's authenticate hook refused the request (HTTP 401)
  | "E_FORBIDDEN_ORIGIN" // the page's Origin is not in the server's allowedOrigins (HTTP 403)
  | "E_FORBIDDEN_HOST" // the Host header is not one the server answers to (HTTP 403, DNS rebinding)
  | "E_NOT_FOUND" // nothing serves arraywire at this URL's path (HTTP 404, or another app's page)
  | "E_HTTP_STATUS" // an HTTP response that is not an arraywire stream or error body
  | "E_PROTOCOL" // the peer broke the protocol; `cause` holds the ProtocolError
  | "E_INTERNAL" // the server failed (a source's bug); details are in the server's log
  | "E_SLOW_CONSUMER" // a subscriber fell further behind a live array than the server allows
  | "E_UPLOAD_REFUSED" // the server's onUpload hook refused an upload
  | "E_LISTING_DISABLED" // the server does not list what it publishes (stat still works)
  | "E_REMOTE"; // a code this library does not know; see StreamError.remoteCode

/** A code as it travels in an ERROR message: one of {@link StreamErrorCode}, or any other `[A-Z0-9_]` code. */
export type WireErrorCode = StreamErrorCode | (string & {});

/** Every {@link StreamErrorCode}, checked complete by the compiler (a Record over a closed union). */
const KNOWN_CODES: Readonly<Record<StreamErrorCode, true>> = {
  E_SHORT_MESSAGE: true,
  E_BAD_LENGTH: true,
  E_BAD_MAGIC: true,
  E_BAD_VERSION: true,
  E_UNKNOWN_TYPE: true,
  E_UNKNOWN_DTYPE: true,
  E_UNSUPPORTED_DTYPE: true,
  E_BAD_SHAPE: true,
  E_SIZE_MISMATCH: true,
  E_BAD_RANGE: true,
  E_RESERVED: true,
  E_TOO_LARGE: true,
  E_UNSUPPORTED: true,
  E_HEADER_TOO_LARGE: true,
  E_BAD_TEXT: true,
  E_BAD_ENCODING: true,
  E_BAD_JSON: true,
  E_UNEXPECTED_MESSAGE: true,
  E_TEXT_FRAME: true,
  E_UNKNOWN_NAME: true,
  E_BAD_REQUEST: true,
  E_GONE: true,
  E_STREAM_EXISTS: true,
  E_TOO_MANY_STREAMS: true,
  E_BUSY: true,
  E_SHUTDOWN: true,
  E_TIMEOUT: true,
  E_CONNECTION_CLOSED: true,
  E_CHECKSUM: true,
  E_INCOMPLETE: true,
  E_TARGET_MISMATCH: true,
  E_DTYPE_MISMATCH: true,
  E_ALLOCATION_FAILED: true,
  E_UNAUTHORIZED: true,
  E_FORBIDDEN_ORIGIN: true,
  E_FORBIDDEN_HOST: true,
  E_NOT_FOUND: true,
  E_HTTP_STATUS: true,
  E_PROTOCOL: true,
  E_INTERNAL: true,
  E_SLOW_CONSUMER: true,
  E_UPLOAD_REFUSED: true,
  E_LISTING_DISABLED: true,
  E_REMOTE: true,
};

/** True when `code` is one of {@link StreamErrorCode}. */
export function isStreamErrorCode(code: unknown): code is StreamErrorCode {
  return typeof code === "string" && Object.hasOwn(KNOWN_CODES, code);
}

/** Options of {@link StreamError}. */
export interface StreamErrorOptions extends ErrorOptions {
  /** The code as sent, when `code` is "E_REMOTE" (a code the sender knows and this library does not). */
  remoteCode?: string;
}

/**
 * Thrown or rejected with when a stream does not complete. Branch on {@link StreamError.code}
 * (a closed union: a typo does not compile); a code this library does not know arrives as
 * "E_REMOTE" with the code itself in {@link StreamError.remoteCode}.
 */
export class StreamError extends Error {
  override readonly name = "StreamError";
  readonly code: StreamErrorCode;
  /**
   * The code exactly as the peer sent it when `code` is "E_REMOTE" (an array source's own code,
   * or one from a newer server); undefined otherwise.
   */
  readonly remoteCode: string | undefined;
  /** Stream id the error belongs to; 0 for the whole connection. */
  readonly streamId: number;
  /**
   * @param code a {@link StreamErrorCode}, or any other code (an array source's own, one read
   *   from the wire): that one becomes "E_REMOTE", kept in `remoteCode`.
   */
  constructor(code: WireErrorCode, message: string, streamId = 0, options?: StreamErrorOptions) {
    super(message, options);
    const known = isStreamErrorCode(code) && code !== "E_REMOTE";
    this.code = known ? code : "E_REMOTE";
    this.remoteCode = known ? undefined : code === "E_REMOTE" ? (options?.remoteCode ?? code) : code;
    this.streamId = streamId;
  }

  /** The code to put on the wire: `remoteCode` for "E_REMOTE", else `code`. */
  get wireCode(): WireErrorCode {
    return this.remoteCode ?? this.code;
  }
}
