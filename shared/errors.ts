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
 * Codes of {@link StreamError}. The `E_*` codes a server sends in an ERROR message are listed in
 * docs/PROTOCOL.md; a client also accepts codes it does not know (they arrive as `string`).
 */
export type StreamErrorCode =
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
  | "E_UNAUTHORIZED" // the server's authenticate hook refused the request (HTTP 401)
  | "E_FORBIDDEN_ORIGIN" // the page's Origin is not in the server's allowedOrigins (HTTP 403)
  | "E_FORBIDDEN_HOST" // the Host header is not one the server answers to (HTTP 403, DNS rebinding)
  | "E_NOT_FOUND" // nothing serves arraywire at this URL's path (HTTP 404)
  | "E_HTTP_STATUS" // an HTTP response that is not an arraywire stream or error body
  | "E_PROTOCOL" // the peer broke the protocol; `cause` holds the ProtocolError
  | "E_INTERNAL" // the server failed (a source's bug); details are in the server's log
  | (string & {});

/** Thrown or rejected with when a stream does not complete. */
export class StreamError extends Error {
  override readonly name = "StreamError";
  readonly code: StreamErrorCode;
  /** Stream id the error belongs to; 0 for the whole connection. */
  readonly streamId: number;
  constructor(code: StreamErrorCode, message: string, streamId = 0, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.streamId = streamId;
  }
}
