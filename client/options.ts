/**
 * The client's options (public types, with defaults and units) and the validated forms the core
 * and the transports work from. client/resolve-options.ts is their one validator.
 */
import type { ChecksumAlgorithm, Dtype, DtypeOf, JsonObject, TypedArray } from "../shared/index.ts";
import type { ArrayChunk } from "./chunks.ts";
import type { Progress } from "./progress.ts";
import type { WebSocketConstructor } from "./runtime.ts";

/** Where an interrupted stream stands. */
export interface ResumePoint {
  /** The array holding the first `receivedByteLength` bytes of the range. */
  array: TypedArray;
  receivedByteLength: number;
  /** Generation of the published array the bytes came from. */
  generation: number;
}

/** Options of one stream: {@link ArrayClient.fetch} and {@link fetchArray}. */
export interface FetchOptions<T extends TypedArray = TypedArray> {
  /**
   * The dtype the caller expects, e.g. "float64": the result is then typed (`ArrayResult<Float64Array>`)
   * and checked: a server that announces another dtype fails the stream with StreamError
   * E_DTYPE_MISMATCH before anything is allocated. With `into`, it must be `into`'s dtype.
   * Defaults to accepting any dtype (the result is then a `TypedArray` union).
   */
  dtype?: DtypeOf<T>;
  /**
   * Array to write into (recv_into): it must have the stream's dtype and room for the range. The
   * bytes end up in this array's own memory, on both transports (never transferred away).
   */
  into?: T;
  /** Called at most every `progressIntervalMs` and once at completion with the total. */
  onProgress?: (progress: Progress) => void;
  /**
   * Progressive use: called, in order, each time whole elements of the target became final (after
   * every payload or read that completed at least one), with the target and the range just
   * completed; the reports tile the range without gaps or overlaps. `chunk.array` is the array the
   * fetch resolves with, so its first `elementEnd` elements can be drawn at once. The bytes are not
   * yet verified: the END checksum is checked after the last report, and a mismatch rejects the
   * fetch (E_CHECKSUM). Setting it keeps the target in place on the BYOB path (reads go through a
   * 1 MiB scratch buffer, as with `into`). A throw (or a rejected promise) fails the fetch with
   * that error, never retried.
   */
  onChunk?: (chunk: ArrayChunk<T>) => void;
  /**
   * Allocate the target over a SharedArrayBuffer (ignored with `into`), so that other threads
   * can read it while it fills (see fetchArrayInWorker). Needs a runtime with SharedArrayBuffer: a
   * cross-origin isolated page (COOP same-origin + COEP require-corp), a worker of one, or Node.
   * Defaults to false.
   * @throws {TypeError} where there is no SharedArrayBuffer.
   */
  shared?: boolean;
  /**
   * Key under which this transfer is recorded in the page's arraywire registry, when one is
   * installed (arraywire/playwright installs one in every page of a test; a page without one
   * records nothing and pays one global lookup per fetch). Defaults to the array's name.
   */
  track?: string;
  /** Minimum time between progress calls, in ms. Defaults to 50. */
  progressIntervalMs?: number;
  /** Cancels the stream; the promise rejects with `signal.reason` (an AbortError by default). */
  signal?: AbortSignal;
  /** Most bytes this client agrees to allocate. Defaults to 2_147_483_648 (2 GiB). */
  maxBytes?: number;
  /** Source parameters sent to the server (for generated arrays such as `arange`). */
  params?: JsonObject;
  /** Element range [start, end) of the flattened array. Defaults to the whole array. */
  range?: readonly [number, number];
  /** Chunk size to ask for (WebSocket only). Defaults to 1 MiB in browsers and 4 MiB in Node. */
  chunkByteLength?: number;
  /**
   * Credit window (WebSocket only): most bytes in flight towards this client. 0 turns it off.
   * Must be 0 or at least `chunkByteLength`. Defaults to max(16 MiB, 2 x chunkByteLength).
   */
  creditByteLength?: number;
  /**
   * Verify a checksum of the range, sent in the END trailer: true (the default) asks for XXH32,
   * the fastest; "crc32c" for CRC-32C; false (or "none") for none.
   */
  verify?: boolean | ChecksumAlgorithm;
  /**
   * A stream that receives no byte for this long (connecting included) fails with a StreamError
   * E_TIMEOUT, which `resume` retries. 0 turns it off. Defaults to 30_000 ms.
   */
  idleTimeoutMs?: number;
  /**
   * Continues an earlier stream of the same request from the bytes it already holds (E_GONE when
   * the server's array changed since). fetchArray's `resume` option does this for you.
   */
  resumeFrom?: ResumePoint;
}

/** Options of {@link ArrayClient.connect} (and of {@link fetchArray} over WebSocket). */
export interface ConnectOptions {
  /**
   * WebSocket implementation. Defaults to the global WebSocket where there is one (browsers,
   * workers, Node 22+) and to the `ws` package in Node without one (or when `headers` are given).
   */
  WebSocket?: WebSocketConstructor;
  /**
   * WebSocket subprotocols, e.g. `["arraywire.token." + token]` to authenticate from a browser
   * (which cannot set headers); "arraywire" is added so that the server can answer with it.
   * Only the WebSocket transport can send them: fetchArray's "auto" then picks "ws".
   */
  protocols?: string | readonly string[];
  /**
   * Extra HTTP headers: of the GET on the HTTP transport, of the upgrade request with Node's `ws`.
   * A browser WebSocket cannot send headers: with it, `headers` is a TypeError. Node's HTTP
   * transport writes the request itself: a header name that is not a token, a value with CR, LF
   * or NUL, or one it sets itself (Connection, Content-Length, Transfer-Encoding, Upgrade)
   * is a TypeError (a rejection, never retried); a `host` header replaces the URL's.
   */
  headers?: Record<string, string>;
  /** Longest control message (or ARRAY_HEADER) accepted from the server. Defaults to 65_536 bytes. */
  maxControlByteLength?: number;
  /** Largest payload message accepted (WebSocket). Defaults to 67_108_864 bytes (64 MiB). */
  maxChunkByteLength?: number;
  /**
   * Told about messages that fail no stream of this client (a connection-level ERROR, a bad
   * message for a stream it does not know). At most 10 calls per connection, so a flood of bad
   * messages cannot flood the console. Defaults to console.warn. If it throws, the streams of the
   * connection fail with that error.
   */
  onWarning?: (message: string) => void;
  /** Aborts the connection attempt (a stalled handshake too); rejects with the signal's reason. */
  signal?: AbortSignal;
  /**
   * Whether to offer zstd in each REQUEST (WebSocket only), so that the server may send chunks
   * compressed when that pays (it decides per chunk; checksums stay over the raw bytes): "on"
   * always, "off" never, "auto" unless the server's host is loopback (localhost, 127.0.0.0/8,
   * ::1), where compression costs more time than it saves. The codec (WebAssembly, about 250 KB)
   * is loaded when the connection opens; if it cannot be, onWarning is told and chunks come raw.
   * Defaults to "auto".
   */
  compression?: Compression;
  /**
   * A WebSocket that has not opened after this long is closed and the endpoint probed, so that the
   * error says why (a path nothing answers on hangs until the browser's own handshake timeout,
   * 240 s in Chromium): E_TIMEOUT, or the refusal the probe finds. 0 turns it off. WebSocket only
   * (an HTTP request waits up to idleTimeoutMs). Defaults to 10_000 ms.
   */
  connectTimeoutMs?: number;
  /**
   * Whether the browser sends cookies with HTTP requests (the HTTP transport's GET, and the
   * probe after a failed WebSocket), as fetch's `credentials`: "same-origin" (the default) sends
   * them to the page's own origin only; "include" sends them cross-origin too, which the server
   * grants to origins listed in allowedOrigins. A WebSocket always carries the cookies of its
   * host. Ignored in Node (no cookie jar: pass `headers`).
   */
  credentials?: "omit" | "same-origin" | "include";
}

/** See {@link ConnectOptions.compression}. */
export type Compression = "auto" | "off" | "on";

/** How {@link fetchArray} retries after a lost connection. */
export interface ResumeOptions {
  /** Reconnects before giving up. Defaults to 5. */
  attempts?: number;
  /** Delay before the first reconnect, in ms; doubles each time, with jitter. Defaults to 100. */
  initialDelayMs?: number;
  /** Longest delay between reconnects, in ms. Defaults to 5_000. */
  maxDelayMs?: number;
}

/** Which transport {@link fetchArray} uses. */
export type Transport = "auto" | "ws" | "http";

/** A validated stream request: what the core and both transports work from. */
export interface StreamRequest {
  readonly name: string;
  /** The dtype the caller expects, or undefined for any. */
  readonly dtype: Dtype | undefined;
  readonly params: JsonObject | null;
  readonly range: { readonly elementStart: number; readonly elementEnd: number } | null;
  readonly chunkByteLength: number;
  readonly creditByteLength: number;
  readonly checksum: ChecksumAlgorithm;
  readonly maxBytes: number;
  readonly into: TypedArray | undefined;
  readonly onProgress: ((progress: Progress) => void) | undefined;
  readonly onChunk: ((chunk: ArrayChunk) => void) | undefined;
  readonly shared: boolean;
  /** The registry key: `track`, else the name. */
  readonly track: string;
  readonly progressIntervalMs: number;
  readonly idleTimeoutMs: number;
  readonly signal: AbortSignal | undefined;
  readonly resumeFrom: ResumePoint | undefined;
}

/** Validated connection options. */
export interface ConnectSettings {
  readonly WebSocket: WebSocketConstructor | undefined;
  /** What to offer, "arraywire" first; undefined when the caller offered none. */
  readonly protocols: string[] | undefined;
  readonly headers: Record<string, string> | undefined;
  readonly maxControlByteLength: number;
  readonly maxChunkByteLength: number;
  readonly onWarning: (message: string) => void;
  readonly signal: AbortSignal | undefined;
  readonly compression: Compression;
  readonly connectTimeoutMs: number;
  readonly credentials: "omit" | "same-origin" | "include";
}

/** Validated resume options. */
export interface ResumePolicy {
  readonly attempts: number;
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
}
