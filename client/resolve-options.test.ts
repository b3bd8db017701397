import { createServer, type Server } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ArrayClient, type FetchArrayOptions, fetchArray } from "./index.ts";
import type { ConnectSettings } from "./options.ts";
import { resolveConnectOptions, resolveEndpoint, resolveTransport } from "./resolve-options.ts";

/** A TCP server that only counts connections: any I/O a bad call started would show here. */
let tcp: Server;
let connections = 0;
let url = "";

beforeAll(async () => {
  tcp = createServer((socket) => {
    connections++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => tcp.listen(0, "127.0.0.1", resolve));
  url = `ws://127.0.0.1:${(tcp.address() as { port: number }).port}/arraywire`;
});

afterAll(() => new Promise<void>((resolve) => tcp.close(() => resolve())));

/** Caller bugs: the options, the error class and its message. */
const BAD: [string, FetchArrayOptions, ErrorConstructor, string][] = [
  [
    "a fractional range",
    { range: [1.5, 3] },
    RangeError,
    "Invalid element range: expected non-negative safe integers, got [1.5, 3)",
  ],
  [
    "a negative range",
    { range: [-1, 3] },
    RangeError,
    "Invalid element range: expected non-negative safe integers, got [-1, 3)",
  ],
  ["start > end", { range: [5, 3] }, RangeError, "Invalid element range: expected start <= end, got [5, 3)"],
  [
    "a range of strings",
    { range: ["1", "3"] as unknown as [number, number] },
    RangeError,
    "Invalid element range: expected non-negative safe integers, got [1, 3)",
  ],
  [
    "a range of three",
    { range: [1, 2, 3] as unknown as [number, number] },
    TypeError,
    "Invalid range: expected [start, end], got an array",
  ],
  ["into: a plain array", { into: [1, 2] as never }, TypeError, "Invalid into: expected a typed array, got an array"],
  [
    "into: a DataView",
    { into: new DataView(new ArrayBuffer(8)) as never },
    TypeError,
    "Expected a typed array, got DataView",
  ],
  [
    "into: an ArrayBuffer",
    { into: new ArrayBuffer(8) as never },
    TypeError,
    "Invalid into: expected a typed array, got an object (ArrayBuffer)",
  ],
  [
    "chunkByteLength 0",
    { chunkByteLength: 0 },
    RangeError,
    "Invalid chunkByteLength: expected an integer in 1..4294967295, got 0",
  ],
  [
    "chunkByteLength 1.5",
    { chunkByteLength: 1.5 },
    RangeError,
    "Invalid chunkByteLength: expected an integer in 1..4294967295, got 1.5",
  ],
  [
    "chunkByteLength as a string",
    { chunkByteLength: "1" as never },
    TypeError,
    'Invalid chunkByteLength: expected a number, got "1"',
  ],
  [
    "creditByteLength below chunkByteLength",
    { chunkByteLength: 1024, creditByteLength: 1023 },
    RangeError,
    "Invalid creditByteLength: expected 0 or >= chunkByteLength (1024), got 1023",
  ],
  [
    "creditByteLength -1",
    { creditByteLength: -1 },
    RangeError,
    "Invalid creditByteLength: expected an integer in 0..9007199254740991, got -1",
  ],
  [
    "idleTimeoutMs -1",
    { idleTimeoutMs: -1 },
    RangeError,
    "Invalid idleTimeoutMs: expected an integer in 0..2147483647, got -1",
  ],
  [
    "idleTimeoutMs 2^31",
    { idleTimeoutMs: 2 ** 31 },
    RangeError,
    "Invalid idleTimeoutMs: expected an integer in 0..2147483647, got 2147483648",
  ],
  [
    "idleTimeoutMs NaN",
    { idleTimeoutMs: Number.NaN },
    RangeError,
    "Invalid idleTimeoutMs: expected an integer in 0..2147483647, got NaN",
  ],
  ["maxBytes -1", { maxBytes: -1 }, RangeError, "Invalid maxBytes: expected an integer in 0..9007199254740991, got -1"],
  [
    "verify: a typo",
    { verify: "xxh64" as never },
    TypeError,
    'Invalid verify: expected a boolean or one of none, crc32c, xxh32, got "xxh64"',
  ],
  ["params: an array", { params: [1] as never }, TypeError, "Invalid params: expected a JSON object, got an array"],
  ["params with a BigInt", { params: { n: 1n } as never }, TypeError, "Do not know how to serialize a BigInt"],
  [
    "onProgress: not a function",
    { onProgress: 1 as never },
    TypeError,
    "Invalid onProgress: expected a function, got 1",
  ],
  [
    "signal: not a signal",
    { signal: {} as never },
    TypeError,
    "Invalid signal: expected an AbortSignal, got an object (Object)",
  ],
  [
    "resumeFrom past its array",
    { resumeFrom: { array: new Float64Array(2), receivedByteLength: 17, generation: 1 } },
    RangeError,
    "Invalid resumeFrom.receivedByteLength: expected an integer in 0..16, got 17",
  ],
  [
    "maxControlByteLength 0",
    { maxControlByteLength: 0 },
    RangeError,
    "Invalid maxControlByteLength: expected an integer in 1..2147483647, got 0",
  ],
  [
    "protocols that are not tokens",
    { protocols: ["a b"] },
    TypeError,
    "Invalid protocols: expected tokens (RFC 6455), got an array",
  ],
  [
    "headers that are not strings",
    { headers: { a: 1 } as never },
    TypeError,
    "Invalid headers: expected an object of strings, got an object (Object)",
  ],
  [
    "onWarning: not a function",
    { onWarning: "x" as never },
    TypeError,
    'Invalid onWarning: expected a function, got "x"',
  ],
];

/** Bugs only fetchArray can make (transport and resume), with the transport they are tried on. */
const BAD_FETCH_ARRAY: [string, FetchArrayOptions, ErrorConstructor, string][] = [
  [
    "transport: tcp",
    { transport: "tcp" as never },
    TypeError,
    'Invalid transport: expected "auto", "ws" or "http", got "tcp"',
  ],
  [
    "protocols with transport http",
    { transport: "http", protocols: ["arraywire.token.x"] },
    TypeError,
    'Invalid options: protocols needs the "ws" transport, got transport "http"',
  ],
  [
    "WebSocket with transport http",
    { transport: "http", WebSocket: class {} as never },
    TypeError,
    'Invalid options: WebSocket needs the "ws" transport, got transport "http"',
  ],
  [
    "resume: a number",
    { resume: 3 as never },
    TypeError,
    "Invalid resume: expected a boolean or { attempts, initialDelayMs, maxDelayMs }, got 3",
  ],
  [
    "resume.attempts -1",
    { resume: { attempts: -1 } },
    RangeError,
    "Invalid resume.attempts: expected an integer in 0..1000, got -1",
  ],
];

describe("caller bugs are refused before any I/O, with the same error on both transports", () => {
  for (const transport of ["ws", "http"] as const) {
    it.each(BAD)(`fetchArray over ${transport} rejects %s`, async (_what, options, ErrorClass, message) => {
      const before = connections;
      const err = await fetchArray(url, "a", { ...options, transport }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ErrorClass);
      expect((err as Error).message).toBe(message);
      await new Promise((r) => setTimeout(r, 20));
      expect(connections).toBe(before);
    });
  }

  it.each(BAD_FETCH_ARRAY)("fetchArray rejects %s", async (_what, options, ErrorClass, message) => {
    const before = connections;
    const err = await fetchArray(url, "a", options).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ErrorClass);
    expect((err as Error).message).toBe(message);
    await new Promise((r) => setTimeout(r, 20));
    expect(connections).toBe(before);
  });

  it.each([
    ["an empty name", "", RangeError, "Invalid name: expected 1..1024 UTF-8 bytes, got 0"],
    ["a name over 1,024 bytes", "é".repeat(513), RangeError, "Invalid name: expected 1..1024 UTF-8 bytes, got 1026"],
    ["a name that is not a string", 7, TypeError, "Invalid name: expected a string, got number"],
  ])("fetchArray rejects %s on both transports", async (_what, name, ErrorClass, message) => {
    for (const transport of ["ws", "http"] as const) {
      const err = await fetchArray(url, name as string, { transport }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ErrorClass);
      expect((err as Error).message).toBe(message);
    }
  });

  it("ArrayClient.fetch throws the same errors synchronously, sending nothing", async () => {
    const sent: Uint8Array[] = [];
    class Quiet {
      binaryType = "";
      readyState = 1;
      readonly #listeners = new Map<string, (e: object) => void>();
      addEventListener(type: string, listener: (e: object) => void) {
        this.#listeners.set(type, listener);
        if (type === "open") setImmediate(() => listener({}));
      }
      send(data: Uint8Array) {
        sent.push(data);
      }
      close() {}
    }
    const client = await ArrayClient.connect(url, { WebSocket: Quiet as never });
    for (const [what, options, ErrorClass, message] of BAD) {
      if (
        "maxControlByteLength" in options ||
        "protocols" in options ||
        "headers" in options ||
        "onWarning" in options
      ) {
        continue; // connection options: ArrayClient.connect's, tested below
      }
      expect(() => client.fetch("a", options), what).toThrow(new ErrorClass(message));
    }
    expect(sent).toEqual([]);
    client.close();
  });

  it("ArrayClient.connect rejects bad connection options before connecting", async () => {
    const before = connections;
    for (const [, options, ErrorClass, message] of BAD) {
      if (
        !("maxControlByteLength" in options || "protocols" in options || "headers" in options || "onWarning" in options)
      ) {
        continue;
      }
      const err = await ArrayClient.connect(url, options).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ErrorClass);
      expect((err as Error).message).toBe(message);
    }
    await expect(ArrayClient.connect("ftp://127.0.0.1/x")).rejects.toBeInstanceOf(TypeError);
    expect(connections).toBe(before);
  });

  it("rejects a URL that is not ws, wss, http or https", async () => {
    await expect(fetchArray("ftp://127.0.0.1/x", "a")).rejects.toThrow(
      new TypeError('Invalid url: expected ws:, wss:, http: or https:, got "ftp:"'),
    );
    await expect(fetchArray("not a url", "a")).rejects.toBeInstanceOf(TypeError);
  });
});

describe("resolveTransport: options one transport cannot honour", () => {
  const settings = (extra: Partial<ConnectSettings> = {}): ConnectSettings => ({
    ...resolveConnectOptions({}, "arraywire"),
    ...extra,
  });
  const browserWs = { canSendHeaders: false };
  const nodeWs = { canSendHeaders: true };

  it("auto picks ws for protocols, even where the default is http (browsers)", () => {
    expect(
      resolveTransport("auto", settings({ protocols: ["arraywire", "arraywire.token.t"] }), browserWs, "http"),
    ).toBe("ws");
    expect(resolveTransport(undefined, settings({ protocols: ["arraywire"] }), browserWs, "http")).toBe("ws");
    expect(resolveTransport(undefined, settings({ WebSocket: class {} as never }), browserWs, "http")).toBe("ws");
  });

  it("auto keeps the default when no option needs a transport", () => {
    expect(resolveTransport(undefined, settings(), browserWs, "http")).toBe("http");
    expect(resolveTransport("auto", settings(), nodeWs, "ws")).toBe("ws");
  });

  it("auto picks http for headers where the WebSocket cannot send them, and keeps ws where it can", () => {
    expect(resolveTransport(undefined, settings({ headers: { a: "b" } }), browserWs, "ws")).toBe("http");
    expect(resolveTransport(undefined, settings({ headers: { a: "b" } }), nodeWs, "ws")).toBe("ws");
  });

  it("throws a TypeError for options no transport can honour together, or for the other transport", () => {
    expect(() =>
      resolveTransport(undefined, settings({ headers: {}, protocols: ["arraywire"] }), browserWs, "http"),
    ).toThrow(TypeError);
    expect(() => resolveTransport("ws", settings({ headers: { a: "b" } }), browserWs, "http")).toThrow(
      new TypeError(
        'Invalid options: this WebSocket cannot send headers (browsers never can); use transport "http", a cookie, or protocols',
      ),
    );
    expect(resolveTransport("ws", settings({ headers: { a: "b" } }), nodeWs, "http")).toBe("ws");
    expect(() => resolveTransport("http", settings({ protocols: ["arraywire"] }), nodeWs, "ws")).toThrow(TypeError);
  });
});

describe("resolveEndpoint", () => {
  it("takes absolute ws, wss, http and https URLs", () => {
    expect(String(resolveEndpoint("ws://h:1/a"))).toBe("ws://h:1/a");
    expect(String(resolveEndpoint(new URL("https://h/a")))).toBe("https://h/a");
    expect(() => resolveEndpoint("ftp://h/a")).toThrow(TypeError);
  });

  it("resolves a relative URL against the page's location, and says a page is needed without one", () => {
    expect(() => resolveEndpoint("/arraywire")).toThrow(
      new TypeError(
        'Invalid url: expected an absolute ws:, wss:, http: or https: URL (a relative one needs a page to resolve against), got "/arraywire"',
      ),
    );
    const g = globalThis as { location?: unknown };
    g.location = { href: "http://localhost:5173/app/index.html" };
    try {
      expect(String(resolveEndpoint("/arraywire"))).toBe("http://localhost:5173/arraywire");
      expect(String(resolveEndpoint("arraywire"))).toBe("http://localhost:5173/app/arraywire");
    } finally {
      delete g.location;
    }
  });
});
