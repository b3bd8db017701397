/**
 * What a receiver fails with when bytes from the server break the protocol: the ProtocolError
 * becomes StreamError E_PROTOCOL, or E_TOO_LARGE for the size codes ({@link TOO_BIG_CODES}), with
 * the ProtocolError as `cause`. One rule for fetches, subscriptions and uploads.
 */
import { ProtocolError, StreamError, TOO_BIG_CODES } from "../shared/index.ts";

/** `err` as the stream's failure: a ProtocolError mapped as the module comment says, anything else as it is. */
export function streamFailure(err: unknown, streamId: number): unknown {
  if (!(err instanceof ProtocolError)) return err;
  const code = TOO_BIG_CODES.has(err.code) ? "E_TOO_LARGE" : "E_PROTOCOL";
  return new StreamError(code, err.message, streamId, { cause: err });
}
