/**
 * Which address a request comes from, for maxConnectionsPerIp and the log: the socket's peer,
 * unless that peer is a proxy the server trusts (option `trustProxy`), in which case the
 * `X-Forwarded-For` header says who the proxy served. The header is read from the right: each
 * trusted proxy appended the address it was connected from, so the first entry from the right
 * that is not a trusted proxy is the client. Entries to its left came from the client itself and
 * are never believed, so a client cannot choose the address it is counted under; a peer that is
 * not trusted is counted under its own address whatever it sends.
 */
import type { IncomingMessage } from "node:http";
import { BlockList, isIP } from "node:net";
import type { StreamServices } from "./plan.ts";

/** Who may be believed about X-Forwarded-For: a socket address in, true for a trusted proxy. */
export type ProxyTrust = (address: string) => boolean;

/** Most X-Forwarded-For entries read, from the right (a chain of proxies is never this long). */
const MAX_HOPS = 16;

/** `address` with an IPv4-mapped IPv6 prefix (`::ffff:1.2.3.4`, a dual-stack socket's view) removed. */
export function normalizeAddress(address: string): string {
  return /^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(address) ? address.slice(7) : address;
}

/**
 * One X-Forwarded-For entry as an address: `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1`,
 * `[2001:db8::1]:5678`; null for anything else (`unknown`, obfuscated identifiers, garbage).
 */
function hopAddress(entry: string): string | null {
  let text = entry.trim();
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(text);
  if (bracketed) text = bracketed[1] as string;
  else if (/^\d+\.\d+\.\d+\.\d+:\d+$/.test(text)) text = text.slice(0, text.lastIndexOf(":"));
  return isIP(text) === 0 ? null : normalizeAddress(text);
}

/**
 * The `trustProxy` option as a predicate: a list of addresses and CIDR blocks
 * (`"127.0.0.1"`, `"10.0.0.0/8"`, `"::1"`, `"fd00::/8"`), or a function, or nothing (trust no one).
 * @throws {TypeError} for a list entry that is neither an IP address nor a CIDR block, or a value
 *   that is neither a list nor a function.
 */
export function proxyTrust(option: readonly string[] | ProxyTrust | undefined): ProxyTrust {
  if (option === undefined) return () => false;
  if (typeof option === "function") return option;
  if (!Array.isArray(option)) {
    throw new TypeError(`Invalid trustProxy: expected a list of addresses or a function, got ${typeof option}`);
  }
  const list = new BlockList();
  for (const entry of option) {
    const m = typeof entry === "string" ? /^([^/]+)(?:\/(\d{1,3}))?$/.exec(entry.trim()) : null;
    const family = m ? isIP(m[1] as string) : 0;
    const prefix = m?.[2] === undefined ? undefined : Number(m[2]);
    if (!m || family === 0 || (prefix !== undefined && prefix > (family === 4 ? 32 : 128))) {
      throw new TypeError(
        `Invalid trustProxy entry: expected an IP address or a CIDR block such as "10.0.0.0/8", got ${JSON.stringify(entry)}`,
      );
    }
    const type = family === 4 ? "ipv4" : "ipv6";
    if (prefix === undefined) list.addAddress(m[1] as string, type);
    else list.addSubnet(m[1] as string, prefix, type);
  }
  return (address) => {
    const family = isIP(address);
    return family !== 0 && list.check(address, family === 4 ? "ipv4" : "ipv6");
  };
}

/**
 * The address `req` is counted under: the peer's, or when the peer is trusted, the rightmost
 * X-Forwarded-For entry that is not a trusted proxy (the leftmost one when all are; the last
 * trusted hop's when an entry is not an address). `isTrusted` must not throw (see Hooks).
 */
export function clientAddress(req: IncomingMessage, isTrusted: ProxyTrust): string {
  let address = normalizeAddress(req.socket.remoteAddress ?? "unknown");
  if (!isTrusted(address)) return address;
  const header = req.headers["x-forwarded-for"];
  const forwarded = Array.isArray(header) ? header.join(",") : header;
  if (!forwarded) return address;
  const entries = forwarded.split(",");
  for (let i = entries.length - 1, hops = 0; i >= 0 && hops < MAX_HOPS; i--, hops++) {
    const hop = hopAddress(entries[i] as string);
    if (hop === null) return address; // the proxy that appended it is who we know
    address = hop;
    if (!isTrusted(hop)) return hop;
  }
  return address;
}

/** {@link clientAddress} with the server's `trustProxy`, called through its guard (Hooks). */
export function requestAddress(req: IncomingMessage, services: Pick<StreamServices, "settings" | "hooks">): string {
  const { settings, hooks } = services;
  return clientAddress(req, (address) => hooks.isProxyTrusted(settings.trustProxy, address));
}
