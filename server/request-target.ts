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
