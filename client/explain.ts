/**
 * Errors that say what to change. A refusal reaches the client as a code and the server's short
 * message (over HTTP), or not at all (a browser hides a refused WebSocket upgrade's status: the
 * client then probes, client/probe.ts); this file turns each into a StreamError whose message
 * names the server, the page's origin and the fix ("add http://localhost:5173 to
 * allowedOrigins"), and says what is likely wrong when nothing could be learnt. Codes are never
 * changed here except for a response that is not arraywire's (E_NOT_FOUND for another app's 404
 * or page, E_HTTP_STATUS otherwise).
 */
import { HTTP_CONTENT_TYPE, StreamError, toHttpUrl } from "../shared/index.ts";
import { isNodeRuntime } from "./runtime.ts";

/** Where a request went and who sent it, for messages. */
export interface Endpoint {
  /** The endpoint as an http(s) URL, without a query. */
  readonly url: URL;
  /** The page's origin (browsers and workers), or the Origin header a Node caller set; undefined when unknown. */
  readonly pageOrigin: string | undefined;
  /** The Host the request names: a Host header a Node caller set, else the URL's. */
  readonly host: string;
}

/** The endpoint of `url` as seen from here (the page's origin, or an Origin header in `headers`). */
export function endpointOf(url: string | URL, headers?: Record<string, string>): Endpoint {
  const http = toHttpUrl(url);
  http.search = "";
  http.hash = "";
  const location = (globalThis as { location?: { origin?: unknown } }).location;
  const fromPage = typeof location?.origin === "string" && location.origin !== "null" ? location.origin : undefined;
  const header = (name: string) =>
    headers ? Object.entries(headers).find(([key]) => key.toLowerCase() === name)?.[1] : undefined;
  return { url: http, pageOrigin: fromPage ?? header("origin"), host: header("host") ?? http.host };
}

/** "the server at http://127.0.0.1:8080" */
function server(endpoint: Endpoint): string {
  return `the server at ${endpoint.url.origin}`;
}

/** How to send a token, for the runtime this runs in. */
function tokenHint(): string {
  const ways =
    'protocols: ["arraywire.token.<token>"] in browsers (the ws transport), headers: { Authorization: "Bearer <token>" } in Node, or the arraywire_token cookie';
  return `send a token (${ways})`;
}

/** Codes of access refusals (docs/PROTOCOL.md section 2.4): the caller must change something; never retried. */
export const REFUSAL_CODES: ReadonlySet<string> = new Set([
  "E_UNAUTHORIZED",
  "E_FORBIDDEN_ORIGIN",
  "E_FORBIDDEN_HOST",
  "E_NOT_FOUND",
]);

/**
 * A refusal from the server (an ERROR body over HTTP, or a probe's answer) as the caller should
 * see it: the same code, a message that says what to change, the server's own as `cause`.
 * Other codes pass through unchanged.
 */
export function explainRefusal(error: StreamError, endpoint: Endpoint): StreamError {
  if (!REFUSAL_CODES.has(error.code)) return error;
  const { pathname } = endpoint.url;
  let message: string;
  switch (error.code) {
    case "E_FORBIDDEN_ORIGIN":
      message =
        endpoint.pageOrigin === undefined
          ? `${error.message} (${server(endpoint)})`
          : `Origin ${endpoint.pageOrigin} is not allowed by ${server(endpoint)}: add it to allowedOrigins`;
      break;
    case "E_FORBIDDEN_HOST":
      message = `Host ${endpoint.host} is not allowed by ${server(endpoint)}: add it to allowedHosts (a guard against DNS rebinding; localhost and IP addresses always pass)`;
      break;
    case "E_UNAUTHORIZED":
      message = `Authentication failed at ${endpoint.url.origin}${pathname}: the server's authenticate hook refused this request; ${tokenHint()}`;
      break;
    default:
      message = `No arraywire endpoint at ${pathname} on ${endpoint.url.origin}: check the path, or mount arrays.middleware (or handleRequest) there; the server says: ${error.message}`;
  }
  return new StreamError(error.code, message, error.streamId, { cause: error });
}

/**
 * A response whose content type is not arraywire's: another app's 404, page or file (E_NOT_FOUND:
 * the endpoint is not mounted there), or a proxy's or host app's error (E_HTTP_STATUS).
 */
export function notArraywireError(status: number, contentType: string, endpoint: Endpoint | undefined): StreamError {
  const where = endpoint ? ` at ${endpoint.url.origin}${endpoint.url.pathname}` : "";
  const what = `HTTP ${status} with content-type ${JSON.stringify(contentType)}`;
  // A 404, or a success with something else (an SPA's index.html, a file of the same name).
  if (status === 404 || (status >= 200 && status < 300)) {
    const place = endpoint ? `${endpoint.url.pathname} on ${endpoint.url.origin}` : "this URL";
    return new StreamError(
      "E_NOT_FOUND",
      `No arraywire endpoint at ${place} (${what}: another app answers there): check the path, or mount arrays.middleware (or handleRequest) there, or add the arraywire/vite plugin`,
      1,
    );
  }
  let why: string;
  if (status === 431) {
    why =
      "the request's headers are too large for the server (Node allows 16 KiB; params over HTTP count): send smaller params, or use the ws transport";
  } else if (status === 401 || status === 403) {
    why = `something in front of the arraywire endpoint refused the request (arraywire's own refusals are ${HTTP_CONTENT_TYPE}): a proxy's or the host app's access check, such as Vite's allowedHosts`;
  } else {
    why = `not an arraywire response (expected ${HTTP_CONTENT_TYPE}): a proxy or another app answered`;
  }
  return new StreamError("E_HTTP_STATUS", `${what}${where}: ${why}`, 1);
}

/** What a failed WebSocket open or HTTP request found out by probing (client/probe.ts). */
export type ProbeOutcome =
  /** The endpoint answered the probe: access is fine. */
  | { readonly kind: "ok" }
  /** It refused with a typed error (already explained). */
  | { readonly kind: "refused"; readonly error: StreamError }
  /** Something else answered (not arraywire). */
  | { readonly kind: "other"; readonly error: StreamError }
  /** The probe failed too (network, CORS, timeout). */
  | { readonly kind: "failed"; readonly error: unknown };

/**
 * The error for a WebSocket that did not open (`failure`: E_CONNECTION_CLOSED, closed before
 * opening, or E_TIMEOUT, no handshake within connectTimeoutMs), given what the probe found: the
 * typed refusal, "not mounted here", or the failure itself with the likely causes.
 */
export function explainFailedOpen(failure: StreamError, outcome: ProbeOutcome, endpoint: Endpoint): StreamError {
  if (outcome.kind === "refused" || outcome.kind === "other") {
    return new StreamError(outcome.error.code, outcome.error.message, 0, {
      cause: outcome.error.cause ?? failure,
    });
  }
  const target = `${endpoint.url.origin}${endpoint.url.pathname}`;
  const message =
    outcome.kind === "ok"
      ? `${failure.message}; the HTTP endpoint at ${target} accepts this client, so the WebSocket upgrade itself was refused or dropped: a proxy that does not pass upgrades (nginx needs proxy_http_version 1.1 and the Upgrade and Connection headers), or the server's per-address limit (maxConnectionsPerIp); transport "http" needs no WebSocket`
      : `${failure.message}; a probe of ${target} failed too (${describeError(outcome.error)}). Likely causes: ${likelyCauses(endpoint)}`;
  return new StreamError(failure.code, message, 0, { cause: outcome.kind === "failed" ? outcome.error : failure });
}

/**
 * The error for an HTTP request that got no response (`cause`: the runtime's error, such as
 * fetch's "Failed to fetch" or ECONNREFUSED), given what a probe found (none in Node: there a
 * network error is all there is to know). `carried`: the request had headers or sent cookies
 * cross-origin (which need the server's CORS grant: a probe without them can pass).
 */
export function explainUnreachable(
  cause: unknown,
  outcome: ProbeOutcome | null,
  endpoint: Endpoint,
  carried: boolean,
): StreamError {
  if (outcome?.kind === "refused" || outcome?.kind === "other") {
    return new StreamError(outcome.error.code, outcome.error.message, 1, { cause: outcome.error.cause ?? cause });
  }
  const target = `${endpoint.url.origin}${endpoint.url.pathname}`;
  let message: string;
  if (outcome?.kind !== "ok") {
    message = `Could not connect to ${target} (${describeError(cause)}). Likely causes: ${likelyCauses(endpoint)}`;
  } else if (carried) {
    message = `Could not fetch from ${target} (${describeError(cause)}), though a plain probe of it passes: the request's headers or credentials were refused by the browser's CORS check (the server's allowedOrigins must list ${endpoint.pageOrigin ?? "this page's origin"} for a request with headers or cookies)`;
  } else {
    message = `Could not fetch from ${target} (${describeError(cause)}), though a probe of it right after passed: the connection was lost (a server restart, a proxy, the network)`;
  }
  return new StreamError("E_CONNECTION_CLOSED", message, 1, { cause });
}

/** The usual reasons a request to `endpoint` gets no answer at all, most likely first. */
function likelyCauses(endpoint: Endpoint): string {
  const causes = [`the server is not running or not reachable at ${endpoint.url.origin}`];
  const crossOrigin = endpoint.pageOrigin !== undefined && endpoint.pageOrigin !== endpoint.url.origin;
  if (!isNodeRuntime() && crossOrigin) {
    causes.push(
      `the page's origin ${endpoint.pageOrigin} is not in the server's allowedOrigins (browsers hide that reason: a server that refuses a cross-origin page looks unreachable)`,
    );
  }
  causes.push(
    `a wrong scheme or port (${endpoint.url.protocol === "https:" ? "wss:/https: needs TLS on the server" : "a server behind TLS needs wss:/https:"})`,
  );
  return causes.join("; ");
}

function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error.cause as { code?: unknown } | undefined)?.code ?? (error as { code?: unknown }).code;
    return typeof code === "string" ? `${error.message}, ${code}` : error.message;
  }
  return String(error);
}

/** True in runtimes where a failed fetch can hide a CORS refusal (browsers and workers, not Node). */
export function fetchHidesReasons(): boolean {
  return !isNodeRuntime();
}
