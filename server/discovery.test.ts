/**
 * Discovery (docs/PROTOCOL.md §18): the listing and stats as JSON over HTTP, with the client's
 * listArrays/statArray and raw GETs (headers, codes), sources that describe themselves (or fail
 * to), `listing: false`, access checks, and the stat over the WebSocket (HEADER_ONLY: the header,
 * nothing after it). Plus the client against servers that answer wrongly.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ArrayClient, fetchArray, listArrays, StreamError, statArray } from "../client/index.ts";
import { encodeError, encodeRequest, HTTP_CONTENT_TYPE, type RequestMessage } from "../shared/index.ts";
import { makeTempDir, npyBytes } from "./file-sources/test-helpers.ts";
import { ArrayServer, type ArraySource, arange, npyFile } from "./index.ts";
import { RawClient } from "./test-helpers.ts";

let server: ArrayServer;

async function start(options: ConstructorParameters<typeof ArrayServer>[0] = {}): Promise<ArrayServer> {
  server = new ArrayServer({ log: () => {}, ...options });
  await server.listen();
  return server;
}

function httpUrl(path: string): string {
  return server.url.replace(/^ws/, "http").replace(/\/arraywire$/, path);
}

afterEach(async () => {
  await server?.close();
});

/** A source without describe(): opened for a stat. */
const plainSource: ArraySource = {
  open: () => ({ dtype: "int8", shape: [3, 3], meta: { opened: true }, read: (_o, _n, scratch) => scratch }),
};

describe("listing", () => {
  beforeEach(async () => {
    await start();
  });

  it("lists every name in publish order: typed arrays, sources, live arrays", async () => {
    server.publish("arange", arange({ maxByteLength: 1024 }));
    server.publish("fixed", new Float32Array(6), { shape: [2, 3], meta: { unit: "m" } });
    server.publish("plain", plainSource);
    const live = server.publishLive("live", { dtype: "uint16", maxLength: 50, rowShape: [2] });
    live.append(new Uint16Array(6));
    const arrays = await listArrays(server.url);
    expect(arrays.map((a) => a.name)).toEqual(["arange", "fixed", "plain", "live"]);
    // Every generation is the one a stream of the name carries: the publish's own number for a
    // source without a version and a live array, the content hash for a typed array.
    const fetched = async (name: string) => (await fetchArray(server.url, name)).generation;
    expect(arrays[0]).toMatchObject({ kind: "source", live: false, meta: { source: "arange" } });
    expect(arrays[0]?.generation).toBeGreaterThan(0);
    expect(arrays[0]?.params).toMatchObject({ required: ["length"], maxByteLength: 1024 });
    expect(arrays[0]).not.toHaveProperty("shape");
    expect(arrays[1]).toEqual({
      name: "fixed",
      kind: "array",
      live: false,
      generation: await fetched("fixed"),
      dtype: "float32",
      shape: [2, 3],
      byteLength: 24,
      meta: { unit: "m" },
    });
    expect(arrays[2]).toEqual({ name: "plain", kind: "source", live: false, generation: await fetched("plain") });
    expect(arrays[3]).toEqual({
      name: "live",
      kind: "live",
      live: true,
      generation: await fetched("live"),
      dtype: "uint16",
      shape: [3, 2],
      byteLength: 12,
      meta: null,
      maxLength: 50,
      closed: false,
    });
  });

  it("answers with JSON headers a non-JS client can rely on", async () => {
    server.publish("fixed", new Uint8Array(3));
    const response = await fetch(httpUrl("/arraywire?list"));
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/json; charset=utf-8");
    expect(response.headers.get("cache-control")).toBe("no-store");
    expect(response.headers.get("x-content-type-options")).toBe("nosniff");
    const body = (await response.json()) as { arrays: unknown[] };
    expect(body).toEqual({
      arrays: [
        {
          name: "fixed",
          kind: "array",
          live: false,
          generation: (await fetchArray(server.url, "fixed")).generation,
          dtype: "uint8",
          shape: [3],
          byteLength: 3,
          meta: null,
        },
      ],
    });
  });

  it("lists a source whose describe() throws, lies or hangs without a description", async () => {
    server.publish("throws", {
      open: plainSource.open,
      describe: () => {
        throw new Error("no");
      },
    });
    server.publish("lies", { open: plainSource.open, describe: () => ({ dtype: "float128" }) as never });
    server.publish("hangs", { open: plainSource.open, describe: () => new Promise(() => {}) });
    server.publish("partial", { open: plainSource.open, describe: () => ({ dtype: "int8" }) });
    const started = performance.now();
    const arrays = await listArrays(server.url);
    expect(performance.now() - started).toBeLessThan(7000); // the hanging one waited 5 s, not forever
    // Each publish's own number: distinct, never 0.
    const generations = arrays.map((a) => a.generation);
    expect(new Set(generations).size).toBe(4);
    expect(Math.min(...generations)).toBeGreaterThan(0);
    expect(arrays.slice(0, 3)).toEqual([
      { name: "throws", kind: "source", live: false, generation: generations[0] },
      { name: "lies", kind: "source", live: false, generation: generations[1] },
      { name: "hangs", kind: "source", live: false, generation: generations[2] },
    ]);
    expect(arrays[3]).toEqual({
      name: "partial",
      kind: "source",
      live: false,
      generation: generations[3],
      dtype: "int8",
    });
  }, 15_000);
});

describe("stat", () => {
  beforeEach(async () => {
    await start();
    server.publish("arange", arange());
    server.publish("plain", plainSource);
  });

  it("describes a source without opening it, and opens it for params", async () => {
    const described = await statArray(server.url, "arange");
    expect(described).not.toHaveProperty("shape");
    expect(described.params).toBeDefined();
    const opened = await statArray(server.url, "arange", { params: { length: 10, dtype: "int16", shape: [2, 5] } });
    expect(opened).toMatchObject({ dtype: "int16", shape: [2, 5], byteLength: 20, meta: { source: "arange" } });
  });

  it("opens a source that cannot describe itself, and releases it", async () => {
    expect(await statArray(server.url, "plain")).toMatchObject({
      dtype: "int8",
      shape: [3, 3],
      byteLength: 9,
      meta: { opened: true },
    });
    expect(server.stats()).toMatchObject({ openSourceCount: 0, httpStreamCount: 0 });
  });

  it("answers what a stream request would: 404 E_UNKNOWN_NAME, the source's refusal, 400 E_BAD_JSON", async () => {
    await expect(statArray(server.url, "nope")).rejects.toMatchObject({ code: "E_UNKNOWN_NAME" });
    await expect(statArray(server.url, "arange", { params: { length: -1 } })).rejects.toMatchObject({
      code: "E_BAD_REQUEST",
    });
    const response = await fetch(httpUrl("/arraywire?stat=arange&params=%7Bx"));
    expect(response.status).toBe(400);
    expect(response.headers.get("content-type")).toBe(HTTP_CONTENT_TYPE);
    const missing = await fetch(httpUrl("/arraywire?stat="));
    expect(missing.status).toBe(400);
  });

  it("stats over the WebSocket with HEADER_ONLY: the header alone ends the stream", async () => {
    const client = await ArrayClient.connect(server.url);
    expect(await statArray(client, "arange", { params: { length: 7 } })).toEqual({
      name: "arange",
      dtype: "float64",
      shape: [7],
      byteLength: 56,
      meta: { source: "arange", start: 0, step: 1 },
      // arange names its content: the generation its stream carries, from its params.
      generation: (await fetchArray(server.url, "arange", { params: { length: 7 } })).generation,
    });
    await expect(statArray(client, "nope")).rejects.toMatchObject({ code: "E_UNKNOWN_NAME" });
    expect(client.streamCount).toBe(0);
    client.close();
    const raw = await RawClient.connect(server.url);
    const request: Omit<RequestMessage, "type"> = {
      streamId: 4,
      name: "arange",
      params: { length: 1000 },
      chunkByteLength: 0,
      range: { elementStart: 10, elementEnd: 20 },
      resumeByteOffset: 0,
      creditByteLength: 0,
      expectedGeneration: null,
      checksum: "xxh32",
      headerOnly: true,
    };
    raw.send(encodeRequest(request));
    expect(await raw.nextMessage()).toMatchObject({
      type: "ARRAY_HEADER",
      streamId: 4,
      rangeByteStart: 80,
      rangeByteEnd: 160,
    });
    raw.send(encodeRequest(request)); // the id is free again after the header
    expect(await raw.nextMessage()).toMatchObject({ type: "ARRAY_HEADER", streamId: 4 });
    await expect(raw.next(200)).rejects.toThrow("no message within 200 ms"); // no DATA, no END
    expect(server.stats()).toMatchObject({ streamCount: 0, openSourceCount: 0 });
    raw.close();
  });
});

describe("listing off, and access", () => {
  it("refuses the list with 403 E_LISTING_DISABLED and still answers a stat", async () => {
    await start({ listing: false });
    server.publish("fixed", new Int8Array(2));
    await expect(listArrays(server.url)).rejects.toMatchObject({ code: "E_LISTING_DISABLED" });
    const response = await fetch(httpUrl("/arraywire?list"));
    expect(response.status).toBe(403);
    expect(await statArray(server.url, "fixed")).toMatchObject({ dtype: "int8", shape: [2] });
  });

  it("runs the access checks first: 401 without the token, for the list and a stat", async () => {
    await start({ authenticate: (req) => req.headers.authorization === "Bearer t" });
    server.publish("fixed", new Int8Array(2));
    await expect(listArrays(server.url)).rejects.toMatchObject({ code: "E_UNAUTHORIZED" });
    await expect(statArray(server.url, "fixed")).rejects.toMatchObject({ code: "E_UNAUTHORIZED" });
    const ok = await listArrays(server.url, { headers: { authorization: "Bearer t" } });
    expect(ok.map((a) => a.name)).toEqual(["fixed"]);
  });

  it("refuses a listing when discovery is asked with a wrong option value", () => {
    expect(() => new ArrayServer({ listing: "yes" as unknown as boolean })).toThrow(
      new TypeError("Invalid listing: expected a boolean, got string"),
    );
  });
});

describe("the client against servers that answer wrongly", () => {
  let http: Server;
  let answer: (url: URL) => { status: number; type: string; body: Uint8Array | string };

  beforeEach(async () => {
    http = createServer((req, res) => {
      const a = answer(new URL(req.url ?? "/", "http://x"));
      res.writeHead(a.status, { "content-type": a.type }).end(a.body);
    });
    await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", () => resolve()));
  });

  afterEach(async () => {
    await new Promise<void>((resolve) => http.close(() => resolve()));
  });

  const url = () => `ws://127.0.0.1:${(http.address() as AddressInfo).port}/arraywire`;

  it("reports a server without discovery (400 E_BAD_REQUEST: no name) with that code", async () => {
    answer = () => ({
      status: 400,
      type: HTTP_CONTENT_TYPE,
      body: encodeError(1, "E_BAD_REQUEST", "expected a name parameter"),
    });
    await expect(listArrays(url())).rejects.toMatchObject({ code: "E_BAD_REQUEST" });
  });

  it.each([
    ["a proxy's HTML page", () => ({ status: 502, type: "text/html", body: "<h1>Bad gateway</h1>" }), "E_HTTP_STATUS"],
    ["JSON that is not a listing", () => ({ status: 200, type: "application/json", body: "[1,2]" }), "E_PROTOCOL"],
    [
      "an entry of the wrong shape",
      () => ({ status: 200, type: "application/json", body: '{"arrays":[{"name":"a"}]}' }),
      "E_PROTOCOL",
    ],
    ["text that is not JSON", () => ({ status: 200, type: "application/json", body: "{" }), "E_PROTOCOL"],
  ])("refuses %s", async (_what, reply, code) => {
    answer = reply;
    const error = await listArrays(url()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StreamError);
    expect(error).toMatchObject({ code });
  });

  it("refuses a body over maxResponseBytes, and takes one at it", async () => {
    const body = JSON.stringify({ arrays: [] });
    answer = () => ({ status: 200, type: "application/json", body });
    expect(await listArrays(url(), { maxResponseBytes: body.length })).toEqual([]);
    await expect(listArrays(url(), { maxResponseBytes: body.length - 1 })).rejects.toMatchObject({
      code: "E_TOO_LARGE",
    });
  });

  it("asks for ?stat=<name> with the params as JSON", async () => {
    let seen: URL | null = null;
    answer = (u) => {
      seen = u;
      return {
        status: 200,
        type: "application/json",
        body: '{"name":"a b","kind":"source","live":false,"generation":2}',
      };
    };
    expect(await statArray(url(), "a b", { params: { n: 1 } })).toEqual({
      name: "a b",
      kind: "source",
      live: false,
      generation: 2,
    });
    expect((seen as unknown as URL).searchParams.get("stat")).toBe("a b");
    expect((seen as unknown as URL).searchParams.get("params")).toBe('{"n":1}');
  });
});

describe("files: npyFile and publishDirectory", () => {
  let temp: { dir: string; remove: () => void };

  beforeEach(async () => {
    temp = makeTempDir("aw-discovery-");
    const ints = new Int32Array([5, 6, 7, 8, 9, 10]);
    writeFileSync(
      join(temp.dir, "a.npy"),
      npyBytes({ descr: "<i4", shape: [2, 3], data: new Uint8Array(ints.buffer) }),
    );
    mkdirSync(join(temp.dir, "runs"));
    const doubles = new Float64Array([1.5, 2.5, 3.5]);
    writeFileSync(
      join(temp.dir, "runs", "b.npy"),
      npyBytes({ descr: "<f8", shape: [3], data: new Uint8Array(doubles.buffer) }),
    );
    writeFileSync(join(temp.dir, "notes.txt"), "not an array");
    await start();
  });

  afterEach(() => temp.remove());

  it("lists the arrays under a published directory with the generation their header carries", async () => {
    server.publish("arange", arange());
    server.publishDirectory(temp.dir, { prefix: "files/" });
    const arrays = await listArrays(server.url);
    expect(arrays.map((a) => a.name)).toEqual(["arange", "files/a.npy", "files/runs/b.npy"]);
    const b = arrays[2];
    expect(b).toMatchObject({ kind: "source", live: false, dtype: "float64", shape: [3], byteLength: 24 });
    const fetched = await fetchArray<Float64Array>(server.url, "files/runs/b.npy");
    expect(Array.from(fetched.array)).toEqual([1.5, 2.5, 3.5]);
    expect(b?.generation).toBe(fetched.generation);
    // The generation follows the file's content, not the publish's own number.
    const a = await fetchArray(server.url, "files/a.npy");
    expect(arrays[1]?.generation).toBe(a.generation);
    expect(a.generation).not.toBe(b?.generation);
  });

  it("stats a published .npy file by opening it: its shape and its content's generation", async () => {
    server.publish("a", npyFile(join(temp.dir, "a.npy")));
    const listed = await listArrays(server.url);
    const listedGeneration = listed[0]?.generation;
    expect(listed).toEqual([{ name: "a", kind: "source", live: false, generation: listedGeneration }]);
    const stat = await statArray(server.url, "a");
    const fetched = await fetchArray(server.url, "a");
    expect(stat).toMatchObject({ name: "a", dtype: "int32", shape: [2, 3], byteLength: 24 });
    expect(stat.generation).toBe(fetched.generation);
    // The listing opens nothing: it has the publish's own number, not the content's generation.
    expect(stat.generation).not.toBe(listedGeneration);
    // A name under a directory is stat'ed the same way; a file that is not an array is unknown.
    server.publishDirectory(temp.dir, { prefix: "files/" });
    expect(await statArray(server.url, "files/runs/b.npy")).toMatchObject({ dtype: "float64", shape: [3] });
    await expect(statArray(server.url, "files/notes.txt")).rejects.toMatchObject({ code: "E_UNKNOWN_NAME" });
  });
});
