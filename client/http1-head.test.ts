import { describe, expect, it } from "vitest";
import { encodeRequestHead, findHeadEnd, MAX_HEAD_BYTE_LENGTH, parseResponseHead } from "./http1-head.ts";
import { NodeSocketError } from "./node-socket-error.ts";

const text = (bytes: Uint8Array) => Buffer.from(bytes).toString("latin1");
const bytesOf = (s: string) => new Uint8Array(Buffer.from(s, "latin1"));

function expectBadHead(head: string, message: RegExp): void {
  let caught: unknown;
  try {
    parseResponseHead(bytesOf(head));
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(NodeSocketError);
  expect((caught as NodeSocketError).code).toBe("EBADHEAD");
  expect((caught as NodeSocketError).message).toMatch(message);
}

describe("encodeRequestHead", () => {
  it("writes a GET with the path and query, Host with a non-default port, the caller's headers, then Connection: close", () => {
    const head = encodeRequestHead(new URL("http://127.0.0.1:8080/a/b?name=x&start=2#frag"), {
      Authorization: "Bearer t0k3n",
      "x-empty": "",
    });
    expect(text(head)).toBe(
      "GET /a/b?name=x&start=2 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nAuthorization: Bearer t0k3n\r\nx-empty: \r\nConnection: close\r\n\r\n",
    );
  });

  it("leaves a default port out of Host and keeps IPv6 brackets", () => {
    expect(text(encodeRequestHead(new URL("https://example.test:443/")))).toContain("Host: example.test\r\n");
    expect(text(encodeRequestHead(new URL("http://[::1]:9000/x")))).toContain("Host: [::1]:9000\r\n");
  });

  it.each([
    ["a CRLF in a value (header injection)", { "x-a": "1\r\nx-injected: 2" }, /x-a: expected a value without control/],
    ["a bare LF in a value", { "x-a": "1\nx-b: 2" }, /without control characters/],
    ["a bare CR in a value", { "x-a": "1\r" }, /without control characters/],
    ["a NUL in a value", { "x-a": "a\0b" }, /without control characters/],
    ["a character above 0xff in a value", { "x-a": "\u0100" }, /without control characters/],
    ["a CRLF in a name", { "x-a\r\nx-b": "1" }, /name: expected a token/],
    ["a colon in a name", { "x:a": "1" }, /name: expected a token/],
    ["an empty name", { "": "1" }, /name: expected a token/],
    ["Host twice", { host: "a.test", Host: "b.test" }, /Host: expected it once, got host, Host/],
    ["a Host with a CRLF", { host: "a.test\r\nx-b: 1" }, /without control characters/],
    ["Connection", { Connection: "keep-alive" }, /does not set itself/],
    ["Content-Length", { "Content-Length": "5" }, /does not set itself/],
    ["Transfer-Encoding", { "transfer-encoding": "chunked" }, /does not set itself/],
  ])("refuses %s with a TypeError", (_what, headers, message) => {
    expect(() => encodeRequestHead(new URL("http://h/"), headers)).toThrow(TypeError);
    expect(() => encodeRequestHead(new URL("http://h/"), headers)).toThrow(message);
  });

  it("sends the caller's Host instead of the URL's, once", () => {
    const head = text(encodeRequestHead(new URL("http://127.0.0.1:9/p"), { HOST: "arrays.example:8080" }));
    expect(head).toBe("GET /p HTTP/1.1\r\nHOST: arrays.example:8080\r\nConnection: close\r\n\r\n");
    expect(text(encodeRequestHead(new URL("http://127.0.0.1:9/p")))).toContain("Host: 127.0.0.1:9\r\n");
  });

  it("accepts a tab and obs-text bytes in a value", () => {
    expect(text(encodeRequestHead(new URL("http://h/"), { a: "x\ty\u00e9" }))).toContain("a: x\ty\u00e9\r\n");
  });
});

describe("findHeadEnd", () => {
  const head = bytesOf("HTTP/1.1 200 OK\r\nA: b\r\n\r\nBODY");
  const end = 25;

  it("finds the index past the blank line, from any start at or before it", () => {
    for (let from = -3; from <= end - 4; from++) expect(findHeadEnd(head, from)).toBe(end);
  });

  it("returns -1 when the head is cut anywhere before its last byte", () => {
    for (let cut = 0; cut < end; cut++) expect(findHeadEnd(head.subarray(0, cut), 0)).toBe(-1);
    expect(findHeadEnd(head.subarray(0, end), 0)).toBe(end);
  });

  it("does not take CR CR LF LF or LF LF for the end", () => {
    expect(findHeadEnd(bytesOf("HTTP/1.1 200 OK\r\r\n\n"), 0)).toBe(-1);
    expect(findHeadEnd(bytesOf("HTTP/1.1 200 OK\n\nx"), 0)).toBe(-1);
  });
});

describe("parseResponseHead", () => {
  it("parses the status, lower-cases names, trims values and joins repeated headers", () => {
    const head = parseResponseHead(
      bytesOf("HTTP/1.1 200 OK\r\nContent-Type:  application/x \t\r\nX-A: 1\r\nx-a: 2\r\nContent-Length: 10\r\n\r\n"),
    );
    expect(head).toEqual({
      status: 200,
      headers: { "content-type": "application/x", "x-a": "1, 2", "content-length": "10" },
      framing: { kind: "length", byteLength: 10 },
    });
  });

  it("reads a head at an odd byteOffset of a larger buffer", () => {
    const buffer = bytesOf("xyzHTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\nzz");
    const head = parseResponseHead(buffer.subarray(3, buffer.byteLength - 2));
    expect(head.status).toBe(404);
    expect(head.framing).toEqual({ kind: "length", byteLength: 0 });
  });

  it("keeps headers named like Object.prototype members as plain headers", () => {
    const head = parseResponseHead(bytesOf("HTTP/1.1 200 OK\r\n__proto__: a\r\nconstructor: b\r\n\r\n"));
    expect(Object.getPrototypeOf(head.headers)).toBe(Object.prototype);
    expect(Object.entries(head.headers)).toEqual([
      ["__proto__", "a"],
      ["constructor", "b"],
    ]);
  });

  it("frames the body by status, Transfer-Encoding, Content-Length, or the close", () => {
    const framing = (head: string) => parseResponseHead(bytesOf(head)).framing;
    expect(framing("HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n")).toEqual({ kind: "none" });
    expect(framing("HTTP/1.1 304 Not Modified\r\n\r\n")).toEqual({ kind: "none" });
    expect(framing("HTTP/1.1 103 Early Hints\r\n\r\n")).toEqual({ kind: "none" });
    expect(framing("HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n")).toEqual({ kind: "chunked" });
    expect(framing("HTTP/1.1 200 OK\r\n\r\n")).toEqual({ kind: "close" });
    expect(framing("HTTP/1.1 200\r\nContent-Length: 9007199254740991\r\n\r\n")).toEqual({
      kind: "length",
      byteLength: Number.MAX_SAFE_INTEGER,
    });
    expect(framing("HTTP/1.1 200 OK\r\nContent-Encoding: identity\r\nContent-Length: 0\r\n\r\n")).toEqual({
      kind: "length",
      byteLength: 0,
    });
  });

  it.each([
    ["an HTTP/2 status line", "HTTP/2 200 OK\r\n\r\n", /expected a status line/],
    ["a two-digit status", "HTTP/1.1 20 OK\r\n\r\n", /expected a status line/],
    ["a four-digit status", "HTTP/1.1 2000 OK\r\n\r\n", /expected a status line/],
    ["a status starting with 0", "HTTP/1.1 099 OK\r\n\r\n", /expected a status line/],
    ["a lower-case version", "http/1.1 200 OK\r\n\r\n", /expected a status line/],
    ["garbage", "\u0000\u0001garbage\r\n\r\n", /expected a status line/],
    ["a control byte in the reason", "HTTP/1.1 200 O\u0001K\r\n\r\n", /expected a status line/],
    ["a header without a colon", "HTTP/1.1 200 OK\r\nNoColon\r\n\r\n", /expected "name: value"/],
    ["a space before the colon", "HTTP/1.1 200 OK\r\nA : b\r\n\r\n", /expected "name: value"/],
    ["an obs-fold", "HTTP/1.1 200 OK\r\nA: b\r\n c\r\n\r\n", /obs-fold/],
    ["a bare LF", "HTTP/1.1 200 OK\nA: b\r\n\r\n", /bare CR or LF/],
    ["a bare CR", "HTTP/1.1 200 OK\r\nA: b\rc\r\n\r\n", /bare CR or LF/],
    ["a NUL in a value", "HTTP/1.1 200 OK\r\nA: b\u0000\r\n\r\n", /expected "name: value"/],
    [
      "two Content-Length headers, equal",
      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n",
      /one Content-Length/,
    ],
    [
      "two Content-Length headers, conflicting",
      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
      /one Content-Length/,
    ],
    ["a Content-Length list", "HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\n", /decimal number/],
    ["a negative Content-Length", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", /decimal number/],
    ["an empty Content-Length", "HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\n", /decimal number/],
    ["a hex Content-Length", "HTTP/1.1 200 OK\r\nContent-Length: 0x10\r\n\r\n", /decimal number/],
    ["a Content-Length of 2^53", "HTTP/1.1 200 OK\r\nContent-Length: 9007199254740992\r\n\r\n", /up to 2\^53 - 1/],
    ["a 17-digit Content-Length", "HTTP/1.1 200 OK\r\nContent-Length: 00000000000000001\r\n\r\n", /decimal number/],
    [
      "Content-Length with Transfer-Encoding",
      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
      /got both/,
    ],
    [
      "a transfer coding other than chunked",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
      /"chunked", got "gzip, chunked"/,
    ],
    [
      "a content coding",
      "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 5\r\n\r\n",
      /content-encoding "gzip"/,
    ],
    ["a head without its blank line", "HTTP/1.1 200 OK\r\n", /CRLF CRLF/],
  ])("refuses %s with EBADHEAD", (_what, head, message) => {
    expectBadHead(head, message);
  });

  it("quotes at most 80 characters of a bad line", () => {
    expectBadHead(
      `HTTP/1.1 200 OK\r\n${"x".repeat(500)}\r\n\r\n`,
      /^Invalid response head: expected "name: value", got "x{80}\.\.\."$/,
    );
  });

  it("has a 64 KiB head cap", () => {
    expect(MAX_HEAD_BYTE_LENGTH).toBe(65536);
  });
});
