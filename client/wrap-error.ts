/**
 * One place that turns what can go wrong inside a stream into what the caller sees: a
 * ProtocolError (bad bytes from the server) becomes a StreamError E_PROTOCOL, or E_TOO_LARGE for
 * the size caps, with the ProtocolError as `cause`. Everything else passes through.
 */
import { ProtocolError, StreamError, TOO_BIG_CODES } from "../shared/index.ts";

export function toStreamError(err: unknown, streamId: number): unknown {
  if (!(err instanceof ProtocolError)) return err;
  return new StreamError(TOO_BIG_CODES.has(err.code) ? "E_TOO_LARGE" : "E_PROTOCOL", err.message, streamId, {
    cause: err,
  });
}
