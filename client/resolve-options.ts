/**
 * The one validation of the client's options, shared by both transports: a caller's bug (a
 * range such as [1.5, 3], an `into` that is not a typed array, an unknown transport, an option
 * the chosen transport cannot honour) throws the same TypeError or RangeError before any I/O,
 * whichever transport runs. Everything past this file trusts the resolved values.
 */
import {
  CHECKSUM_ALGORITHMS,
  type ChecksumAlgorithm,
  DEFAULT_MAX_CHUNK_BYTES,
  DEFAULT_MAX_CONTROL_BYTES,
  DEFAULT_MAX_TOTAL_BYTES,
  DTYPES,
  type Dtype,
  dtypeOf,
  elementRangeProblem,
  encodeName,
  type JsonObject,
  type TypedArray,
} from "../shared/index.ts";
import type {
  Compression,
  ConnectOptions,
  ConnectSettings,
  FetchOptions,
  ResumeOptions,
  ResumePoint,
  ResumePolicy,
  StreamRequest,
} from "./options.ts";
import { defaultChunkByteLength } from "./runtime.ts";

const MiB = 1024 * 1024;
/** Longest delay setTimeout honours (2^31 - 1 ms); longer ones fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export function shown(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "bigint") return `${value}n`;
  if (value === null || typeof value !== "object") return String(value);
  return Array.isArray(value) ? "an array" : `an object (${value.constructor?.name ?? "null prototype"})`;
}

/**
 * An integer option in [min, max], or its default (the helpers below are shared with the
 * validators of subscribe and upload options).
 * @throws TypeError / RangeError
 */
export function integerOption(name: string, value: unknown, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number") throw new TypeError(`Invalid ${name}: expected a number, got ${shown(value)}`);
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new RangeError(`Invalid ${name}: expected an integer in ${min}..${max}, got ${value}`);
  }
  return value;
}

export function functionOption<F>(name: string, value: unknown): F | undefined {
  if (value !== undefined && typeof value !== "function") {
    throw new TypeError(`Invalid ${name}: expected a function, got ${shown(value)}`);
  }
  return value as F | undefined;
}

export function signalOption(value: unknown): AbortSignal | undefined {
  if (value === undefined) return undefined;
  const s = value as Partial<AbortSignal> | null;
  if (
    s === null ||
    typeof s !== "object" ||
    typeof s.aborted !== "boolean" ||
    typeof s.addEventListener !== "function"
  ) {
    throw new TypeError(`Invalid signal: expected an AbortSignal, got ${shown(value)}`);
  }
  return value as AbortSignal;
}

export function checksumOption(verify: unknown): ChecksumAlgorithm {
  if (verify === undefined || verify === true) return "xxh32";
  if (verify === false) return "none";
  if (typeof verify === "string" && Object.hasOwn(CHECKSUM_ALGORITHMS, verify)) return verify as ChecksumAlgorithm;
  throw new TypeError(
    `Invalid verify: expected a boolean or one of ${Object.keys(CHECKSUM_ALGORITHMS).join(", ")}, got ${shown(verify)}`,
  );
}

export function rangeOption(range: unknown): StreamRequest["range"] {
  if (range === undefined) return null;
  if (!Array.isArray(range) || range.length !== 2) {
    throw new TypeError(`Invalid range: expected [start, end], got ${shown(range)}`);
  }
  const [start, end] = range as [unknown, unknown];
  const problem = elementRangeProblem(start, end);
  if (problem !== null) throw new RangeError(problem);
  return { elementStart: start as number, elementEnd: end as number };
}

export function paramsOption(params: unknown, name = "params"): JsonObject | null {
  if (params === undefined || params === null) return null;
  if (typeof params !== "object" || Array.isArray(params)) {
    throw new TypeError(`Invalid ${name}: expected a JSON object, got ${shown(params)}`);
  }
  // Throws a TypeError itself for a BigInt or a cycle.
  JSON.stringify(params);
  return params as JsonObject;
}

function intoOption(into: unknown): TypedArray | undefined {
  if (into === undefined) return undefined;
  if (typeof into !== "object" || into === null || !ArrayBuffer.isView(into)) {
    throw new TypeError(`Invalid into: expected a typed array, got ${shown(into)}`);
  }
  dtypeOf(into); // TypeError for a DataView
  return into as TypedArray;
}

function dtypeOption(dtype: unknown, into: TypedArray | undefined): Dtype | undefined {
  if (dtype === undefined) return undefined;
  if (typeof dtype !== "string" || !(DTYPES as readonly string[]).includes(dtype)) {
    throw new TypeError(`Invalid dtype: expected one of ${DTYPES.join(", ")}, got ${shown(dtype)}`);
  }
  if (into !== undefined && dtypeOf(into) !== dtype) {
    throw new TypeError(
      `Invalid dtype: expected the dtype of into (${dtypeOf(into)}, a ${into.constructor.name}), got ${shown(dtype)}`,
    );
  }
  return dtype as Dtype;
}

function sharedOption(shared: unknown): boolean {
  if (shared === undefined || shared === false) return false;
  if (shared !== true) throw new TypeError(`Invalid shared: expected a boolean, got ${shown(shared)}`);
  if (typeof SharedArrayBuffer !== "function") {
    throw new TypeError(
      "Invalid shared: this runtime has no SharedArrayBuffer (a page must be cross-origin isolated: COOP same-origin + COEP require-corp)",
    );
  }
  return true;
}

function trackOption(track: unknown, name: string): string {
  if (track === undefined) return name;
  if (typeof track !== "string" || track === "") {
    throw new TypeError(`Invalid track: expected a non-empty string, got ${shown(track)}`);
  }
  return track;
}

function resumeFromOption(point: unknown): ResumePoint | undefined {
  if (point === undefined) return undefined;
  const p = point as Partial<ResumePoint> | null;
  if (p === null || typeof p !== "object")
    throw new TypeError(`Invalid resumeFrom: expected an object, got ${shown(point)}`);
  const array = intoOption(p.array);
  if (array === undefined) throw new TypeError("Invalid resumeFrom.array: expected a typed array, got undefined");
  integerOption("resumeFrom.receivedByteLength", p.receivedByteLength ?? -1, 0, 0, array.byteLength);
  integerOption("resumeFrom.generation", p.generation ?? -1, 0, 0, 0xffffffff);
  return p as ResumePoint;
}

/**
 * Validates a stream's options.
 * @throws {TypeError} for an option of the wrong type; {@link RangeError} for a value out of
 *   range (a name that is empty or over 1,024 UTF-8 bytes, a range that is not two non-negative
 *   safe integers with start <= end, a creditByteLength below chunkByteLength...).
 */
export function resolveFetchOptions<T extends TypedArray>(name: unknown, options: FetchOptions<T> = {}): StreamRequest {
  if (options === null || typeof options !== "object") {
    throw new TypeError(`Invalid options: expected an object, got ${shown(options)}`);
  }
  encodeName(name, (message) => (typeof name === "string" ? new RangeError(message) : new TypeError(message)));
  const { chunkByteLength, creditByteLength } = resolveFlowOptions(options);
  const into = intoOption(options.into);
  return {
    name: name as string,
    dtype: dtypeOption(options.dtype, into),
    params: paramsOption(options.params),
    range: rangeOption(options.range),
    chunkByteLength,
    creditByteLength,
    checksum: checksumOption(options.verify),
    maxBytes: integerOption("maxBytes", options.maxBytes, DEFAULT_MAX_TOTAL_BYTES, 0, Number.MAX_SAFE_INTEGER),
    into,
    onProgress: functionOption("onProgress", options.onProgress),
    onChunk: functionOption("onChunk", options.onChunk),
    shared: sharedOption(options.shared),
    track: trackOption(options.track, name as string),
    progressIntervalMs: integerOption("progressIntervalMs", options.progressIntervalMs, 50, 0, MAX_TIMER_MS),
    idleTimeoutMs: integerOption("idleTimeoutMs", options.idleTimeoutMs, 30_000, 0, MAX_TIMER_MS),
    signal: signalOption(options.signal),
    resumeFrom: resumeFromOption(options.resumeFrom),
  };
}

/**
 * The endpoint URL; either scheme pair works for either transport. A relative URL ("/arraywire")
 * is resolved against the page's location (browsers and workers).
 * @throws {TypeError} for a URL that does not parse (a relative one outside a page) or is not
 *   ws:, wss:, http: or https:.
 */
export function resolveEndpoint(url: string | URL): URL {
  const base = (globalThis as { location?: { href?: unknown } }).location?.href;
  let u: URL;
  try {
    u = new URL(String(url), typeof base === "string" ? base : undefined);
  } catch {
    throw new TypeError(
      `Invalid url: expected an absolute ws:, wss:, http: or https: URL${typeof base === "string" ? "" : " (a relative one needs a page to resolve against)"}, got ${shown(String(url))}`,
    );
  }
  if (!["ws:", "wss:", "http:", "https:"].includes(u.protocol)) {
    throw new TypeError(`Invalid url: expected ws:, wss:, http: or https:, got ${JSON.stringify(u.protocol)}`);
  }
  return u;
}

const CREDENTIALS = ["omit", "same-origin", "include"] as const;

function credentialsOption(value: unknown): ConnectSettings["credentials"] {
  if (value === undefined) return "same-origin";
  if (typeof value === "string" && (CREDENTIALS as readonly string[]).includes(value)) {
    return value as ConnectSettings["credentials"];
  }
  throw new TypeError(`Invalid credentials: expected "omit", "same-origin" or "include", got ${shown(value)}`);
}

/** Subprotocol tokens (RFC 6455: RFC 7230 tokens). */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

const COMPRESSIONS: readonly Compression[] = ["auto", "off", "on"];

function compressionOption(value: unknown): Compression {
  if (value === undefined) return "auto";
  if (!COMPRESSIONS.includes(value as Compression)) {
    throw new TypeError(`Invalid compression: expected "auto", "off" or "on", got ${shown(value)}`);
  }
  return value as Compression;
}

/**
 * True when `hostname` (a URL's, IPv6 in brackets) is this machine: localhost, *.localhost,
 * 127.0.0.0/8, ::1 (or ::ffff:127.x.y.z).
 */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/^\[|\]$/g, "");
  if (host === "localhost" || host.endsWith(".localhost")) return true;
  // The URL parser writes ::ffff:127.0.0.1 as ::ffff:7f00:1.
  if (host === "::1" || /^::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}$/.test(host)) return true;
  return /^(::ffff:)?127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/**
 * Validates connection options.
 * @throws {TypeError} / {@link RangeError} as {@link resolveFetchOptions}.
 */
export function resolveConnectOptions(options: ConnectOptions, subprotocol: string): ConnectSettings {
  if (options === null || typeof options !== "object") {
    throw new TypeError(`Invalid options: expected an object, got ${shown(options)}`);
  }
  let protocols: string[] | undefined;
  if (options.protocols !== undefined) {
    const list = typeof options.protocols === "string" ? [options.protocols] : options.protocols;
    if (!Array.isArray(list) || !list.every((p) => typeof p === "string" && TOKEN.test(p))) {
      throw new TypeError(`Invalid protocols: expected tokens (RFC 6455), got ${shown(options.protocols)}`);
    }
    // A browser fails the handshake when it offers subprotocols and the server picks none: offer
    // "arraywire" too, which servers choose over token-carrying protocols.
    protocols = [subprotocol, ...list.filter((p) => p !== subprotocol)];
  }
  const { headers } = options;
  if (
    headers !== undefined &&
    (headers === null ||
      typeof headers !== "object" ||
      Array.isArray(headers) ||
      !Object.values(headers).every((v) => typeof v === "string"))
  ) {
    throw new TypeError(`Invalid headers: expected an object of strings, got ${shown(headers)}`);
  }
  const onWarning = functionOption<(message: string) => void>("onWarning", options.onWarning);
  return {
    WebSocket: functionOption("WebSocket", options.WebSocket),
    protocols,
    headers,
    maxControlByteLength: integerOption(
      "maxControlByteLength",
      options.maxControlByteLength,
      DEFAULT_MAX_CONTROL_BYTES,
      1,
      2 ** 31 - 1,
    ),
    maxChunkByteLength: integerOption(
      "maxChunkByteLength",
      options.maxChunkByteLength,
      DEFAULT_MAX_CHUNK_BYTES,
      1,
      2 ** 31 - 1,
    ),
    onWarning: onWarning ?? ((message) => console.warn(`[arraywire] ${message}`)),
    signal: signalOption(options.signal),
    compression: compressionOption(options.compression),
    connectTimeoutMs: integerOption("connectTimeoutMs", options.connectTimeoutMs, 10_000, 0, MAX_TIMER_MS),
    credentials: credentialsOption(options.credentials),
  };
}

/**
 * Validates fetchArray's `resume`: null when it is off.
 * @throws {TypeError} / {@link RangeError}.
 */
export function resolveResume(resume: unknown): ResumePolicy | null {
  if (resume === undefined || resume === false) return null;
  const r: ResumeOptions = resume === true ? {} : (resume as ResumeOptions);
  if (r === null || typeof r !== "object") {
    throw new TypeError(
      `Invalid resume: expected a boolean or { attempts, initialDelayMs, maxDelayMs }, got ${shown(resume)}`,
    );
  }
  return {
    attempts: integerOption("resume.attempts", r.attempts, 5, 0, 1000),
    initialDelayMs: integerOption("resume.initialDelayMs", r.initialDelayMs, 100, 0, MAX_TIMER_MS),
    maxDelayMs: integerOption("resume.maxDelayMs", r.maxDelayMs, 5000, 0, MAX_TIMER_MS),
  };
}

/** What {@link resolveTransport} needs to know about the WebSocket that would be used. */
export interface WebSocketAbilities {
  /** The WebSocket the ws transport would use can send HTTP headers (Node's `ws`). */
  canSendHeaders: boolean;
}

/**
 * The transport to use: "ws" or "http". Options only one transport can honour pick it under
 * "auto" (`protocols` and `WebSocket` need "ws"; `headers` need "http" where the WebSocket cannot
 * send them) and are a TypeError with the other.
 * @throws {TypeError} for an unknown transport or options no transport can honour together.
 */
export function resolveTransport(
  transport: unknown,
  connect: ConnectSettings,
  ws: WebSocketAbilities,
  fallback: "ws" | "http",
): "ws" | "http" {
  if (transport !== undefined && transport !== "auto" && transport !== "ws" && transport !== "http") {
    throw new TypeError(`Invalid transport: expected "auto", "ws" or "http", got ${shown(transport)}`);
  }
  const needsWs = connect.protocols !== undefined ? "protocols" : connect.WebSocket !== undefined ? "WebSocket" : null;
  const needsHttp = connect.headers !== undefined && !ws.canSendHeaders ? "headers" : null;
  if (transport === "http" && needsWs) {
    throw new TypeError(`Invalid options: ${needsWs} needs the "ws" transport, got transport "http"`);
  }
  if (transport === "ws" && needsHttp) {
    throw new TypeError(
      'Invalid options: this WebSocket cannot send headers (browsers never can); use transport "http", a cookie, or protocols',
    );
  }
  if (transport === "ws" || transport === "http") return transport;
  if (needsWs && needsHttp) {
    throw new TypeError(
      `Invalid options: ${needsWs} needs the "ws" transport and headers need "http" here; pass a token in protocols or a cookie instead of headers`,
    );
  }
  // Compression "on" prefers the WebSocket, which compresses in every runtime (over HTTP only
  // browsers decode a zstd body); an explicit transport "http" keeps HTTP.
  return needsWs ? "ws" : needsHttp ? "http" : connect.compression === "on" ? "ws" : fallback;
}

/**
 * The chunk size and credit window a download stream asks for (fetch and subscribe alike).
 * @throws {TypeError} / {RangeError} for a value of the wrong type or out of range, or a
 *   creditByteLength that is neither 0 nor at least chunkByteLength.
 */
export function resolveFlowOptions(options: { chunkByteLength?: unknown; creditByteLength?: unknown }): {
  chunkByteLength: number;
  creditByteLength: number;
} {
  const chunkByteLength = integerOption(
    "chunkByteLength",
    options.chunkByteLength,
    defaultChunkByteLength(),
    1,
    0xffffffff,
  );
  const creditByteLength = integerOption(
    "creditByteLength",
    options.creditByteLength,
    Math.max(16 * MiB, 2 * chunkByteLength),
    0,
    Number.MAX_SAFE_INTEGER,
  );
  if (creditByteLength !== 0 && creditByteLength < chunkByteLength) {
    throw new RangeError(
      `Invalid creditByteLength: expected 0 or >= chunkByteLength (${chunkByteLength}), got ${creditByteLength}`,
    );
  }
  return { chunkByteLength, creditByteLength };
}
