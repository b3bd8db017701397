/**
 * Request targets as peers send them. `new URL()` throws on targets such as `//[` or
 * `http://a:99999/x`, and a throw in a request or upgrade handler ends the process, so every
 * target is parsed here, inside a try, and a failure is a value the caller answers with 400.
 */

/** The parts of a request target the server routes on. */
export interface RequestTarget {
  pathname: string;
  query: URLSearchParams;
}

/**
 * The target a request was sent with: `req.originalUrl` when a connect-style router (Express,
 * connect, Vite's middlewares) mounted a handler under a prefix and stripped it from `req.url`,
 * else `req.url`. Upgrades never go through such a router: their `req.url` is the whole target.
 */
export function targetOf(req: { url?: string | undefined }): string | undefined {
  const original = (req as { originalUrl?: unknown }).originalUrl;
  return typeof original === "string" ? original : req.url;
}

/**
 * Parses `url` (an IncomingMessage's `url`: origin-form such as `/arraywire?name=a`, or
 * absolute-form) the way `new URL(url, "http://localhost")` does. Returns null when it does not
 * parse; never throws.
 */
export function parseTarget(url: string | undefined): RequestTarget | null {
  try {
    const parsed = new URL(url ?? "/", "http://localhost");
    return { pathname: parsed.pathname, query: parsed.searchParams };
  } catch {
    return null; // not a URL: the caller answers 400 (or leaves the request to its owner)
  }
}
