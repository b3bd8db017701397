/**
 * A load balancer's own error page: `502 Bad Gateway`, `503 Service Unavailable` or `504
 * Gateway Timeout` with the proxy's body (HTML), not an arraywire one, which nginx and HAProxy
 * send when no backend answered (all down, restarting, or slow to accept). A new attempt a moment
 * later usually reaches a live backend, so fetchArray's resume retries it, like a lost connection;
 * any other response that is not arraywire (a 404 page, a 200 from the wrong app) stays a
 * non-retryable E_HTTP_STATUS. The check sits in front of the HTTP transport's opener, before the
 * body is read.
 */
import { HTTP_CONTENT_TYPE, StreamError } from "../shared/index.ts";
import { DECODES_CONTENT_ENCODING, type HttpOpener } from "./http.ts";

/** Statuses a proxy answers with when it could not get a response from a backend. */
export const GATEWAY_STATUSES: ReadonlySet<number> = new Set([502, 503, 504]);

/** E_HTTP_STATUS for a proxy's 502/503/504 page: retryable, with the status. */
export class GatewayStatusError extends StreamError {
  /** The HTTP status: 502, 503 or 504. */
  readonly status: number;
  constructor(status: number, contentType: string) {
    super(
      "E_HTTP_STATUS",
      `HTTP ${status} with content-type ${JSON.stringify(contentType)}: a proxy's error page, not an arraywire response (no backend answered; retryable)`,
      1,
    );
    this.status = status;
  }
}

/**
 * `open` with a proxy's 502, 503 or 504 page turned into a {@link GatewayStatusError} (the body
 * is cancelled unread); every other response passes as it is.
 */
export function withGatewayCheck(open: HttpOpener): HttpOpener {
  const checked: HttpOpener = async (url, options) => {
    const response = await open(url, options);
    if (GATEWAY_STATUSES.has(response.status) && !response.contentType.startsWith(HTTP_CONTENT_TYPE)) {
      response.reader.cancel();
      throw new GatewayStatusError(response.status, response.contentType);
    }
    return response;
  };
  if (DECODES_CONTENT_ENCODING.has(open)) DECODES_CONTENT_ENCODING.add(checked);
  return checked;
}
