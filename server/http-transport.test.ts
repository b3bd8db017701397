import { createHash } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { fetchArray } from "../client/index.ts";
import { decodeMessage, StreamError } from "../shared/index.ts";
import { ArrayServer, arange, fillArange } from "./index.ts";

function sha256(view: ArrayBufferView): string {
  return createHash("sha256")
    .update(new Uint8Array(view.buffer, view.byteOffset, view.byteLength))
    .digest("hex");
}

describe("the HTTP transport", () => {
  let server: ArrayServer;
  let httpUrl: string;

  beforeEach(async () => {
    server = new ArrayServer({ port: 0, log: () => {} });
    await server.listen();
    server.publish("arange", arange());
    httpUrl = server.url.replace(/^ws:/, "http:");
  });

  afterEach(async () => {
    await server.close();
  });

  it("delivers an array byte-identical, with the checksum verified", async () => {
    const source = fillArange("float64", 5_000_000);
    server.publish("source", source);
    const result = await fetchArray<Float64Array>(server.url, "source", { transport: "http" });
    expect(result.shape).toEqual([5_000_000]);
    expect(sha256(result.array)).toBe(sha256(source));
  });

  it("writes into a caller's array, leaving the rest of it alone", async () => {
    const into = new Uint16Array(70_000).fill(7);
    const result = await fetchArray(server.url, "arange", {
      transport: "http",
      params: { length: 65_536, dtype: "uint16" },
      into,
    });
    expect(result.array.buffer).toBe(into.buffer);
    expect(into[65_535]).toBe(65_535);
    expect(into[65_536]).toBe(7);
  });

  it("answers an unknown name with 404 and an ERROR body the client turns into E_UNKNOWN_NAME", async () => {
    const response = await fetch(`${httpUrl}?name=nope`);
    expect(response.status).toBe(404);
    const body = decodeMessage(new Uint8Array(await response.arrayBuffer()));
    expect(body).toMatchObject({ type: "ERROR", code: "E_UNKNOWN_NAME" });
    await expect(fetchArray(server.url, "nope", { transport: "http" })).rejects.toMatchObject({
      name: "StreamError",
      code: "E_UNKNOWN_NAME",
    });
  });

  it("refuses params JSON with a duplicate key (E_BAD_JSON) and a bad range (E_BAD_RANGE) with 400", async () => {
    const dup = await fetch(`${httpUrl}?name=arange&params=${encodeURIComponent('{"length":1,"length":1e12}')}`);
    expect(dup.status).toBe(400);
    expect(decodeMessage(new Uint8Array(await dup.arrayBuffer()))).toMatchObject({ code: "E_BAD_JSON" });
    const range = await fetch(`${httpUrl}?name=arange&start=5`);
    expect(range.status).toBe(400);
    expect(decodeMessage(new Uint8Array(await range.arrayBuffer()))).toMatchObject({ code: "E_BAD_RANGE" });
  });

  it("refuses a checksum name that is not an algorithm (prototype names included) with E_BAD_REQUEST", async () => {
    for (const checksum of ["toString", "__proto__", "constructor", "md5"]) {
      const response = await fetch(
        `${httpUrl}?name=arange&params=${encodeURIComponent('{"length":1}')}&checksum=${checksum}`,
      );
      expect(response.status, checksum).toBe(400);
      expect(decodeMessage(new Uint8Array(await response.arrayBuffer()))).toMatchObject({ code: "E_BAD_REQUEST" });
    }
  });

  it("sends an element range", async () => {
    const result = await fetchArray(server.url, "arange", {
      transport: "http",
      params: { length: 100 },
      range: [90, 100],
    });
    expect(Array.from(result.array as Float64Array)).toEqual([90, 91, 92, 93, 94, 95, 96, 97, 98, 99]);
  });

  it("refuses an array over maxBytes with E_TOO_LARGE", async () => {
    await expect(
      fetchArray(server.url, "arange", { transport: "http", params: { length: 1000 }, maxBytes: 100 }),
    ).rejects.toMatchObject({ code: "E_TOO_LARGE" });
  });

  it("aborts with the signal's reason", async () => {
    const controller = new AbortController();
    const pending = fetchArray(server.url, "arange", {
      transport: "http",
      params: { length: 20_000_000 },
      signal: controller.signal,
      progressIntervalMs: 0,
      onProgress: (p) => {
        if (p.receivedByteLength > 1_000_000) controller.abort();
      },
    });
    await expect(pending).rejects.toMatchObject({ name: "AbortError" });
  });
});

describe("end-to-end integrity", () => {
  it.each(["ws", "http"] as const)(
    "detects a single flipped byte through the CRC-32C trailer (%s)",
    async (transport) => {
      const server = new ArrayServer({ port: 0, log: () => {} });
      await server.listen();
      try {
        const source = fillArange("float64", 1_000_000) as Float64Array;
        server.publish("a", source);
        await fetchArray(server.url, "a", { transport }); // the server caches the checksum now
        const bytes = new Uint8Array(source.buffer);
        bytes[4_000_001] = (bytes[4_000_001] as number) ^ 0x10; // the bytes change under the cached checksum
        const err = await fetchArray(server.url, "a", { transport }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(StreamError);
        expect(err).toMatchObject({ code: "E_CHECKSUM" });
        // Without verification the same bytes arrive and are accepted.
        const unverified = await fetchArray<Float64Array>(server.url, "a", { transport, verify: false });
        expect(sha256(unverified.array)).toBe(sha256(source));
      } finally {
        await server.close();
      }
    },
  );
});
