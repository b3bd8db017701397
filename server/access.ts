/**
 * Who may open a stream: the one access check both transports run (WebSocket upgrades before
 * the 101, HTTP streams and probes before anything is opened). Each refusal carries the status,
 * the wire error code and a message that says what to change; none of them echoes a token or a
 * cookie.
 */
import type { IncomingMessage } from "node:http";
import type { StreamErrorCode } from "../shared/index.ts";
import type { Hooks } from "./hooks.ts";
import { hostHeader, isHostAllowed } from "./hosts.ts";

/** Why a request was refused: the HTTP status, the error code, and a message for the client. */
export interface Refusal {
  status: 401 | 403;
  code: StreamErrorCode;
  message: string;
}

/** A header value as shown in a message: at most 200 characters. */
function shown(value: string): string {
  return value.length > 200 ? `${value.slice(0, 200)}...` : value;
}

/**
 * Runs the Host check (DNS rebinding), the Origin check, then the authentication hook (the last
 * two through `hooks`, which turns a throw into a refusal). Resolves null when the request may
 * go on; never rejects.
 */
export async function checkAccess(
  req: IncomingMessage,
  allowedHosts: readonly string[] | true,
  hooks: Hooks,
): Promise<Refusal | null> {
  const refusal = checkHostAndOrigin(req, allowedHosts, hooks);
  if (refusal) return refusal;
  if (!(await hooks.authenticate(req))) {
    return {
      status: 401,
      code: "E_UNAUTHORIZED",
      message:
        "Not authenticated: the server's authenticate hook refused this request; send a valid token (Authorization header, cookie or subprotocol)",
    };
  }
  return null;
}

/**
 * The Host and Origin checks alone (what a CORS preflight, which carries no credentials, is
 * answered by). Returns null when both pass; never throws.
 */
export function checkHostAndOrigin(
  req: IncomingMessage,
  allowedHosts: readonly string[] | true,
  hooks: Hooks,
): Refusal | null {
  const host = hostHeader(req);
  if (!isHostAllowed(host, allowedHosts)) {
    return {
      status: 403,
      code: "E_FORBIDDEN_HOST",
      message:
        host === undefined
          ? "A request without a Host header is not allowed"
          : `Host ${shown(host)} is not allowed: add it to allowedHosts (this check guards against DNS rebinding)`,
    };
  }
  if (!hooks.isOriginAllowed(req)) {
    const origin = req.headers.origin;
    return {
      status: 403,
      code: "E_FORBIDDEN_ORIGIN",
      message:
        origin === undefined
          ? "A request without an Origin header is not allowed: allowedOrigins admits only the origins it lists"
          : `Origin ${shown(origin)} is not allowed: add it to allowedOrigins`,
    };
  }
  return null;
}
