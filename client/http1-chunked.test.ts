import { describe, expect, it } from "vitest";
import { ChunkedDecoder, MAX_CHUNK_LINE_BYTE_LENGTH } from "./http1-chunked.ts";
import { NodeSocketError } from "./node-socket-error.ts";
import { concat, encodeChunked, latin1, patternBytes } from "./test-fixtures/test-helpers.ts";

/** Feeds `pieces` in order; returns the data, the bytes consumed per piece, and whether it is done. */
function decodeAll(pieces: Uint8Array[]): { data: Uint8Array; consumed: number[]; done: boolean } {
  const decoder = new ChunkedDecoder();
  const data: Uint8Array[] = [];
  const consumed = pieces.map((piece) => decoder.decode(piece, (d) => data.push(d.slice())));
  return { data: concat(...data), consumed, done: decoder.done };
}

function decodeError(wire: Uint8Array): NodeSocketError {
  const decoder = new ChunkedDecoder();
  try {
    decoder.decode(wire, () => {});
  } catch (err) {
    expect(err).toBeInstanceOf(NodeSocketError);
    expect((err as NodeSocketError).code).toBe("EBADCHUNK");
    return err as NodeSocketError;
  }
  throw new Error("expected EBADCHUNK");
}

describe("ChunkedDecoder", () => {
  const body = patternBytes(300, 7);
  const wire = encodeChunked(body, [1, 16, 255, 28], { ext: ";a=b", trailers: "X-T: 1\r\n" });

  it("decodes sizes in either case, extensions and trailers, and is done after the last CRLF", () => {
    const { data, consumed, done } = decodeAll([
      latin1("A;x\r\n0123456789\r\nf\r\nabcdefghijklmno\r\n0\r\nT: v\r\n\r\n"),
    ]);
    expect(Buffer.from(data).toString()).toBe("0123456789abcdefghijklmno");
    expect(consumed).toEqual([48]);
    expect(done).toBe(true);
  });

  it("gives the same body for the wire cut into pieces of 1 byte", () => {
    const pieces = Array.from(wire, (_, i) => wire.subarray(i, i + 1));
    const { data, done } = decodeAll(pieces);
    expect(data).toEqual(body);
    expect(done).toBe(true);
  });

  it("gives the same body for the wire cut in two at every offset", () => {
    for (let cut = 0; cut <= wire.byteLength; cut++) {
      const { data, done } = decodeAll([wire.subarray(0, cut), wire.subarray(cut)]);
      expect(data).toEqual(body);
      expect(done).toBe(true);
    }
  });

  it("hands data on as views of the input, not copies", () => {
    const input = latin1("5\r\nhello\r\n");
    const views: Uint8Array[] = [];
    new ChunkedDecoder().decode(input, (d) => views.push(d));
    expect(views).toHaveLength(1);
    expect(views[0]?.buffer).toBe(input.buffer);
    expect(views[0]?.byteOffset).toBe(input.byteOffset + 3);
  });

  it("stops at the end of the body and reports the bytes that belong to it", () => {
    const { consumed } = decodeAll([concat(latin1("3\r\nabc\r\n0\r\n\r\n"), latin1("HTTP/1.1 200"))]);
    expect(consumed).toEqual([13]);
  });

  it("says how many data bytes come next, and lets them be skipped (read elsewhere)", () => {
    const decoder = new ChunkedDecoder();
    expect(decoder.dataByteLength).toBe(0);
    decoder.decode(latin1("1f4\r\nab"), () => {});
    expect(decoder.dataByteLength).toBe(498);
    expect(() => decoder.skipData(499)).toThrow(RangeError);
    decoder.skipData(497);
    expect(decoder.dataByteLength).toBe(1);
    decoder.skipData(1);
    expect(decoder.dataByteLength).toBe(0); // the CRLF after the data comes next
    const data: Uint8Array[] = [];
    expect(decoder.decode(latin1("\r\n2\r\nxy\r\n0\r\n\r\n"), (d) => data.push(d))).toBe(14);
    expect(Buffer.from(concat(...data)).toString()).toBe("xy");
    expect(decoder.done).toBe(true);
  });

  it("accepts a 13-digit size (below 2^52) and refuses a 14-digit one", () => {
    const decoder = new ChunkedDecoder();
    decoder.decode(latin1("fffffffffffff\r\n"), () => {});
    expect(decoder.dataByteLength).toBe(2 ** 52 - 1);
    expect(decodeError(latin1("10000000000000\r\n")).message).toMatch(/at most 13 hex digits/);
  });

  it("accepts a size line of exactly 4096 bytes and refuses one byte more", () => {
    const line = (n: number) => latin1(`1;${"e".repeat(n - 2)}\r\nx\r\n0\r\n\r\n`);
    expect(decodeAll([line(MAX_CHUNK_LINE_BYTE_LENGTH)]).done).toBe(true);
    expect(decodeError(line(MAX_CHUNK_LINE_BYTE_LENGTH + 1)).message).toMatch(/over 4096 bytes/);
  });

  it("accepts trailers up to 64 KiB and refuses more", () => {
    const trailers = (n: number) => latin1(`0\r\nX: ${"t".repeat(n - 7)}\r\n\r\n`);
    expect(decodeAll([trailers(65536)]).done).toBe(true);
    expect(decodeError(trailers(65537)).message).toMatch(/trailers over 65536 bytes/);
  });

  it.each([
    ["no size", "\r\n", /expected a hex chunk size/],
    ["a non-hex size", "g\r\n", /expected a hex chunk size/],
    ["a sign", "+5\r\n", /expected a hex chunk size/],
    ["garbage after the size", "5x\r\n", /expected a hex digit, ";" or CRLF/],
    ["a bare LF after the size", "5\n", /expected a hex digit/],
    ["CR without LF after the size", "5\rx", /expected LF after CR/],
    ["a control byte in an extension", "5;a\u0001\r\n", /without control bytes/],
    ["a bare LF in an extension", "5;a\n", /without control bytes/],
    ["data longer than its size", "3\r\nabcd\r\n", /expected CRLF after chunk data/],
    ["LF alone after the data", "3\r\nabc\n", /expected CRLF after chunk data/],
    ["CR then garbage after the data", "3\r\nabc\rx", /expected CRLF after chunk data/],
    ["a bare LF after the last chunk", "0\r\n\n", /expected a trailer field or CRLF/],
    ["a control byte in a trailer", "0\r\nA: \u0001\r\n\r\n", /without control bytes/],
    ["CR then garbage at the end", "0\r\n\rx", /expected LF after CR in the trailer/],
  ])("refuses %s with EBADCHUNK", (_what, wireText, message) => {
    expect(decodeError(latin1(wireText)).message).toMatch(message);
  });

  it("stays failed after an error", () => {
    const decoder = new ChunkedDecoder();
    expect(() => decoder.decode(latin1("zz"), () => {})).toThrow(NodeSocketError);
    expect(() => decoder.decode(latin1("5\r\nhello\r\n"), () => {})).toThrow(/expected a hex chunk size/);
  });
});
