/**
 * Opening the WebSocket of an ArrayClient, and saying why when it does not open. A browser hides
 * the status of a refused upgrade (the page sees "closed with 1006 before opening"), and an
 * upgrade nothing answers (a wrong path on a dev server) hangs until the browser gives up. So a
 * WebSocket that closes before opening, or does not open within `connectTimeoutMs`, is followed
 * by a probe of the same endpoint over HTTP (client/probe.ts), and the connection fails with
 * what it found: the typed refusal (E_UNAUTHORIZED, E_FORBIDDEN_ORIGIN, E_FORBIDDEN_HOST,
 * E_NOT_FOUND: never retried by resume), or the original E_CONNECTION_CLOSED / E_TIMEOUT
 * (retryable) with the likely causes.
 */
import { StreamError, toWebSocketUrl } from "../shared/index.ts";
import { endpointOf, explainFailedOpen } from "./explain.ts";
import type { ConnectSettings } from "./options.ts";
import { probeEndpoint } from "./probe.ts";
import { openSocket, type SocketLike } from "./socket.ts";

/** Probes give up after this long when connectTimeoutMs is 0 (off). */
const DEFAULT_PROBE_TIMEOUT_MS = 10_000;

/**
 * Opens the connection to `url`.
 * @throws {@link StreamError} the probe's typed refusal, E_NOT_FOUND (nothing arraywire at the
 *   path), or E_CONNECTION_CLOSED / E_TIMEOUT with the likely causes; the signal's reason when
 *   aborted; what a caller-supplied WebSocket constructor throws.
 */
export async function openConnection(url: URL, settings: ConnectSettings): Promise<SocketLike> {
  try {
    return await openSocket(String(toWebSocketUrl(url)), {
      WebSocket: settings.WebSocket,
      protocols: settings.protocols,
      headers: settings.headers,
      maxPayload: Math.max(settings.maxChunkByteLength, settings.maxControlByteLength) + 1024,
      signal: settings.signal,
      connectTimeoutMs: settings.connectTimeoutMs,
    });
  } catch (err) {
    if (!(err instanceof StreamError) || (err.code !== "E_CONNECTION_CLOSED" && err.code !== "E_TIMEOUT")) throw err;
    if (settings.signal?.aborted) throw settings.signal.reason;
    const endpoint = endpointOf(url, settings.headers);
    const outcome = await probeEndpoint(endpoint, {
      headers: settings.headers,
      protocols: settings.protocols,
      credentials: settings.credentials,
      maxControlByteLength: settings.maxControlByteLength,
      timeoutMs: settings.connectTimeoutMs > 0 ? settings.connectTimeoutMs : DEFAULT_PROBE_TIMEOUT_MS,
      signal: settings.signal,
    });
    throw explainFailedOpen(err, outcome, endpoint);
  }
}
