/**
 * How the server says no. Over HTTP: an arraywire ERROR message as the body, with the HTTP status
 * its code maps to, so a client (or a probe, see docs) learns the code and a message that says
 * what to change. On an upgrade: a bare status line (browsers cannot read the body of a refused
 * WebSocket handshake); a client that wants the reason asks the same URL over HTTP.
 */
import type { ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { encodeError, HTTP_CONTENT_TYPE, type WireErrorCode } from "../shared/index.ts";

/** HTTP status of each error code; codes not listed (bad requests) are 400. */
const STATUS_BY_CODE: Readonly<Record<string, number>> = {
  E_UNAUTHORIZED: 401,
  E_FORBIDDEN_ORIGIN: 403,
  E_FORBIDDEN_HOST: 403,
  E_NOT_FOUND: 404,
  E_UNKNOWN_NAME: 404,
  E_GONE: 410,
  E_TOO_MANY_STREAMS: 429,
  E_INTERNAL: 500,
  E_UNSUPPORTED: 501,
  E_BUSY: 503,
  E_SHUTDOWN: 503,
};

const STATUS_TEXT: Readonly<Record<number, string>> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  503: "Service Unavailable",
};

/** The HTTP status an error code is answered with (400 for codes not listed). */
export function statusOf(code: WireErrorCode): number {
  return STATUS_BY_CODE[code] ?? 400;
}

/**
 * Answers with one ERROR message as the body, status from the code (or `status`), never cached.
 * Does nothing when the response has already started or the client is gone.
 */
export function sendError(
  res: ServerResponse,
  code: WireErrorCode,
  message: string,
  status = statusOf(code),
  headers: Record<string, string> = {},
): void {
  if (res.headersSent || res.destroyed) return;
  const body = encodeError(1, code, message);
  res.writeHead(status, {
    ...headers,
    "content-type": HTTP_CONTENT_TYPE,
    "content-length": body.byteLength,
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
  });
  res.end(body);
}

/**
 * Refuses an upgrade with a bare status line and closes the socket. The socket must already have
 * an 'error' listener: a peer that resets makes this write fail asynchronously.
 */
export function refuseUpgrade(socket: Duplex, status: number): void {
  if (socket.destroyed || !socket.writable) return;
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? "Error"}\r\nConnection: close\r\nCache-Control: no-store\r\nContent-Length: 0\r\n\r\n`,
  );
}
