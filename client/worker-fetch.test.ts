/**
 * fetchArrayInWorker and serveArrayFetches talking over a MessageChannel in Node: the same
 * messages, transfers and structured clones as a page and its dedicated worker (a transferred
 * ArrayBuffer is detached on the sending side), without a second thread. The real Worker in
 * Chromium (module loading, abort by terminate, a SAB in an isolated page) runs in
 * e2e/worker.spec.ts.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { ArrayServer } from "../server/index.ts";
import { ProtocolError, StreamError } from "../shared/index.ts";
import { fetchArray, fetchArrayInWorker, type WorkerArrayChunk } from "./index.ts";
import type { WorkerLike } from "./worker-fetch.ts";
import { serveArrayFetches } from "./worker-host.ts";
import { receivedError, sendableError } from "./worker-protocol.ts";

const MiB = 1024 * 1024;
const LENGTH = 700_001;
const SOURCE = Float64Array.from({ length: LENGTH }, (_, i) => i + 1);
const MIDDLE: [number, number] = [100_003, 600_001];

let server: ArrayServer;
let url = "";

beforeAll(async () => {
  server = new ArrayServer({ port: 0, chunkByteLength: MiB, log: () => {} });
  const { port } = await server.listen();
  url = `ws://127.0.0.1:${port}/arraywire`;
  server.publish("a", SOURCE);
});

afterAll(async () => {
  await server.close();
});

interface FakeWorker {
  worker: WorkerLike & { terminated: boolean };
  /** Every buffer the "worker" side transferred to the page. */
  transferred: ArrayBuffer[];
  /** Every arraywire message the "worker" side received. */
  received: { type: string }[];
}

/** A page/worker pair over a MessageChannel; `serve` false leaves the worker side silent. */
function fakeWorker(serve = true): FakeWorker {
  const { port1, port2 } = new MessageChannel();
  const transferred: ArrayBuffer[] = [];
  const received: { type: string }[] = [];
  const scope = {
    postMessage(message: unknown, transfer?: Transferable[]) {
      for (const t of transfer ?? []) if (t instanceof ArrayBuffer) transferred.push(t);
      port2.postMessage(message, transfer ?? []);
    },
    addEventListener(type: "message", listener: (event: MessageEvent) => void) {
      port2.addEventListener(type, listener as (event: Event) => void);
    },
  };
  port2.addEventListener("message", (event) => received.push((event as MessageEvent).data));
  if (serve) serveArrayFetches(scope);
  else port2.start();
  const worker = {
    terminated: false,
    postMessage: (message: unknown, transfer?: Transferable[]) => port1.postMessage(message, transfer ?? []),
    addEventListener: (type: string, listener: (event: Event) => void) => port1.addEventListener(type, listener),
    removeEventListener: (type: string, listener: (event: Event) => void) => port1.removeEventListener(type, listener),
    terminate() {
      worker.terminated = true;
      port1.close();
    },
  };
  return { worker, transferred, received };
}

function expectSource(array: Float64Array, start = 0): void {
  let wrong = 0;
  for (let i = 0; i < array.length; i++) if (array[i] !== start + i + 1) wrong++;
  expect(wrong).toBe(0);
}

describe("fetchArrayInWorker", () => {
  for (const transport of ["ws", "http"] as const) {
    it(`hands over the very buffer the worker filled: transferred, detached on the worker's side (${transport})`, async () => {
      const { worker, transferred } = fakeWorker();
      const result = await fetchArrayInWorker<Float64Array>(url, "a", { transport, worker });
      expect(result.array.length).toBe(LENGTH);
      expectSource(result.array);
      expect(result).toMatchObject({ dtype: "float64", shape: [LENGTH], range: [0, LENGTH], name: "a" });
      expect(transferred).toHaveLength(1);
      expect(transferred[0]?.byteLength).toBe(0); // detached: moved, not copied
      expect(result.array.buffer.byteLength).toBe(LENGTH * 8);
      expect(worker.terminated).toBe(false); // the caller's worker is reused, never terminated
    });

    it(`calls onProgress here, in order, up to the total (${transport})`, async () => {
      const { worker } = fakeWorker();
      const seen: number[] = [];
      await fetchArrayInWorker(url, "a", {
        transport,
        worker,
        chunkByteLength: MiB,
        progressIntervalMs: 0,
        onProgress: (p) => seen.push(p.receivedByteLength),
      });
      expect(seen.length).toBeGreaterThan(2);
      expect(seen.every((b, i) => i === 0 || b >= (seen[i - 1] as number))).toBe(true);
      expect(seen.at(-1)).toBe(LENGTH * 8);
    });

    it(`reports chunks as copies tiling a range in the middle when the target is not shared (${transport})`, async () => {
      const { worker } = fakeWorker();
      const chunks: WorkerArrayChunk<Float64Array>[] = [];
      const result = await fetchArrayInWorker<Float64Array>(url, "a", {
        transport,
        worker,
        chunkByteLength: MiB,
        range: MIDDLE,
        onChunk: (c) => chunks.push(c),
      });
      expect(chunks.length).toBeGreaterThan(1);
      let next = 0;
      for (const c of chunks) {
        expect(c.array).toBeNull();
        expect(c.elementStart).toBe(next);
        expect(c.values.length).toBe(c.elementEnd - c.elementStart);
        expect(c.byteEnd - c.byteStart).toBe(c.values.byteLength);
        expect(c.values.buffer).not.toBe(result.array.buffer);
        expectSource(c.values, MIDDLE[0] + c.elementStart);
        next = c.elementEnd;
      }
      expect(next).toBe(MIDDLE[1] - MIDDLE[0]);
    });

    it(`shares a shared: true target: each report reads final elements of the array the fetch resolves with (${transport})`, async () => {
      const { worker, transferred } = fakeWorker();
      const arrays = new Set<unknown>();
      let next = 0;
      let wrong = 0;
      const result = await fetchArrayInWorker<Float64Array>(url, "a", {
        transport,
        worker,
        chunkByteLength: MiB,
        shared: true,
        onChunk: (c) => {
          arrays.add(c.array);
          if (c.elementStart !== next) wrong++;
          next = c.elementEnd;
          for (let i = c.elementStart; i < c.elementEnd; i++) if (c.array?.[i] !== i + 1) wrong++;
        },
      });
      expect(wrong).toBe(0);
      expect(next).toBe(LENGTH);
      expect(result.array.buffer).toBeInstanceOf(SharedArrayBuffer);
      expect([...arrays]).toEqual([result.array]);
      expect(arrays.has(result.array)).toBe(true);
      expect(transferred).toEqual([]); // shared, never transferred
    });

    it(`fills an \`into\` over a SharedArrayBuffer in place and resolves with it (${transport})`, async () => {
      const { worker } = fakeWorker();
      const into = new Float64Array(new SharedArrayBuffer(LENGTH * 8));
      const result = await fetchArrayInWorker<Float64Array>(url, "a", { transport, worker, into });
      expect(result.array).toBe(into);
      expectSource(into);
    });
  }

  it("moves an `into` over an ArrayBuffer to the worker and back: the caller's view is detached, the result holds the data", async () => {
    const { worker } = fakeWorker();
    const into = new Float64Array(LENGTH + 3).fill(-1);
    const result = await fetchArrayInWorker<Float64Array>(url, "a", { worker, into });
    expect(into.byteLength).toBe(0);
    expect(result.array.length).toBe(LENGTH);
    expect(result.array.buffer.byteLength).toBe((LENGTH + 3) * 8);
    expectSource(result.array);
  });

  it("rejects with the same StreamError class, code and message as fetchArray (E_UNKNOWN_NAME, E_BAD_RANGE)", async () => {
    for (const [name, options] of [
      ["missing", {}],
      ["a", { range: [0, LENGTH + 1] as [number, number] }],
    ] as const) {
      const direct = (await fetchArray(url, name, options).catch((e: unknown) => e)) as StreamError;
      const { worker } = fakeWorker();
      const viaWorker = (await fetchArrayInWorker(url, name, { ...options, worker }).catch(
        (e: unknown) => e,
      )) as StreamError;
      expect(viaWorker).toBeInstanceOf(StreamError);
      expect(viaWorker.code).toBe(direct.code);
      expect(viaWorker.message).toBe(direct.message);
      expect(viaWorker.name).toBe("StreamError");
    }
  });

  it("checks `dtype` in the worker as fetchArray does: the typed result, or E_DTYPE_MISMATCH", async () => {
    const { worker } = fakeWorker();
    const typed = await fetchArrayInWorker(url, "a", { worker, dtype: "float64", range: MIDDLE });
    const narrowed: Float64Array = typed.array; // the overload narrows, as fetchArray's does
    expect(narrowed).toBeInstanceOf(Float64Array);
    expect(narrowed.length).toBe(MIDDLE[1] - MIDDLE[0]);
    expectSource(narrowed, MIDDLE[0]);
    const direct = (await fetchArray(url, "a", { dtype: "int32" }).catch((e: unknown) => e)) as StreamError;
    const viaWorker = (await fetchArrayInWorker(url, "a", { worker, dtype: "int32" }).catch(
      (e: unknown) => e,
    )) as StreamError;
    expect(viaWorker).toBeInstanceOf(StreamError);
    expect(viaWorker.code).toBe("E_DTYPE_MISMATCH");
    expect(viaWorker.message).toBe(direct.message);
  });

  it("refuses bad options before any message, with fetchArray's errors", async () => {
    const { worker, received } = fakeWorker();
    await expect(fetchArrayInWorker(url, "a", { worker, range: [1.5, 3] })).rejects.toThrow(RangeError);
    await expect(fetchArrayInWorker(url, "a", { worker, onChunk: 5 as never })).rejects.toThrow(
      new TypeError("Invalid onChunk: expected a function, got 5"),
    );
    await expect(fetchArrayInWorker(url, "a", { worker, WebSocket: class {} } as never)).rejects.toThrow(
      new TypeError("Invalid WebSocket: fetchArrayInWorker cannot send a constructor to a worker"),
    );
    await expect(fetchArrayInWorker("/relative", "a", { worker })).rejects.toThrow(TypeError);
    await new Promise((r) => setTimeout(r, 20));
    expect(received).toEqual([]);
  });

  it("aborts mid-stream: rejects with the signal's reason and stops the worker's fetch", async () => {
    const { worker, received } = fakeWorker();
    const controller = new AbortController();
    const reason = new Error("stop");
    const err = await fetchArrayInWorker(url, "a", {
      worker,
      chunkByteLength: 64 * 1024,
      progressIntervalMs: 0,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.receivedByteLength > 0) controller.abort(reason);
      },
    }).catch((e: unknown) => e);
    expect(err).toBe(reason);
    await new Promise((r) => setTimeout(r, 50));
    expect(received.map((m) => m.type)).toEqual(["arraywire:fetch", "arraywire:abort"]);
    expect(server.stats().streamCount).toBe(0);
  });

  it("rejects with the error a caller's onProgress throws and stops the worker's fetch", async () => {
    const { worker, received } = fakeWorker();
    const mine = new Error("mine");
    const err = await fetchArrayInWorker(url, "a", {
      worker,
      onProgress: () => {
        throw mine;
      },
    }).catch((e: unknown) => e);
    expect(err).toBe(mine);
    await new Promise((r) => setTimeout(r, 20));
    expect(received.map((m) => m.type)).toContain("arraywire:abort");
  });

  it("rejects with E_TIMEOUT when the worker never answers (it does not run arraywire)", async () => {
    const { worker } = fakeWorker(false);
    const started = performance.now();
    const err = (await fetchArrayInWorker(url, "a", { worker, idleTimeoutMs: 150 }).catch(
      (e: unknown) => e,
    )) as StreamError;
    expect(err).toBeInstanceOf(StreamError);
    expect(err.code).toBe("E_TIMEOUT");
    expect(err.message).toContain("does it run arraywire/client/worker?");
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
  });

  it("ignores other messages on the same worker, and serves two fetches at once on it", async () => {
    const { worker } = fakeWorker();
    worker.postMessage({ type: "app:hello" });
    worker.postMessage("text");
    const [a, b] = await Promise.all([
      fetchArrayInWorker<Float64Array>(url, "a", { worker, range: [0, 10] }),
      fetchArrayInWorker<Float64Array>(url, "a", { worker, range: MIDDLE }),
    ]);
    expectSource(a.array);
    expectSource(b.array, MIDDLE[0]);
  });
});

describe("the default worker", () => {
  /** A global Worker whose instances serve over a MessageChannel; `broken` ones fail to start. */
  function stubWorker(broken = false) {
    const started: { url: string; terminated: boolean }[] = [];
    class StubWorker extends EventTarget {
      readonly #port: MessagePort;
      readonly record: { url: string; terminated: boolean };
      constructor(url: URL, options: { type?: string }) {
        super();
        expect(options.type).toBe("module");
        this.record = { url: String(url), terminated: false };
        started.push(this.record);
        const { port1, port2 } = new MessageChannel();
        this.#port = port1;
        port1.addEventListener("message", (e) => this.dispatchEvent(new MessageEvent("message", { data: e.data })));
        port1.start();
        if (broken) setTimeout(() => this.dispatchEvent(new Event("error")), 5);
        else
          serveArrayFetches({
            postMessage: (m, t) => port2.postMessage(m, t ?? []),
            addEventListener: (type, l) => port2.addEventListener(type, l as (e: Event) => void),
          });
      }
      postMessage(message: unknown, transfer?: Transferable[]) {
        this.#port.postMessage(message, transfer ?? []);
      }
      terminate() {
        this.record.terminated = true;
        this.#port.close();
      }
    }
    const original = (globalThis as { Worker?: unknown }).Worker;
    (globalThis as { Worker?: unknown }).Worker = StubWorker;
    return { started, restore: () => ((globalThis as { Worker?: unknown }).Worker = original) };
  }

  it("is started from the library's own module once, shared by calls, and ended after 10 s idle", async () => {
    const stub = stubWorker();
    // The 10 s idle timers, run by hand: id -> callback, removed when cleared.
    const idle = new Map<number, () => void>();
    let nextTimer = 1e9;
    const realSetTimeout = globalThis.setTimeout;
    const realClearTimeout = globalThis.clearTimeout;
    const set = vi.spyOn(globalThis, "setTimeout").mockImplementation(((fn: () => void, ms?: number) => {
      if (ms !== 10_000) return realSetTimeout(fn, ms);
      idle.set(++nextTimer, fn);
      return nextTimer as unknown as ReturnType<typeof setTimeout>;
    }) as typeof setTimeout);
    const clear = vi.spyOn(globalThis, "clearTimeout").mockImplementation(((id?: ReturnType<typeof setTimeout>) => {
      if (!idle.delete(id as unknown as number)) realClearTimeout(id);
    }) as typeof clearTimeout);
    try {
      const [a, b] = await Promise.all([
        fetchArrayInWorker<Float64Array>(url, "a", { range: [0, 10] }),
        fetchArrayInWorker<Float64Array>(url, "a", { range: MIDDLE }),
      ]);
      expectSource(a.array);
      expectSource(b.array, MIDDLE[0]);
      expect(idle.size).toBe(1); // armed when the last of the two ended
      await fetchArrayInWorker(url, "a", { range: [5, 6] });
      expect(stub.started).toHaveLength(1);
      expect(stub.started[0]?.url).toMatch(/\/worker\.js$/);
      expect(stub.started[0]?.terminated).toBe(false);
      expect(idle.size).toBe(1); // the new fetch cleared the first timer, its end armed another
      for (const fn of idle.values()) fn();
      idle.clear();
      expect(stub.started[0]?.terminated).toBe(true);
      await fetchArrayInWorker(url, "a", { range: [0, 1] });
      expect(stub.started).toHaveLength(2); // a new one after the idle end
      expect(stub.started[1]?.terminated).toBe(false);
    } finally {
      for (const fn of idle.values()) fn(); // end the second worker too
      set.mockRestore();
      clear.mockRestore();
      stub.restore();
    }
  });

  it("rejects when it fails to start, ends it, and starts a new one for the next call", async () => {
    const stub = stubWorker(true);
    try {
      await expect(fetchArrayInWorker(url, "a")).rejects.toThrow(
        "fetchArrayInWorker: the worker failed before answering (error)",
      );
      expect(stub.started[0]?.terminated).toBe(true);
      await expect(fetchArrayInWorker(url, "a")).rejects.toThrow(Error);
      expect(stub.started).toHaveLength(2);
    } finally {
      stub.restore();
    }
  });
});

describe("serveArrayFetches", () => {
  it("refuses a window (its messages may come from any frame)", () => {
    const windowLike = { document: {}, postMessage() {}, addEventListener() {} };
    expect(() => serveArrayFetches(windowLike)).toThrow(
      new TypeError("serveArrayFetches: expected a dedicated worker's global scope, got a window or another object"),
    );
  });
});

describe("errors across the boundary", () => {
  const clone = <T>(value: T): T => structuredClone(value);

  it("keeps StreamError's class, code, message, stream id and a ProtocolError cause", () => {
    const cause = new ProtocolError("E_BAD_MAGIC", "Invalid magic");
    const back = receivedError(clone(sendableError(new StreamError("E_PROTOCOL", "bad bytes", 7, { cause }))));
    expect(back).toBeInstanceOf(StreamError);
    expect(back).toMatchObject({ code: "E_PROTOCOL", message: "bad bytes", streamId: 7, name: "StreamError" });
    expect(back.cause).toBeInstanceOf(ProtocolError);
    expect(back.cause).toMatchObject({ code: "E_BAD_MAGIC", message: "Invalid magic" });
  });

  it("keeps TypeError, RangeError, an AbortError DOMException and a plain error's name", () => {
    expect(receivedError(clone(sendableError(new TypeError("t"))))).toBeInstanceOf(TypeError);
    expect(receivedError(clone(sendableError(new RangeError("r"))))).toBeInstanceOf(RangeError);
    const abort = receivedError(clone(sendableError(new DOMException("gone", "AbortError"))));
    expect(abort).toBeInstanceOf(DOMException);
    expect(abort.name).toBe("AbortError");
    const custom = new Error("x");
    custom.name = "CustomError";
    expect(receivedError(clone(sendableError(custom)))).toMatchObject({ name: "CustomError", message: "x" });
    expect(receivedError(clone(sendableError("just a string")))).toMatchObject({ message: "just a string" });
  });

  it("keeps at most 4 causes deep", () => {
    let error: Error = new Error("0");
    for (let i = 1; i <= 6; i++) error = new Error(String(i), { cause: error });
    let back: unknown = receivedError(clone(sendableError(error)));
    let depth = 0;
    while (back instanceof Error && back.cause !== undefined) {
      back = back.cause;
      depth++;
    }
    expect(depth).toBe(4);
  });
});
