/**
 * Reading a client's token for an `authenticate` hook: from a header, a cookie, or a WebSocket
 * subprotocol (browsers cannot set headers on a WebSocket, but can list subprotocols).
 */
import type { IncomingMessage } from "node:http";

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
 * WebSocket subprotocol. Returns undefined when none is present; never throws (a cookie value
 * that is not valid percent-encoding counts as absent).
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
    if (eq > 0 && part.slice(0, eq).trim() === cookieName) {
      try {
        return decodeURIComponent(part.slice(eq + 1).trim());
      } catch {
        return undefined; // "%E0%A4%A" and the like: a peer's garbage, not a token
      }
    }
  }
  const prefix = sources.subprotocolPrefix ?? "arraywire.token.";
  for (const protocol of (req.headers["sec-websocket-protocol"] ?? "").split(",")) {
    const p = protocol.trim();
    if (p.startsWith(prefix) && p.length > prefix.length) return p.slice(prefix.length);
  }
  return undefined;
}
