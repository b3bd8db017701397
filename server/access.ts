/**
 * Who may connect: the Origin check and the authentication hook, run before the 101 response (or
 * before an HTTP stream), and token reading helpers. Nothing here logs header values.
 */
import type { IncomingMessage } from "node:http";
import type { ArrayServerOptions } from "./options.ts";

/** Why a request was refused, as an HTTP status and a short reason (no header values). */
export interface Refusal {
  status: 401 | 403;
  reason: string;
}

/** True when `req`'s Origin passes `allowed` (see ArrayServerOptions.allowedOrigins). */
export function isOriginAllowed(
  req: IncomingMessage,
  allowed: ArrayServerOptions["allowedOrigins"] = "same-origin",
): boolean {
  const origin = req.headers.origin;
  if (typeof allowed === "function") return allowed(origin, req);
  if (allowed === "*") return true;
  if (allowed === "same-origin") {
    if (origin === undefined) return true; // not a browser: Origin is a browser's promise
    try {
      return new URL(origin).host === req.headers.host;
    } catch {
      return false; // "null" (sandboxed frames, file: pages) and garbage
    }
  }
  return origin !== undefined && allowed.includes(origin);
}

/** Runs the origin check, then the authentication hook. Resolves null when the request may go on. */
export async function checkAccess(req: IncomingMessage, options: ArrayServerOptions): Promise<Refusal | null> {
  if (!isOriginAllowed(req, options.allowedOrigins)) return { status: 403, reason: "origin not allowed" };
  if (options.authenticate) {
    let ok = false;
    try {
      ok = (await options.authenticate(req)) === true;
    } catch {
      ok = false; // a throwing hook refuses; its error may hold the token, so it is not logged
    }
    if (!ok) return { status: 401, reason: "authentication failed" };
  }
  return null;
}

/** Where {@link readToken} looks. */
export interface TokenSources {
  /** Cookie name. Defaults to "arraywire_token". */
  cookie?: string;
  /** Header name; "authorization" strips a "Bearer " prefix. Defaults to "authorization". */
  header?: string;
  /** Subprotocol prefix: a protocol "arraywire.token.<token>" carries the token. Defaults to "arraywire.token.". */
  subprotocolPrefix?: string;
}

/**
 * Reads a token from the request: the header (Authorization: Bearer ...), then the cookie, then a
 * WebSocket subprotocol (browsers cannot set headers on a WebSocket, but can list subprotocols).
 * Returns undefined when none is present.
 */
export function readToken(req: IncomingMessage, sources: TokenSources = {}): string | undefined {
  const headerName = (sources.header ?? "authorization").toLowerCase();
  const header = req.headers[headerName];
  if (typeof header === "string" && header.length > 0) {
    return headerName === "authorization" ? header.replace(/^Bearer\s+/i, "") : header;
  }
  const cookieName = sources.cookie ?? "arraywire_token";
  for (const part of (req.headers.cookie ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === cookieName) return decodeURIComponent(part.slice(eq + 1).trim());
  }
  const prefix = sources.subprotocolPrefix ?? "arraywire.token.";
  for (const protocol of (req.headers["sec-websocket-protocol"] ?? "").split(",")) {
    const p = protocol.trim();
    if (p.startsWith(prefix) && p.length > prefix.length) return p.slice(prefix.length);
  }
  return undefined;
}
