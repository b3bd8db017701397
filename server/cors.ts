/**
 * CORS for the HTTP transport, so that a page on another origin (a Vite dev server on :5173, the
 * arrays on :8080) can read streams when `allowedOrigins` admits it. The Origin check itself is
 * access.ts's; this file only says which headers a response carries:
 *
 * - an origin `allowedOrigins` admits by name (a list, a function, "same-origin") gets exactly
 *   its own origin back in `Access-Control-Allow-Origin`, with `Access-Control-Allow-Credentials`
 *   (a cookie or an Authorization header works cross-origin, as it does on a WebSocket);
 * - `allowedOrigins: "*"` answers `*` and never allows credentials (browsers refuse that pair);
 * - an access refusal (403 E_FORBIDDEN_ORIGIN / E_FORBIDDEN_HOST, 401, 404, 503) lets the page read
 *   its ERROR body, without credentials, so that the client can say what to change instead of
 *   "Failed to fetch": the body is a fixed explanation, read before any array is opened;
 * - every response of the endpoint varies by Origin (`Vary: Origin`).
 *
 * A preflight (an OPTIONS with `Access-Control-Request-Method`, sent for a GET with headers such
 * as Authorization) is answered 204 for admitted origins only; others get 403 without CORS
 * headers, so the browser never sends the GET.
 */
import type { IncomingMessage, ServerResponse } from "node:http";

/** How long a browser may cache a preflight's answer, in seconds. */
export const CORS_MAX_AGE_SECONDS = 600;
/** Response headers a cross-origin page may read besides the CORS-safelisted ones. */
const EXPOSED_HEADERS = "Content-Length, Content-Type";
/** Longest `Access-Control-Request-Headers` echoed back; longer lists get `Authorization` only. */
const MAX_REQUEST_HEADERS_LENGTH = 1024;
/** A comma-separated list of header names (RFC 9110 tokens). */
const HEADER_LIST = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+(?:\s*,\s*[!#$%&'*+\-.^_`|~0-9A-Za-z]+)*$/;

/** What the access checks decided about the request's Origin, as far as CORS is concerned. */
export type CorsAccess =
  /** The origin passed `allowedOrigins` (by name, or "same-origin"). */
  | "granted"
  /** It passed because `allowedOrigins` is "*". */
  | "any"
  /** The request was refused before its origin mattered, or because of it: the refusal is readable. */
  | "refusal";

/**
 * Sets the CORS headers of a response to `req` (nothing beyond `Vary: Origin` when the request
 * carries no Origin: same-origin GETs and non-browser clients). Call before `writeHead`.
 */
export function setCorsHeaders(req: IncomingMessage, res: ServerResponse, access: CorsAccess): void {
  addVary(res, "Origin");
  const origin = req.headers.origin;
  if (origin === undefined || res.headersSent) return;
  if (access === "any") {
    res.setHeader("access-control-allow-origin", "*");
    res.setHeader("access-control-expose-headers", EXPOSED_HEADERS);
    return;
  }
  res.setHeader("access-control-allow-origin", origin);
  if (access === "granted") {
    res.setHeader("access-control-allow-credentials", "true");
    res.setHeader("access-control-expose-headers", EXPOSED_HEADERS);
  } else {
    res.removeHeader("access-control-allow-credentials");
  }
}

/** True for a CORS preflight: OPTIONS with Access-Control-Request-Method. */
export function isPreflight(req: IncomingMessage): boolean {
  return req.method === "OPTIONS" && req.headers["access-control-request-method"] !== undefined;
}

/**
 * Answers a preflight from an admitted origin: 204, GET only, the request headers the page asked
 * for (a valid list of names, else Authorization alone), cached for CORS_MAX_AGE_SECONDS.
 */
export function answerPreflight(req: IncomingMessage, res: ServerResponse, access: "granted" | "any"): void {
  if (res.headersSent || res.destroyed) return;
  setCorsHeaders(req, res, access);
  addVary(res, "Access-Control-Request-Headers");
  const asked = req.headers["access-control-request-headers"];
  const headers =
    typeof asked === "string" && asked.length <= MAX_REQUEST_HEADERS_LENGTH && HEADER_LIST.test(asked.trim())
      ? asked.trim()
      : "Authorization";
  res.setHeader("access-control-allow-methods", "GET");
  res.setHeader("access-control-allow-headers", headers);
  res.setHeader("access-control-max-age", String(CORS_MAX_AGE_SECONDS));
  // Chromium's Private Network Access preflight (a public page reaching a private address).
  if (req.headers["access-control-request-private-network"] === "true") {
    res.setHeader("access-control-allow-private-network", "true");
  }
  res.writeHead(204, { "content-length": 0, "cache-control": "no-store" }).end();
}

/** Adds `name` to the response's Vary header (once), keeping what the host app set. */
export function addVary(res: ServerResponse, name: string): void {
  if (res.headersSent) return;
  const current = res.getHeader("vary");
  const values = (Array.isArray(current) ? current.join(",") : current === undefined ? "" : String(current))
    .split(",")
    .map((v) => v.trim())
    .filter((v) => v !== "");
  if (values.some((v) => v === "*" || v.toLowerCase() === name.toLowerCase())) return;
  res.setHeader("vary", [...values, name].join(", "));
}
