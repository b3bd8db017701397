/**
 * What the runtime can do, detected by capability rather than by a global such as `document`
 * (DOM shims in Node define one; a worker has none). Each function looks at the runtime when it
 * is called, so a test that stubs a global sees the change.
 */
/** The parts of a WebSocket the client uses (the browser's WebSocket and `ws` both have them). */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: string, listener: (event: never) => void): void;
}

/** A WebSocket constructor: the browser's, `ws`'s, or a compatible one. */
export type WebSocketConstructor = new (url: string, protocols?: string | string[], options?: object) => WebSocketLike;

interface Globals {
  process?: { versions?: { node?: unknown } };
  WebSocket?: unknown;
  ReadableStreamBYOBReader?: unknown;
}

/** True in Node (and runtimes that implement its modules: `ws` and `node:http` can be loaded). */
export function isNodeRuntime(): boolean {
  return typeof (globalThis as Globals).process?.versions?.node === "string";
}

/** The global WebSocket constructor (browsers, workers, Node 22+), or undefined. */
export function globalWebSocket(): WebSocketConstructor | undefined {
  const ctor = (globalThis as Globals).WebSocket;
  return typeof ctor === "function" ? (ctor as WebSocketConstructor) : undefined;
}

/** True when fetch bodies can be read with a BYOB reader (straight into caller memory). */
export function hasByobReader(): boolean {
  return typeof (globalThis as Globals).ReadableStreamBYOBReader === "function";
}

/**
 * True for Node's `ws` package (an EventEmitter: it takes options such as headers and maxPayload
 * as a third constructor argument, and can deliver messages as Buffers).
 */
export function isNodeWs(ctor: WebSocketConstructor): boolean {
  return typeof (ctor as unknown as { prototype?: { on?: unknown } }).prototype?.on === "function";
}

/**
 * The transport "auto" picks when no option needs one: "http" in Node (a raw socket, the body
 * read straight into the target) and where fetch bodies have BYOB readers (browsers), "ws"
 * elsewhere. Measured at 400 MB with verify on, medians: in Node http 381 MB/s into fresh
 * targets and 545 reused, ws 234 and 318 (5 runs of the bench, 2026-11-30, a shared 2-core
 * machine); in Chromium http 546, ws 336 (bench/results/latest.md).
 */
export function defaultTransport(): "ws" | "http" {
  return isNodeRuntime() || hasByobReader() ? "http" : "ws";
}

/** Default chunk size to ask for: 4 MiB in Node, 1 MiB in browsers (bench/results sweep). */
export function defaultChunkByteLength(): number {
  return isNodeRuntime() ? 4 * 1024 * 1024 : 1024 * 1024;
}
