/**
 * The Host check, a guard against DNS rebinding: a page on attacker.example whose name the
 * attacker re-points at 127.0.0.1 sends `Host: attacker.example` (and a matching Origin, so an
 * Origin check alone passes it). Like Vite's `server.allowedHosts`, the server answers only to
 * localhost, *.localhost and IP literals unless told more names.
 */
import { isIP } from "node:net";

/**
 * The Host a request names: its `Host` header, or an HTTP/2 request's `:authority` (Node's
 * compatibility API leaves `host` unset for those; Vite serves HTTP/2 when `server.https` is set).
 */
export function hostHeader(req: { headers: Record<string, string | string[] | undefined> }): string | undefined {
  const host = req.headers.host ?? req.headers[":authority"];
  return typeof host === "string" ? host : undefined;
}

/**
 * True when `host` (a Host header value, with or without a port) names this server: localhost,
 * any *.localhost, an IPv4 literal or a bracketed IPv6 literal (any port), or a name in
 * `allowed` (exact, or a leading "." for the name and all its subdomains: ".example.com" allows
 * example.com and a.b.example.com). `true` allows every host. A missing Host is refused.
 */
export function isHostAllowed(host: string | undefined, allowed: readonly string[] | true = []): boolean {
  if (allowed === true) return true;
  if (host === undefined) return false;
  const value = host.trim().toLowerCase();
  let hostname: string;
  let port: string;
  if (value.startsWith("[")) {
    const end = value.indexOf("]");
    if (end < 0) return false;
    hostname = value.slice(1, end);
    port = value.slice(end + 1);
    if (isIP(hostname) !== 6) return false;
    return port === "" || /^:\d{1,5}$/.test(port);
  }
  const colon = value.indexOf(":");
  hostname = colon < 0 ? value : value.slice(0, colon);
  port = colon < 0 ? "" : value.slice(colon);
  if (port !== "" && !/^:\d{1,5}$/.test(port)) return false;
  if (hostname.endsWith(".")) hostname = hostname.slice(0, -1); // "localhost." is localhost
  if (hostname === "") return false;
  if (isIP(hostname) === 4) return true;
  if (hostname === "localhost" || hostname.endsWith(".localhost")) return true;
  for (const name of allowed) {
    if (name === hostname) return true;
    if (name.startsWith(".") && (name.slice(1) === hostname || hostname.endsWith(name))) return true;
  }
  return false;
}
