/**
 * The Origin check: which browser pages may open a stream. Browsers send Origin on WebSocket
 * upgrades and on cross-origin fetches; other clients usually send none.
 */
import type { IncomingMessage } from "node:http";
import { hostHeader } from "./hosts.ts";
import type { ArrayServerOptions } from "./options.ts";

/**
 * True when `req`'s Origin passes `allowed` (see ArrayServerOptions.allowedOrigins).
 * @throws whatever an `allowed` function throws (the server calls this through its guard, which
 *   refuses with 403 instead).
 */
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
      return new URL(origin).host === hostHeader(req);
    } catch {
      return false; // "null" (sandboxed frames, file: pages) and garbage
    }
  }
  return origin !== undefined && allowed.includes(origin);
}
