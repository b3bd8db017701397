/**
 * Aborting while a WebSocket connects (in the same tick as the call, while `ws` is first
 * imported, or during the handshake) rejects with the signal's reason and never crashes Node with
 * ws's "closed before the connection was established" 'error' (Vitest fails on an uncaught one).
 * This file imports nothing that loads `ws`, so the first test aborts during its first import.
 */
import { createServer, type Server, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { ArrayClient, fetchArray } from "./index.ts";

/** A TCP server that accepts and never answers: a handshake that stays pending. */
let tcp: Server;
let url = "";
const open = new Set<Socket>();
let accepted = 0;

beforeAll(async () => {
  tcp = createServer((socket) => {
    accepted++;
    open.add(socket);
    socket.resume(); // read, so that the client's FIN ends (and closes) the socket
    socket.on("error", () => {});
    socket.on("close", () => open.delete(socket));
  });
  await new Promise<void>((r) => tcp.listen(0, "127.0.0.1", () => r()));
  url = `ws://127.0.0.1:${(tcp.address() as { port: number }).port}/arraywire`;
});

afterAll(async () => {
  for (const socket of open) socket.destroy();
  await new Promise<void>((r) => tcp.close(() => r()));
});

/** Lets pending I/O callbacks (and any 'error' event ws would emit) run. */
const settle = () => new Promise((r) => setTimeout(r, 50));

describe("aborting while connecting", () => {
  it("ArrayClient.connect aborted in the same tick, during the first import of ws: rejects with the reason", async () => {
    const controller = new AbortController();
    const reason = new Error("changed my mind");
    const pending = ArrayClient.connect(url, { signal: controller.signal });
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
    await settle();
    expect(accepted).toBe(0); // aborted before any socket was made
  });

  it("fetchArray over ws aborted in the same tick: rejects with the reason, no socket left", async () => {
    for (let i = 0; i < 20; i++) {
      const controller = new AbortController();
      const pending = fetchArray(url, "a", { transport: "ws", signal: controller.signal });
      controller.abort();
      await expect(pending).rejects.toMatchObject({ name: "AbortError" });
    }
    await settle();
    await vi.waitFor(() => expect(open.size).toBe(0));
  });

  it("fetchArray over ws aborted during the handshake: rejects with the reason and closes the socket", async () => {
    const before = accepted;
    const controller = new AbortController();
    const reason = new Error("too slow");
    const pending = fetchArray(url, "a", { transport: "ws", signal: controller.signal });
    await vi.waitFor(() => expect(accepted).toBe(before + 1));
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
    await vi.waitFor(() => expect(open.size).toBe(0));
  });

  it("ArrayClient.connect aborted after a microtask or a macrotask: rejects, never crashes", async () => {
    for (const delay of [() => Promise.resolve(), () => new Promise((r) => setImmediate(r)), () => settle()]) {
      const controller = new AbortController();
      const pending = ArrayClient.connect(url, { signal: controller.signal });
      await delay();
      controller.abort();
      await expect(pending).rejects.toMatchObject({ name: "AbortError" });
    }
    await settle();
    await vi.waitFor(() => expect(open.size).toBe(0));
  });

  it("an already aborted signal rejects before connecting", async () => {
    await settle();
    const before = accepted;
    const reason = new Error("never");
    await expect(ArrayClient.connect(url, { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    await expect(fetchArray(url, "a", { transport: "ws", signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    await expect(fetchArray(url, "a", { transport: "http", signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    await settle();
    expect(accepted).toBe(before);
  });
});
