/**
 * Test helpers (imported by *.test.ts only; tsconfig.build.json excludes this file):
 * - {@link fakeWebSocket}: an in-process WebSocket that answers each REQUEST the real ArrayClient
 *   sends with a scripted list of server messages, one per task, then closes;
 * - {@link spyOnAllocations}: records every typed array and ArrayBuffer a test allocates;
 * - {@link encodeStream}: the messages of one complete, valid stream.
 */
import {
  type ChecksumAlgorithm,
  crc32c,
  DTYPE_BYTES_PER_ELEMENT,
  type Dtype,
  decodeMessage,
  encodeArrayHeader,
  encodeData,
  encodeEnd,
  type JsonObject,
  type Message,
  type RequestMessage,
  xxh32,
} from "../shared/index.ts";
import type { WebSocketConstructor, WebSocketLike } from "./socket.ts";

// ---------------------------------------------------------------------------------------------
// Fake WebSocket
// ---------------------------------------------------------------------------------------------

/** A message the fake server sends: bytes (a binary frame) or a string (a text frame). */
export type ServerMessage = Uint8Array | string;

export interface FakeServerOptions {
  /** The messages that answer one REQUEST, in order. Called once per REQUEST the client sends. */
  onRequest: (request: RequestMessage) => ServerMessage[];
  /**
   * Close the socket from the server side (code 1006) once the replies went out, so that a stream
   * still waiting rejects with E_CONNECTION_CLOSED instead of hanging. Defaults to true.
   */
  closeAfterReplies?: boolean;
  /**
   * Answers every other message the client sends (PUT, CREDIT, CANCEL, DATA, END), and a DATA's
   * payload (`payload` set, `message` null). Defaults to answering nothing.
   */
  onClientMessage?: (message: Message | null, payload: Uint8Array | null) => ServerMessage[];
  /**
   * How a binary message reaches the client: "arraybuffer" hands a fresh ArrayBuffer (what a
   * browser does with binaryType "arraybuffer"); "view" hands a Uint8Array at an odd byteOffset
   * of a larger buffer filled with garbage around it (what ws's Buffers look like). Defaults to
   * "arraybuffer".
   */
  delivery?: "arraybuffer" | "view";
}

/** What the fake saw. Every list should stay empty but `sent` and `closes`. */
export interface FakeServerLog {
  /** Every message the client sent (copied), in order. */
  readonly sent: Uint8Array[];
  /** The same messages as the client passed them to send(): the objects themselves, not copies. */
  readonly sentObjects: Uint8Array[];
  /** Client messages that did not decode: a client bug. */
  readonly badSends: { bytes: Uint8Array; error: unknown }[];
  /**
   * What a client listener threw while an event was dispatched: a client bug (a browser would
   * report it to the console, ws would turn it into an uncaught exception).
   */
  readonly listenerErrors: unknown[];
  /** Close codes the client asked for, in order. */
  readonly closes: number[];
  /** What `onRequest` threw (a test bug); nothing is sent for that REQUEST. */
  readonly scriptErrors: unknown[];
}

type Listener = (event: never) => void;

const CONNECTING = 0;
const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;

/** Garbage byte around "view" deliveries: a decoder that reads outside its view sees it. */
const GARBAGE = 0xa5;

// Captured at import, before any spyOnAllocations(): the fake's own copies are not the client's
// allocations and stay out of the spy's records.
const RawUint8Array = Uint8Array;
const RawArrayBuffer = ArrayBuffer;

function deliverable(message: ServerMessage, delivery: "arraybuffer" | "view"): ArrayBuffer | Uint8Array | string {
  if (typeof message === "string") return message;
  if (delivery === "arraybuffer") {
    const copy = new RawArrayBuffer(message.byteLength);
    new RawUint8Array(copy).set(message);
    return copy;
  }
  if (message.byteOffset % 2 === 1) return message; // already odd (and maybe huge): as it is
  const padded = new RawUint8Array(message.byteLength + 8).fill(GARBAGE);
  padded.set(message, 3);
  return new RawUint8Array(padded.buffer, 3, message.byteLength);
}

/**
 * A WebSocket class for ConnectOptions.WebSocket that talks to a scripted server in the same
 * process. It opens on the next task; each REQUEST the client sends is answered by
 * `options.onRequest`, one message per task (so promise reactions run in between, as with a real
 * socket; the replies to two REQUESTs go out one after the other, never interleaved), and once
 * nothing is left to send the socket closes with 1006 unless `closeAfterReplies` is false.
 */
export function fakeWebSocket(options: FakeServerOptions): { WebSocket: WebSocketConstructor; log: FakeServerLog } {
  const log: FakeServerLog = {
    sent: [],
    sentObjects: [],
    badSends: [],
    listenerErrors: [],
    closes: [],
    scriptErrors: [],
  };
  const delivery = options.delivery ?? "arraybuffer";
  const closeAfterReplies = options.closeAfterReplies ?? true;

  class FakeWebSocket implements WebSocketLike {
    binaryType = "blob";
    readyState = CONNECTING;
    readonly url: string;
    readonly protocols: string | string[] | undefined;
    readonly #listeners = new Map<string, Listener[]>();

    constructor(url: string, protocols?: string | string[], _options?: object) {
      this.url = url;
      this.protocols = protocols;
      setImmediate(() => {
        if (this.readyState !== CONNECTING) return;
        this.readyState = OPEN;
        this.#dispatch("open", {});
      });
    }

    addEventListener(type: string, listener: Listener): void {
      const list = this.#listeners.get(type) ?? [];
      list.push(listener);
      this.#listeners.set(type, list);
    }

    send(data: Uint8Array): void {
      if (this.readyState === CONNECTING) throw new Error("InvalidStateError: send() while CONNECTING");
      const bytes = new RawUint8Array(data.byteLength);
      bytes.set(data);
      log.sent.push(bytes);
      log.sentObjects.push(data);
      if (this.readyState !== OPEN) return; // a browser drops sends after close
      if (this.#payloadNext) {
        this.#payloadNext = false;
        this.#answer(() => options.onClientMessage?.(null, bytes) ?? []);
        return;
      }
      let message: Message;
      try {
        message = decodeMessage(bytes);
      } catch (error) {
        log.badSends.push({ bytes, error });
        return;
      }
      if (message.type === "DATA") this.#payloadNext = true;
      const m = message;
      if (m.type === "REQUEST") this.#answer(() => options.onRequest(m), true);
      else this.#answer(() => options.onClientMessage?.(m, null) ?? []);
    }

    #payloadNext = false;

    /** Plays a script's replies; an empty answer plays (and so may close) only for a REQUEST. */
    #answer(script: () => ServerMessage[], always = false): void {
      let replies: ServerMessage[];
      try {
        replies = script();
      } catch (error) {
        log.scriptErrors.push(error);
        return;
      }
      if (always || replies.length > 0) this.#play(replies);
    }

    close(code = 1000, _reason = ""): void {
      log.closes.push(code);
      if (this.readyState >= CLOSING) return;
      this.readyState = CLOSING;
      setImmediate(() => this.#closed(code, "client closed"));
    }

    /** Messages waiting to go out; replies to several REQUESTs queue up whole, never interleaved. */
    readonly #queue: ServerMessage[] = [];
    #pumping = false;

    #play(messages: ServerMessage[]): void {
      this.#queue.push(...messages);
      if (this.#pumping) return;
      this.#pumping = true;
      const next = () => {
        if (this.readyState !== OPEN) return;
        const message = this.#queue.shift();
        if (message === undefined) {
          this.#pumping = false;
          if (closeAfterReplies) this.#closed(1006, "");
          return;
        }
        this.#dispatch("message", { data: deliverable(message, delivery) });
        setImmediate(next);
      };
      setImmediate(next);
    }

    #closed(code: number, reason: string): void {
      if (this.readyState === CLOSED) return;
      this.readyState = CLOSED;
      this.#dispatch("close", { code, reason, wasClean: code !== 1006 });
    }

    #dispatch(type: string, event: object): void {
      for (const listener of this.#listeners.get(type) ?? []) {
        try {
          (listener as (e: object) => void)(event);
        } catch (error) {
          log.listenerErrors.push(error);
        }
      }
    }
  }

  return { WebSocket: FakeWebSocket, log };
}

// ---------------------------------------------------------------------------------------------
// Allocation spy
// ---------------------------------------------------------------------------------------------

const TYPED_ARRAY_NAMES = [
  "Int8Array",
  "Uint8Array",
  "Uint8ClampedArray",
  "Int16Array",
  "Uint16Array",
  "Int32Array",
  "Uint32Array",
  "Float16Array",
  "Float32Array",
  "Float64Array",
  "BigInt64Array",
  "BigUint64Array",
] as const;

export interface Allocation {
  /** Constructor name, e.g. "Float64Array" or "ArrayBuffer". */
  what: string;
  /** Bytes asked for (recorded before the constructor runs, so a refused size counts too). */
  byteLength: number;
}

export interface AllocationSpy {
  /** Largest allocation since install or the last reset, in bytes. */
  readonly largest: Allocation | null;
  /** Allocations of at least `threshold` bytes since install or the last reset. */
  readonly big: readonly Allocation[];
  reset(): void;
  /** Puts every constructor back. */
  restore(): void;
}

type Ctor = (new (...args: unknown[]) => object) & { BYTES_PER_ELEMENT?: number; prototype: object };

/**
 * Replaces globalThis.ArrayBuffer and every typed array constructor with a Proxy that records how
 * many bytes each `new` allocates (views over an existing buffer allocate nothing and are not
 * recorded). Each prototype's `constructor` points at the proxy while installed, so that species
 * constructors (`slice`, `subarray`, `ArrayBuffer#slice`) are seen too and `array.constructor ===
 * globalThis.Float64Array` still holds (the Assembler compares a caller's `into` that way).
 * Call restore() in afterEach/afterAll.
 */
export function spyOnAllocations(threshold = 1024 * 1024): AllocationSpy {
  let largest: Allocation | null = null;
  let big: Allocation[] = [];
  const note = (what: string, byteLength: number) => {
    if (largest === null || byteLength > largest.byteLength) largest = { what, byteLength };
    if (byteLength >= threshold) big.push({ what, byteLength });
  };
  const restorers: (() => void)[] = [];
  const g = globalThis as unknown as Record<string, Ctor | undefined>;

  const install = (name: string, bytesOf: (args: unknown[], target: Ctor) => number | null) => {
    const target = g[name];
    if (typeof target !== "function") return;
    const globalDescriptor = Object.getOwnPropertyDescriptor(globalThis, name) as PropertyDescriptor;
    const constructorDescriptor = Object.getOwnPropertyDescriptor(
      target.prototype,
      "constructor",
    ) as PropertyDescriptor;
    const proxy: Ctor = new Proxy(target, {
      construct(t, args, newTarget) {
        const byteLength = bytesOf(args, t);
        if (byteLength !== null) note(name, byteLength);
        return Reflect.construct(t, args, newTarget === proxy ? t : newTarget);
      },
    });
    Object.defineProperty(globalThis, name, { ...globalDescriptor, value: proxy });
    Object.defineProperty(target.prototype, "constructor", { ...constructorDescriptor, value: proxy });
    restorers.push(() => {
      Object.defineProperty(globalThis, name, globalDescriptor);
      Object.defineProperty(target.prototype, "constructor", constructorDescriptor);
    });
  };

  const isBuffer = (x: unknown) =>
    x instanceof RawArrayBuffer || (typeof SharedArrayBuffer === "function" && x instanceof SharedArrayBuffer);
  for (const name of TYPED_ARRAY_NAMES) {
    install(name, (args, t) => {
      const [first] = args;
      const itemsize = t.BYTES_PER_ELEMENT ?? 1;
      if (first === undefined) return 0;
      if (typeof first === "number") return first * itemsize;
      if (isBuffer(first)) return null; // a view: no allocation
      const length = (first as { length?: unknown }).length;
      return typeof length === "number" ? length * itemsize : 0;
    });
  }
  install("ArrayBuffer", (args) => (typeof args[0] === "number" ? args[0] : 0));

  return {
    get largest() {
      return largest;
    },
    get big() {
      return big;
    },
    reset() {
      largest = null;
      big = [];
    },
    restore() {
      for (const restore of restorers.splice(0).reverse()) restore();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Valid streams
// ---------------------------------------------------------------------------------------------

/** What one stream carries. */
export interface StreamSpec {
  streamId: number;
  dtype: Dtype;
  shape: number[];
  /** Bytes of the whole array: product(shape) * itemsize of them. */
  source: Uint8Array;
  /** Element range [start, end) of the flattened array; null for the whole array. */
  range: { elementStart: number; elementEnd: number } | null;
  /** Payload bytes per DATA (the last one may be shorter); >= 1. */
  chunkByteLength: number;
  checksum: ChecksumAlgorithm;
  name: string;
  meta: JsonObject | null;
  generation: number;
}

export interface EncodedStream {
  header: Uint8Array;
  /** Each chunk's DATA message and payload, in order. Payloads are views of `source`. */
  chunks: { data: Uint8Array; payload: Uint8Array; byteOffset: number }[];
  end: Uint8Array;
  /** Bytes of the range: what the receiver must end up holding. */
  expected: Uint8Array;
  /** header, DATA, payload, DATA, payload, ..., END. */
  messages: Uint8Array[];
  rangeByteStart: number;
  rangeByteEnd: number;
}

/** The shared checksum implementations (what the reference server sends). */
export function checksumOf(algorithm: ChecksumAlgorithm, bytes: Uint8Array): number {
  return algorithm === "crc32c" ? crc32c(bytes) : algorithm === "xxh32" ? xxh32(bytes) : 0;
}

/** The messages of one complete, valid stream, as the reference server would send them. */
export function encodeStream(spec: StreamSpec, checksum = checksumOf): EncodedStream {
  const itemsize = DTYPE_BYTES_PER_ELEMENT[spec.dtype];
  const totalByteLength = spec.source.byteLength;
  const rangeByteStart = spec.range ? spec.range.elementStart * itemsize : 0;
  const rangeByteEnd = spec.range ? spec.range.elementEnd * itemsize : totalByteLength;
  const expected = spec.source.subarray(rangeByteStart, rangeByteEnd);
  const header = encodeArrayHeader({
    streamId: spec.streamId,
    dtype: spec.dtype,
    shape: spec.shape,
    totalByteLength,
    rangeByteStart,
    rangeByteEnd,
    firstByteOffset: rangeByteStart,
    generation: spec.generation,
    checksumAlgorithm: spec.checksum,
    name: spec.name,
    meta: spec.meta,
  });
  const chunks: EncodedStream["chunks"] = [];
  for (let offset = rangeByteStart; offset < rangeByteEnd; offset += spec.chunkByteLength) {
    const payload = spec.source.subarray(offset, Math.min(offset + spec.chunkByteLength, rangeByteEnd));
    chunks.push({ data: encodeData(spec.streamId, offset, payload.byteLength), payload, byteOffset: offset });
  }
  const end = encodeEnd({
    streamId: spec.streamId,
    byteLength: rangeByteEnd - rangeByteStart,
    checksumAlgorithm: spec.checksum,
    checksum: checksum(spec.checksum, expected),
  });
  const messages = [header, ...chunks.flatMap((c) => [c.data, c.payload]), end];
  return { header, chunks, end, expected, messages, rangeByteStart, rangeByteEnd };
}

/** Fills `bytes` with reproducible pseudo-random bytes (xorshift32) from `seed`. */
export function fillPseudoRandom(bytes: Uint8Array, seed: number): Uint8Array {
  let x = seed >>> 0 || 0x9e3779b9;
  const words = Math.floor(bytes.byteLength / 4);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < words; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    view.setUint32(i * 4, x >>> 0, true);
  }
  for (let i = words * 4; i < bytes.byteLength; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    bytes[i] = x & 0xff;
  }
  return bytes;
}

/** True when two byte views hold the same bytes. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  return Buffer.compare(a, b) === 0;
}

/** A byte view over a typed array's own window. */
export function bytesOf(array: ArrayBufferView): Uint8Array {
  return new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
}
