/**
 * ArrayServer options, their defaults and checks. Every limit has a safe default and is
 * documented in README.md and SECURITY.md.
 */
import type { IncomingMessage, Server } from "node:http";
import type { Http2SecureServer, Http2Server } from "node:http2";
import type { Server as HttpsServer } from "node:https";
import { DEFAULT_MAX_CONTROL_BYTES } from "../shared/index.ts";
import { type CompressionOptions, type CompressionSettings, resolveCompression } from "./chunk-encoder.ts";
import { type ProxyTrust, proxyTrust } from "./client-address.ts";
import { resolveUploadSettings, type UploadOptions, type UploadSettings } from "./upload-options.ts";

const MiB = 1024 * 1024;

/** Options of {@link ArrayServer}. */
export interface ArrayServerOptions {
  /** Port to listen on (0 picks a free one). Ignored when `server` is given. Defaults to 0. */
  port?: number;
  /** Address to listen on. Defaults to "127.0.0.1" (loopback only). */
  host?: string;
  /**
   * An existing server to attach to instead of listening: `http.Server`, `https.Server`, or the
   * `Http2SecureServer` Vite uses with `server.https` (created with `allowHTTP1`, so that
   * WebSocket upgrades reach it). Upgrades on other paths are left alone; call
   * {@link ArrayServer.handleRequest} (or use `middleware`) from its request handler for the
   * HTTP transport.
   */
  server?: Server | HttpsServer | Http2SecureServer | Http2Server;
  /** URL path of the WebSocket and HTTP endpoint. Defaults to "/arraywire". */
  path?: string;
  /**
   * Host header values the server answers to, on both transports, checked before anything else
   * (a guard against DNS rebinding; 403 E_FORBIDDEN_HOST otherwise). localhost, *.localhost and
   * IP literals (IPv4, [IPv6]) with any port are always allowed; list more names here ("a.example"
   * exactly, ".a.example" for it and all its subdomains), or `true` to allow every host (behind
   * a proxy that checks Host itself). Like Vite's `server.allowedHosts`. Defaults to [].
   */
  allowedHosts?: string[] | true;
  /**
   * Which browser origins may connect, checked against the Origin header at the upgrade (403
   * otherwise) and on HTTP streams. "same-origin" (the default) accepts requests without an
   * Origin (non-browser clients) and those whose Origin host equals the Host header. A list is
   * matched exactly ("https://app.example" never matches "https://app.example.evil.com").
   * "*" accepts any origin.
   */
  allowedOrigins?: "same-origin" | "*" | string[] | ((origin: string | undefined, req: IncomingMessage) => boolean);
  /**
   * Runs before the 101 response (and before an HTTP stream): resolve true to accept, false to
   * answer 401. Read the token from a cookie, a header, or a subprotocol; see {@link readToken}.
   * Defaults to accepting everyone.
   */
  authenticate?: (req: IncomingMessage) => boolean | Promise<boolean>;
  /**
   * WebSocket connections plus HTTP streams open at once from one IP address (the client's, see
   * `trustProxy`); more WebSockets are closed with 1013, more HTTP streams get 429
   * (E_TOO_MANY_STREAMS). Defaults to 32.
   */
  maxConnectionsPerIp?: number;
  /**
   * Proxies whose `X-Forwarded-For` the server believes, so that `maxConnectionsPerIp` and the log
   * count the clients behind a load balancer rather than the balancer: a list of addresses and
   * CIDR blocks (`["127.0.0.1"]`, `["10.0.0.0/8", "fd00::/8"]`) or a function of the peer's
   * address (a throw counts as untrusted). A request from a trusted peer is counted under the
   * rightmost X-Forwarded-For entry that is not itself a trusted proxy; a request from any other
   * peer under the peer's own address, whatever its headers say. Defaults to none (trust no one).
   */
  trustProxy?: string[] | ((address: string) => boolean);
  /** Chunk size when the request names none, in bytes. Defaults to 1_048_576 (1 MiB, best for Chromium here). */
  chunkByteLength?: number;
  /** Largest chunk a request may ask for, in bytes. Defaults to 16_777_216 (16 MiB). */
  maxChunkByteLength?: number;
  /** Bytes queued in one connection's socket before the server waits for it to drain. Defaults to 4_194_304 (4 MiB). */
  maxQueuedBytes?: number;
  /**
   * Bytes queued over all connections before connections wait; a connection with an empty queue
   * may still send one chunk, so stalled peers filling the budget cannot starve healthy ones.
   * Defaults to 268_435_456 (256 MiB).
   */
  maxBytesInFlight?: number;
  /** Streams open at once on one connection; more get E_TOO_MANY_STREAMS. Defaults to 16. */
  maxStreamsPerConnection?: number;
  /**
   * Per-chunk zstd compression (WebSocket streams whose client offered it in REQUEST byte 15):
   * each chunk is sampled, and sent compressed (byte-shuffled or not) only when that pays, else
   * raw. `false` never compresses; an object tunes the choice (see {@link CompressionOptions}).
   * Clients decide whether to offer it (the reference client does not on loopback). Defaults to true.
   */
  compression?: boolean | CompressionOptions;
  /** Longest control message a client may send, in bytes; also ws's maxPayload (1009 above). Defaults to 65_536. */
  maxControlByteLength?: number;
  /**
   * A stream with bytes left that makes no progress (no chunk sent, no credit granted) for this
   * long gets E_TIMEOUT and is dropped; a connection whose socket does not drain for this long is
   * terminated, and so is an HTTP stream whose reader stops reading. 0 turns it off. Defaults to
   * 60_000 ms.
   */
  stallTimeoutMs?: number;
  /** Interval of WebSocket pings; a peer that misses one is terminated. 0 turns it off. Defaults to 30_000 ms. */
  heartbeatIntervalMs?: number;
  /**
   * Bytes that open array sources may hold at once, over all streams: what sources count with
   * `SourceContext.reserve` before they allocate (published arrays and generated ones such as
   * `arange` hold nothing extra and reserve nothing). Past it a request gets E_BUSY (HTTP 503).
   * Defaults to 1_073_741_824 (1 GiB).
   */
  maxSourceBytes?: number;
  /**
   * Whether `GET <path>?list` lists what the server publishes (names, dtypes, shapes, meta; see
   * docs/PROTOCOL.md §18). With false the list is refused (403 E_LISTING_DISABLED); a stat of a
   * name the client knows still answers. Defaults to true.
   */
  listing?: boolean;
  /**
   * Accept uploads (PUT, docs/PROTOCOL.md §16) with this hook and these limits. Off by default:
   * without it a PUT is answered with E_UNEXPECTED_MESSAGE, as by any server without uploads.
   */
  upload?: UploadOptions;
  /** Where diagnostics go (never tokens or headers). Defaults to console.warn. */
  log?: (message: string) => void;
}

/** What {@link ArrayServer.stats} returns. */
export interface ServerStats {
  connectionCount: number;
  /** WebSocket streams open or being resolved, over all connections. */
  streamCount: number;
  /** HTTP streams in flight. */
  httpStreamCount: number;
  /** Bytes handed to ws but not yet written to sockets, over all connections. */
  queuedByteLength: number;
  /** The largest queue of any one connection. */
  maxQueuedByteLength: number;
  /** Arrays opened from sources and still used by a stream (identical requests share one). */
  openSourceCount: number;
  /** Bytes those arrays reserved against maxSourceBytes. */
  sourceByteLength: number;
  /** Uploads receiving bytes now, and cut ones kept for a resume. */
  uploadCount: number;
  /** Bytes the server allocated for those uploads (counted against upload.maxUploadBytes). */
  uploadByteLength: number;
}

/** Options resolved to their defaults. */
export interface ServerSettings {
  path: string;
  /** Lower-cased; see ArrayServerOptions.allowedHosts. */
  allowedHosts: readonly string[] | true;
  chunkByteLength: number;
  /** The smallest chunk a request may ask for (64 KiB, or chunkByteLength if smaller). */
  minChunkByteLength: number;
  maxChunkByteLength: number;
  maxQueuedBytes: number;
  maxBytesInFlight: number;
  maxStreams: number;
  maxControlByteLength: number;
  maxConnectionsPerIp: number;
  /** The trustProxy option as a predicate (a user function is called through Hooks). */
  trustProxy: ProxyTrust;
  stallTimeoutMs: number;
  heartbeatIntervalMs: number;
  maxSourceBytes: number;
  compression: CompressionSettings;
  listing: boolean;
  /** Null when uploads are off. */
  upload: UploadSettings | null;
  log: (message: string) => void;
}

function positiveInteger(name: string, value: number, max = Number.MAX_SAFE_INTEGER, min = 1): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new RangeError(`Invalid ${name}: expected an integer in ${min}..${max}, got ${value}`);
  }
  return value;
}

function hostList(value: ArrayServerOptions["allowedHosts"]): readonly string[] | true {
  if (value === undefined) return [];
  if (value === true) return true;
  if (!Array.isArray(value) || !value.every((name) => typeof name === "string" && name.length > 0)) {
    throw new TypeError(`Invalid allowedHosts: expected true or an array of host names, got ${String(value)}`);
  }
  return value.map((name) => name.toLowerCase());
}

/**
 * Applies defaults and checks every option.
 * @throws {RangeError} for a value out of range.
 * @throws {TypeError} for an allowedHosts that is neither true nor a list of names, a listing
 *   that is not a boolean, upload options without an onUpload function, or a trustProxy entry
 *   that is neither an IP address nor a CIDR block.
 */
export function resolveSettings(options: ArrayServerOptions): ServerSettings {
  const maxChunk = positiveInteger("maxChunkByteLength", options.maxChunkByteLength ?? 16 * MiB, 2 ** 31 - 1);
  const chunk = positiveInteger("chunkByteLength", options.chunkByteLength ?? MiB, maxChunk);
  return {
    path: options.path ?? "/arraywire",
    allowedHosts: hostList(options.allowedHosts),
    chunkByteLength: chunk,
    minChunkByteLength: Math.min(64 * 1024, chunk),
    maxChunkByteLength: maxChunk,
    maxQueuedBytes: positiveInteger("maxQueuedBytes", options.maxQueuedBytes ?? 4 * MiB),
    maxBytesInFlight: positiveInteger("maxBytesInFlight", options.maxBytesInFlight ?? 256 * MiB),
    maxStreams: positiveInteger("maxStreamsPerConnection", options.maxStreamsPerConnection ?? 16),
    // ws coerces maxPayload to a 32-bit signed int: 2^31 and above would mean "no limit".
    maxControlByteLength: positiveInteger(
      "maxControlByteLength",
      options.maxControlByteLength ?? DEFAULT_MAX_CONTROL_BYTES,
      2 ** 31 - 1,
      1024,
    ),
    maxConnectionsPerIp: positiveInteger("maxConnectionsPerIp", options.maxConnectionsPerIp ?? 32),
    trustProxy: proxyTrust(options.trustProxy),
    stallTimeoutMs: positiveInteger("stallTimeoutMs", options.stallTimeoutMs ?? 60_000, 2 ** 31 - 1, 0),
    heartbeatIntervalMs: positiveInteger("heartbeatIntervalMs", options.heartbeatIntervalMs ?? 30_000, 2 ** 31 - 1, 0),
    maxSourceBytes: positiveInteger("maxSourceBytes", options.maxSourceBytes ?? 1024 * MiB, Number.MAX_SAFE_INTEGER, 0),
    compression: resolveCompression(options.compression),
    listing: booleanOption("listing", options.listing, true),
    upload: options.upload === undefined ? null : resolveUploadSettings(options.upload),
    log: options.log ?? ((m) => console.warn(`[arraywire] ${m}`)),
  };
}

function booleanOption(name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== "boolean") throw new TypeError(`Invalid ${name}: expected a boolean, got ${typeof value}`);
  return value;
}
