/**
 * Checks that both ends (and both transports) apply the same way: stream names, error codes,
 * element ranges, and the mapping between an endpoint's ws:// and http:// URLs. Each check
 * returns a message (or null) rather than throwing, so that every caller throws the error class
 * its own context calls for: a RangeError for a caller bug, a ProtocolError for bytes from the
 * wire, a StreamError for a request a server refuses.
 */
import { MAX_ERROR_CODE_BYTES, MAX_NAME_BYTES } from "./protocol.ts";
import { encodeText } from "./wire.ts";

/** Error codes on the wire: 1..MAX_ERROR_CODE_BYTES of [A-Z0-9_]. */
export const ERROR_CODE_PATTERN = /^[A-Z0-9_]{1,64}$/;

/** True when `code` may travel in an ERROR message. */
export function isWireErrorCode(code: unknown): code is string {
  return typeof code === "string" && code.length <= MAX_ERROR_CODE_BYTES && ERROR_CODE_PATTERN.test(code);
}

/** Why `nameByteLength` is not a valid name length (1..MAX_NAME_BYTES UTF-8 bytes), or null. */
export function nameLengthProblem(nameByteLength: number): string | null {
  return nameByteLength >= 1 && nameByteLength <= MAX_NAME_BYTES
    ? null
    : `Invalid name: expected 1..${MAX_NAME_BYTES} UTF-8 bytes, got ${nameByteLength}`;
}

/**
 * UTF-8 bytes of a stream name.
 * @throws what `makeError` returns (a RangeError by default) for a name that is not a string, is
 *   empty, or is over MAX_NAME_BYTES bytes.
 */
export function encodeName(
  name: unknown,
  makeError: (message: string) => Error = (message) => new RangeError(message),
): Uint8Array {
  if (typeof name !== "string") throw makeError(`Invalid name: expected a string, got ${typeof name}`);
  const bytes = encodeText(name);
  const problem = nameLengthProblem(bytes.byteLength);
  if (problem !== null) throw makeError(problem);
  return bytes;
}

/**
 * Why [start, end) is not a valid element range (non-negative safe integers, start <= end,
 * and end <= `elementCount` when it is known), or null.
 */
export function elementRangeProblem(start: unknown, end: unknown, elementCount?: number): string | null {
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || (start as number) < 0 || (end as number) < 0) {
    return `Invalid element range: expected non-negative safe integers, got [${String(start)}, ${String(end)})`;
  }
  if ((end as number) < (start as number)) {
    return `Invalid element range: expected start <= end, got [${start}, ${end})`;
  }
  if (elementCount !== undefined && (end as number) > elementCount) {
    return `Invalid element range: expected end <= ${elementCount} (the array's length), got [${start}, ${end})`;
  }
  return null;
}

/** The endpoint's WebSocket URL: http: -> ws:, https: -> wss: (ws: and wss: pass through). */
export function toWebSocketUrl(url: string | URL): URL {
  const u = new URL(String(url));
  if (u.protocol === "http:") u.protocol = "ws:";
  else if (u.protocol === "https:") u.protocol = "wss:";
  return u;
}

/** The endpoint's HTTP URL: ws: -> http:, wss: -> https: (http: and https: pass through). */
export function toHttpUrl(url: string | URL): URL {
  const u = new URL(String(url));
  if (u.protocol === "ws:") u.protocol = "http:";
  else if (u.protocol === "wss:") u.protocol = "https:";
  return u;
}
