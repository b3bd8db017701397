/**
 * HTTP Range on the HTTP transport (RFC 9110 §14): the parser and If-Range on their own, then
 * curl-like raw requests against a real server: 206 parts that are exactly the bytes of the whole
 * body (across the header, raw bytes and END), END's bytes the same whatever the range, 416, If-Range,
 * several ranges, Range with resume=, and Range under the same budgets and checks as any request.
 */
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { createChecksum, decodeMessage, END_BYTE_LENGTH, type EndMessage, headerByteLength } from "../shared/index.ts";
import { chooseRange, ifRangeHolds, representationTag } from "./http-range.ts";
import { ArrayServer, type ArrayServerOptions, arange, fillArange } from "./index.ts";
import { header, type RawResponse, rawHttp } from "./test-fixtures/raw-http.ts";

describe("chooseRange", () => {
  const L = 1000;
  it.each([
    ["bytes=0-0", { kind: "partial", start: 0, end: 1 }],
    ["bytes=10-19", { kind: "partial", start: 10, end: 20 }],
    ["bytes=500-", { kind: "partial", start: 500, end: 1000 }],
    ["bytes=-32", { kind: "partial", start: 968, end: 1000 }],
    ["bytes=-5000", { kind: "partial", start: 0, end: 1000 }], // a suffix longer than the body: all of it
    ["bytes=998-999", { kind: "partial", start: 998, end: 1000 }], // last = length - 1
    ["bytes=998-1000", { kind: "partial", start: 998, end: 1000 }], // last = length: clamped
    ["bytes=999-", { kind: "partial", start: 999, end: 1000 }], // first = length - 1: one byte
    ["bytes=0-99999999999999999999", { kind: "partial", start: 0, end: 1000 }], // past 2^53: clamped
    ["BYTES=1-2", { kind: "partial", start: 1, end: 3 }], // the unit is case-insensitive
    ["bytes=, 3-4 ,", { kind: "partial", start: 3, end: 5 }], // empty list elements are allowed
    ["bytes=1000-", { kind: "unsatisfiable" }], // first = length
    ["bytes=1000-2000", { kind: "unsatisfiable" }],
    ["bytes=99999999999999999999-", { kind: "unsatisfiable" }],
    ["bytes=-0", { kind: "unsatisfiable" }],
    ["bytes=1000-1001, 2000-", { kind: "unsatisfiable" }], // several, none satisfiable: 416
    ["bytes=0-1, 5-6", { kind: "full" }], // several: ignored (no multipart/byteranges)
    ["bytes=0-1,1000-", { kind: "full" }], // several, one satisfiable
    ["bytes=5-4", { kind: "full" }], // last < first: invalid, ignored
    ["bytes=0-1, 5-4", { kind: "full" }],
    ["bytes=", { kind: "full" }],
    ["bytes=-", { kind: "full" }],
    ["bytes=a-b", { kind: "full" }],
    ["bytes=1 -2", { kind: "full" }],
    ["bytes=+1-2", { kind: "full" }],
    ["items=0-5", { kind: "full" }], // another unit
    ["bytes 0-5", { kind: "full" }],
    ["0-5", { kind: "full" }],
  ])("%s", (range, expected) => {
    expect(chooseRange(range, L)).toEqual(expected);
  });

  it("is the whole body without a Range", () => {
    expect(chooseRange(undefined, L)).toEqual({ kind: "full" });
  });
});

describe("If-Range and the ETag", () => {
  const etag = representationTag({ name: "a", params: null, range: null, checksum: "xxh32" }, 0x1234abcd);

  it("applies Range only for this exact strong ETag", () => {
    expect(etag).toMatch(/^"aw1-1234abcd-[0-9a-f]{8}"$/);
    expect(ifRangeHolds(undefined, etag)).toBe(true);
    expect(ifRangeHolds(etag, etag)).toBe(true);
    expect(ifRangeHolds(` ${etag} `, etag)).toBe(true);
    expect(ifRangeHolds(`W/${etag}`, etag)).toBe(false); // weak tags never match (strong comparison)
    expect(ifRangeHolds('"aw1-1234abcd-00000000"', etag)).toBe(false);
    expect(ifRangeHolds("Mon, 30 Nov 2026 12:00:00 GMT", etag)).toBe(false); // no Last-Modified: a date never matches
  });

  it("names the request and the generation: params in any key order are the same, anything else is not", () => {
    const tag = (key: Partial<Parameters<typeof representationTag>[0]>, generation = 7) =>
      representationTag(
        { name: "a", params: { x: 1, y: [2, -0] }, range: null, checksum: "xxh32", ...key },
        generation,
      );
    const base = tag({});
    expect(tag({ params: { y: [2, -0], x: 1 } })).toBe(base);
    const others = [
      tag({}, 8),
      tag({ name: "b" }),
      tag({ params: { x: 1, y: [2, 0] } }),
      tag({ params: null }),
      tag({ range: { elementStart: 0, elementEnd: 5 } }),
      tag({ range: { elementStart: 1, elementEnd: 5 } }),
      tag({ checksum: "crc32c" }),
    ];
    expect(new Set([base, ...others]).size).toBe(others.length + 1);
  });
});

// ---------------------------------------------------------------------------------------------
// Against a real server, with raw requests.

const LENGTH = 100_000; // 800 KB of float64
const servers: ArrayServer[] = [];

async function startServer(options: ArrayServerOptions = {}): Promise<{ server: ArrayServer; port: number }> {
  const server = new ArrayServer({ port: 0, log: () => {}, ...options });
  const { port } = await server.listen();
  servers.push(server);
  server.publish("f64", fillArange("float64", LENGTH));
  server.publish("arange", arange());
  return { server, port };
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

/** A GET of `query` with extra header lines. */
function get(port: number, query: string, ...lines: string[]): Promise<RawResponse> {
  return rawHttp(port, [`GET /arraywire?${query} HTTP/1.1`, "Host: 127.0.0.1", ...lines].join("\r\n"));
}

/** The ARRAY_HEADER's length at the start of a body. */
function headerLength(body: Buffer): number {
  return headerByteLength(new Uint8Array(body.buffer, body.byteOffset, 56), 65536);
}

const QUERIES = [
  "name=f64&checksum=xxh32", // a whole typed array: END from the cached checksum
  "name=f64&checksum=crc32c&start=1234&end=98765", // an element range: hashed as it streams
  `name=arange&checksum=xxh32&params=${encodeURIComponent('{"length":100000,"start":3,"step":0.5}')}`, // generated
  "name=f64", // no checksum
];

describe("Range requests against a server", () => {
  let full: Map<string, Buffer>;

  beforeAll(async () => {
    const { port } = await startServer();
    full = new Map();
    for (const query of QUERIES) full.set(query, (await get(port, query)).body);
  });

  it("answer the whole body with 200, Accept-Ranges, a strong ETag and X-Accel-Buffering: no", async () => {
    const { port } = await startServer();
    for (const query of QUERIES) {
      const r = await get(port, query);
      expect(r.status).toBe(200);
      expect(header(r, "accept-ranges")).toBe("bytes");
      expect(header(r, "etag")).toMatch(/^"aw1-[0-9a-f]{8}-[0-9a-f]{8}"$/);
      expect(header(r, "x-accel-buffering")).toBe("no");
      expect(Number(header(r, "content-length"))).toBe(r.body.byteLength);
      expect(r.body.equals(full.get(query) as Buffer)).toBe(true);
    }
  });

  it("send exactly the bytes of the whole body for ranges in the header, the raw bytes and END, and across them", async () => {
    const { port } = await startServer();
    for (const query of QUERIES) {
      const body = full.get(query) as Buffer;
      const h = headerLength(body);
      const L = body.byteLength;
      const raw = L - END_BYTE_LENGTH; // where END starts
      const etag = header(await get(port, query), "etag") as string;
      const ranges: [number, number][] = [
        [0, 0],
        [0, h - 1], // the header alone
        [3, h + 7], // part of the header and the first raw bytes
        [h, h], // the first raw byte
        [h + 8 * 1000 + 3, h + 8 * 5000 + 6], // the middle, at odd offsets
        [raw - 5, raw + 4], // the last raw bytes and the start of END
        [raw, L - 1], // END alone
        [raw + 10, raw + 20], // the middle of END
        [L - 1, L - 1],
        [0, L - 1],
      ];
      for (const [first, last] of ranges) {
        const r = await get(port, query, `Range: bytes=${first}-${last}`, `If-Range: ${etag}`);
        const what = `${query} bytes=${first}-${last}`;
        expect(r.status, what).toBe(206);
        expect(header(r, "content-range"), what).toBe(`bytes ${first}-${last}/${L}`);
        expect(Number(header(r, "content-length")), what).toBe(last - first + 1);
        expect(header(r, "etag"), what).toBe(etag);
        expect(header(r, "x-accel-buffering"), what).toBe("no");
        expect(r.body.equals(body.subarray(first, last + 1)), what).toBe(true);
      }
      // Open-ended and suffix ranges.
      const tail = await get(port, query, `Range: bytes=${h + 800}-`);
      expect(tail.body.equals(body.subarray(h + 800))).toBe(true);
      const suffix = await get(port, query, "Range: bytes=-40");
      expect(suffix.body.equals(body.subarray(L - 40))).toBe(true);
    }
  });

  it("carry an END whose checksum covers the whole element range, whatever bytes the range asks for", async () => {
    const { port } = await startServer();
    const query = QUERIES[1] as string; // elements [1234, 98765), CRC-32C
    const body = full.get(query) as Buffer;
    const h = headerLength(body);
    const end = decodeMessage(body.subarray(body.byteLength - END_BYTE_LENGTH)) as EndMessage;
    const crc = createChecksum("crc32c");
    crc?.update(new Uint8Array(body.buffer, body.byteOffset + h, body.byteLength - h - END_BYTE_LENGTH));
    expect(end).toMatchObject({ type: "END", byteLength: (98765 - 1234) * 8, checksum: crc?.digest() });
    // A tail that starts late in the raw bytes: the server hashed the bytes before it too.
    const r = await get(port, query, `Range: bytes=${body.byteLength - 1000}-`);
    expect(decodeMessage(r.body.subarray(1000 - END_BYTE_LENGTH))).toEqual(end);
  });

  it("answer 416 with Content-Range and an E_BAD_RANGE body past the end; one byte at the last position", async () => {
    const { port } = await startServer();
    const query = QUERIES[0] as string;
    const L = (full.get(query) as Buffer).byteLength;
    for (const range of [`bytes=${L}-`, `bytes=${L + 5}-${L + 10}`, "bytes=-0", `bytes=${L}-, ${L + 1}-`]) {
      const r = await get(port, query, `Range: ${range}`);
      expect(r.status, range).toBe(416);
      expect(header(r, "content-range"), range).toBe(`bytes */${L}`);
      expect(decodeMessage(r.body), range).toMatchObject({ type: "ERROR", code: "E_BAD_RANGE" });
    }
    const last = await get(port, query, `Range: bytes=${L - 1}-`);
    expect(last.status).toBe(206);
    expect(last.body.byteLength).toBe(1);
  });

  it("send the whole 200 for several ranges, a malformed Range, and an If-Range that does not match", async () => {
    const { port } = await startServer();
    const query = QUERIES[0] as string;
    const body = full.get(query) as Buffer;
    const etag = header(await get(port, query), "etag") as string;
    const cases = [
      ["Range: bytes=0-9, 20-29"],
      ["Range: bytes=0-9,5-"],
      ["Range: bytes=9-0"],
      ["Range: lines=0-9"],
      ["Range: bytes=0-9", 'If-Range: "aw1-00000000-00000000"'],
      ["Range: bytes=0-9", `If-Range: W/${etag}`],
      ["Range: bytes=0-9", "If-Range: Mon, 30 Nov 2026 12:00:00 GMT"],
      ['If-Range: W/"x"'], // If-Range without Range: ignored
    ];
    for (const lines of cases) {
      const r = await get(port, query, ...lines);
      expect(r.status, lines.join(" ")).toBe(200);
      expect(header(r, "content-range"), lines.join(" ")).toBeUndefined();
      expect(r.body.equals(body), lines.join(" ")).toBe(true);
    }
  });

  it("refuse Range with resume= (400 E_BAD_REQUEST), take it with generation=, and give resumed bodies no ETag", async () => {
    const { port } = await startServer();
    const query = QUERIES[0] as string;
    const ok = await get(port, query);
    const generation = (decodeMessage(ok.body.subarray(0, headerLength(ok.body))) as { generation: number }).generation;
    const both = await get(port, `${query}&resume=8&generation=${generation}`, "Range: bytes=100-");
    expect(both.status).toBe(400);
    expect(decodeMessage(both.body)).toMatchObject({ type: "ERROR", code: "E_BAD_REQUEST" });
    const asserted = await get(port, `${query}&generation=${generation}`, "Range: bytes=100-199");
    expect(asserted.status).toBe(206);
    expect(asserted.body.equals(ok.body.subarray(100, 200))).toBe(true);
    const changed = await get(port, `${query}&generation=${(generation + 1) >>> 0 || 1}`, "Range: bytes=100-199");
    expect(changed.status).toBe(410);
    const resumed = await get(port, `${query}&resume=8&generation=${generation}`);
    expect(resumed.status).toBe(200);
    expect(header(resumed, "etag")).toBeUndefined();
    expect(header(resumed, "accept-ranges")).toBeUndefined();
    expect(header(resumed, "x-accel-buffering")).toBe("no");
  });

  it("give every server that publishes the same array the same ETag and the same bytes", async () => {
    const [a, b] = [await startServer(), await startServer()];
    b.server.publish("f64", Float64Array.from(fillArange("float64", LENGTH) as Float64Array)); // republished: a copy
    const query = QUERIES[0] as string;
    const ra = await get(a.port, query, "Range: bytes=1000-1999");
    const rb = await get(b.port, query, "Range: bytes=1000-1999", `If-Range: ${header(ra, "etag")}`);
    expect(rb.status).toBe(206);
    expect(header(rb, "etag")).toBe(header(ra, "etag"));
    expect(rb.body.equals(ra.body)).toBe(true);
  });

  it("make a resume by Range possible: the tail and END continue what a first response gave", async () => {
    const { port } = await startServer();
    const query = QUERIES[2] as string; // arange: nothing cached, the server hashes the prefix
    const whole = full.get(query) as Buffer;
    const first = await get(port, query);
    const etag = header(first, "etag") as string;
    const h = headerLength(first.body);
    const held = 8 * 41_234 + 5; // bytes of the range held after a cut, mid-element
    const tail = await get(port, query, `Range: bytes=${h + held}-`, `If-Range: ${etag}`);
    expect(tail.status).toBe(206);
    const joined = Buffer.concat([first.body.subarray(0, h + held), tail.body]);
    expect(joined.equals(whole)).toBe(true);
    const end = decodeMessage(tail.body.subarray(tail.body.byteLength - END_BYTE_LENGTH)) as EndMessage;
    expect(end.byteLength).toBe(LENGTH * 8); // the whole range's END, not the tail's
  });
});

describe("Range requests and the server's budgets", () => {
  it("are refused by the access checks like any request, and HEAD with Range stays 405", async () => {
    const { server, port } = await startServer({ authenticate: (req) => req.headers.authorization === "Bearer ok" });
    const r = await get(port, "name=f64", "Range: bytes=0-9");
    expect(r.status).toBe(401);
    const authorized = await get(port, "name=f64", "Range: bytes=0-9", "Authorization: Bearer ok");
    expect(authorized.status).toBe(206);
    const rebinding = await rawHttp(port, "GET /arraywire?name=f64 HTTP/1.1\r\nHost: evil.example\r\nRange: bytes=0-9");
    expect(rebinding.status).toBe(403);
    const head = await rawHttp(
      port,
      "HEAD /arraywire?name=f64 HTTP/1.1\r\nHost: 127.0.0.1\r\nRange: bytes=0-9\r\nAuthorization: Bearer ok",
    );
    expect(head.status).toBe(405);
    expect(header(head, "allow")).toBe("GET");
    expect(server.stats().openSourceCount).toBe(0);
  });

  it("count against maxConnectionsPerIp while they stream: at most the cap at once, and the cap is reached", async () => {
    const { server, port } = await startServer({ maxConnectionsPerIp: 3 });
    server.publish("big", new Float64Array(8 * 1024 * 1024)); // 64 MiB: a reader that stops holds its stream
    // Range requests whose readers never read: each stays in flight.
    const { connect } = await import("node:net");
    const sockets = Array.from({ length: 3 }, () => {
      const socket = connect(port, "127.0.0.1");
      socket.write("GET /arraywire?name=big HTTP/1.1\r\nHost: 127.0.0.1\r\nRange: bytes=100-\r\n\r\n");
      socket.pause();
      return socket;
    });
    try {
      for (let i = 0; i < 100 && server.stats().httpStreamCount < 3; i++) await new Promise((r) => setTimeout(r, 20));
      expect(server.stats().httpStreamCount).toBe(3);
      const fourth = await get(port, "name=f64", "Range: bytes=0-9");
      expect(fourth.status).toBe(429);
      expect(decodeMessage(fourth.body)).toMatchObject({ type: "ERROR", code: "E_TOO_MANY_STREAMS" });
    } finally {
      for (const s of sockets) s.destroy();
    }
    for (let i = 0; i < 100 && server.stats().httpStreamCount > 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect((await get(port, "name=f64", "Range: bytes=0-9")).status).toBe(206);
  });
});
