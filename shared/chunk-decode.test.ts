/**
 * The DATA_ENCODED payload decoder: frame header checks that run before the codec (lying
 * lengths, windows, dictionaries, malformed headers), both sides of each bound, and decoding
 * into a window in the middle of a larger target with the codec the library ships.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { checkEncodedPayload, decodeChunkInto } from "./chunk-decode.ts";
import { ProtocolError } from "./errors.ts";
import type { DataEncodedMessage } from "./message-types.ts";
import { MAX_ZSTD_WINDOW_BYTES } from "./protocol.ts";
import { shuffleBytes } from "./shuffle.ts";
import { loadZstd, type ZstdCodec } from "./zstd.ts";
import { readZstdFrameHeader } from "./zstd-frame.ts";

/**
 * A valid zstd frame of raw blocks (no compression) for `content`, written by hand so that each
 * header field can be chosen: `windowDescriptor` (null: single segment) and the content size field.
 */
function rawFrame(
  content: Uint8Array,
  opts: { windowDescriptor?: number | null; contentSizeBytes?: 0 | 2 | 4 | 8; declaredSize?: number } = {},
): Uint8Array {
  const windowDescriptor = opts.windowDescriptor === undefined ? 0x48 : opts.windowDescriptor; // 512 KiB
  const fcsBytes = opts.contentSizeBytes ?? 4;
  const declared = opts.declaredSize ?? content.byteLength;
  const fcsFlag = { 0: 0, 2: 1, 4: 2, 8: 3 }[fcsBytes];
  const single = windowDescriptor === null;
  const head: number[] = [0x28, 0xb5, 0x2f, 0xfd, (fcsFlag << 6) | (single ? 0x20 : 0)];
  if (!single) head.push(windowDescriptor);
  const size = fcsBytes === 2 ? declared - 256 : declared;
  for (let i = 0; i < fcsBytes; i++) head.push(Math.floor(size / 2 ** (8 * i)) & 0xff);
  const blocks: number[] = [];
  const max = 128 * 1024;
  for (let at = 0; at < content.byteLength || at === 0; at += max) {
    const piece = content.subarray(at, at + max);
    const last = at + max >= content.byteLength ? 1 : 0;
    const header = last | (piece.byteLength << 3); // block type 0: raw
    blocks.push(header & 0xff, (header >> 8) & 0xff, (header >> 16) & 0xff, ...piece);
    if (content.byteLength === 0) break;
  }
  return Uint8Array.from([...head, ...blocks]);
}

function announce(payload: Uint8Array, rawByteLength: number, filter: "none" | "shuffle" = "none"): DataEncodedMessage {
  return {
    type: "DATA_ENCODED",
    streamId: 1,
    payloadByteLength: payload.byteLength,
    byteOffset: 0,
    rawByteLength,
    codec: "zstd",
    filter,
  };
}

/** A codec that records whether it was asked to decode (the checks must run before it). */
function spyCodec(): ZstdCodec & { calls: number } {
  const spy = {
    calls: 0,
    compress: () => {
      throw new Error("not used");
    },
    decompress: (_: Uint8Array, raw: number) => {
      spy.calls++;
      return new Uint8Array(raw);
    },
  };
  return spy;
}

function expectRefused(fn: () => void, code: string, message: RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(ProtocolError);
  expect((caught as ProtocolError).code).toBe(code);
  expect((caught as ProtocolError).message).toMatch(message);
}

const content = Uint8Array.from({ length: 1000 }, (_, i) => (i * 7) & 0xff);

describe("readZstdFrameHeader", () => {
  it("reads each content size field width, and a single-segment frame's window (its content size)", () => {
    expect(readZstdFrameHeader(rawFrame(content, { contentSizeBytes: 2 }))).toMatchObject({ contentSize: 1000 });
    expect(readZstdFrameHeader(rawFrame(content, { contentSizeBytes: 4 }))).toMatchObject({
      contentSize: 1000,
      windowSize: 512 * 1024,
      dictionaryId: 0,
      headerByteLength: 10,
    });
    expect(readZstdFrameHeader(rawFrame(content, { contentSizeBytes: 8 }))).toMatchObject({ contentSize: 1000 });
    expect(readZstdFrameHeader(rawFrame(content, { contentSizeBytes: 0 }))).toMatchObject({ contentSize: null });
    expect(readZstdFrameHeader(rawFrame(content, { windowDescriptor: null }))).toMatchObject({
      contentSize: 1000,
      windowSize: 1000,
    });
  });

  it("computes windows from exponent and mantissa: 8 MiB exactly, and the next step up (9 MiB)", () => {
    expect(readZstdFrameHeader(rawFrame(content, { windowDescriptor: 13 << 3 })).windowSize).toBe(8 * 1024 * 1024);
    expect(readZstdFrameHeader(rawFrame(content, { windowDescriptor: (13 << 3) | 1 })).windowSize).toBe(
      9 * 1024 * 1024,
    );
    expect(readZstdFrameHeader(rawFrame(content, { windowDescriptor: 0 })).windowSize).toBe(1024);
  });

  it("refuses a wrong magic, a reserved bit, and headers cut short (one byte short of each length)", () => {
    const good = rawFrame(content);
    const badMagic = good.slice();
    badMagic[0] = 0x29;
    expectRefused(() => readZstdFrameHeader(badMagic), "E_BAD_ENCODING", /expected magic 0xfd2fb528, got 0xfd2fb529/);
    const reserved = good.slice();
    reserved[4] = (reserved[4] as number) | 0x08;
    expectRefused(() => readZstdFrameHeader(reserved), "E_BAD_ENCODING", /reserved bit 3/);
    expectRefused(() => readZstdFrameHeader(good.subarray(0, 5)), "E_BAD_ENCODING", /at least 6 bytes, got 5/);
    expectRefused(() => readZstdFrameHeader(good.subarray(0, 9)), "E_BAD_ENCODING", /a 10-byte header, got 9 bytes/);
    expect(readZstdFrameHeader(good.subarray(0, 10)).contentSize).toBe(1000);
  });

  it("refuses an 8-byte content size above Number.MAX_SAFE_INTEGER", () => {
    const huge = rawFrame(content, { contentSizeBytes: 8 });
    huge[13] = 0x00;
    huge[12] = 0x20; // high half 0x00200000: 2^53
    expectRefused(() => readZstdFrameHeader(huge), "E_TOO_LARGE", /MAX_SAFE_INTEGER/);
  });
});

describe("checkEncodedPayload (before any decoding)", () => {
  it("refuses a frame whose content size is one byte under or over the declared raw length", () => {
    for (const declaredSize of [999, 1001]) {
      const payload = rawFrame(content, { declaredSize });
      const codec = spyCodec();
      expectRefused(
        () => decodeChunkInto(codec, announce(payload, 1000), payload, new Uint8Array(1000), 8),
        "E_BAD_LENGTH",
        new RegExp(`expected content size 1000 \\(rawByteLength\\), got ${declaredSize}`),
      );
      expect(codec.calls).toBe(0);
    }
  });

  it("refuses a frame without a content size, and a payload of another length than announced", () => {
    const noSize = rawFrame(content, { contentSizeBytes: 0 });
    expectRefused(() => checkEncodedPayload(announce(noSize, 1000), noSize), "E_BAD_LENGTH", /got none/);
    const payload = rawFrame(content);
    const message = { ...announce(payload, 1000), payloadByteLength: payload.byteLength + 1 };
    expectRefused(() => checkEncodedPayload(message, payload), "E_BAD_LENGTH", /expected \d+ bytes, got \d+/);
  });

  it("accepts a window of exactly 8 MiB and refuses the next larger one, before decoding", () => {
    const at = rawFrame(content, { windowDescriptor: 13 << 3 });
    const over = rawFrame(content, { windowDescriptor: (13 << 3) | 1 });
    const codec = spyCodec();
    decodeChunkInto(codec, announce(at, 1000), at, new Uint8Array(1000), 8);
    expect(codec.calls).toBe(1);
    expectRefused(
      () => decodeChunkInto(codec, announce(over, 1000), over, new Uint8Array(1000), 8),
      "E_TOO_LARGE",
      new RegExp(`at most ${MAX_ZSTD_WINDOW_BYTES} bytes, got ${9 * 1024 * 1024}`),
    );
    expect(codec.calls).toBe(1);
  });

  it("refuses a frame that names a dictionary", () => {
    const payload = rawFrame(content);
    const withDict = Uint8Array.from([
      ...payload.subarray(0, 4),
      (payload[4] as number) | 0x01,
      payload[5] as number,
      7,
      ...payload.subarray(6),
    ]);
    expectRefused(
      () => checkEncodedPayload(announce(withDict, 1000), withDict),
      "E_BAD_ENCODING",
      /no dictionary, got id 7/,
    );
  });
});

describe("decodeChunkInto with the shipped codec", () => {
  let zstd: ZstdCodec;
  beforeAll(async () => {
    zstd = await loadZstd();
  });

  /** A float64 ramp with noise: compresses, and every byte position matters. */
  function floats(n: number, seed: number): Uint8Array {
    const a = new Float64Array(n);
    for (let i = 0; i < n; i++) a[i] = Math.sin((i + seed) / 50) * 1000 + ((i * 2654435761) % 97) / 97;
    return new Uint8Array(a.buffer);
  }

  it("decodes a hand-written raw-block frame (a conforming encoder need not compress)", () => {
    const payload = rawFrame(content);
    const target = new Uint8Array(1000);
    decodeChunkInto(zstd, announce(payload, 1000), payload, target, 1);
    expect(target).toEqual(content);
  });

  it.each(["none", "shuffle"] as const)(
    "decodes a %s chunk into a window in the middle, leaving the rest alone",
    (filter) => {
      const raw = floats(4096, 3);
      let source = raw;
      if (filter === "shuffle") {
        source = new Uint8Array(raw.byteLength);
        shuffleBytes(raw, source, 8);
      }
      const payload = zstd.compress(source, 1);
      expect(payload.byteLength).toBeLessThan(raw.byteLength);
      const host = new Uint8Array(raw.byteLength + 64 * 2).fill(0xa5);
      const window = host.subarray(64, 64 + raw.byteLength);
      decodeChunkInto(zstd, announce(payload, raw.byteLength, filter), payload, window, 8);
      expect(window).toEqual(raw);
      expect(host.subarray(0, 64).every((b) => b === 0xa5)).toBe(true);
      expect(host.subarray(64 + raw.byteLength).every((b) => b === 0xa5)).toBe(true);
    },
  );

  it("refuses a corrupt body (header intact) with E_BAD_ENCODING and a frame with a second one glued on", () => {
    const raw = floats(4096, 5);
    const payload = zstd.compress(raw, 1);
    const corrupt = payload.slice(0, payload.byteLength - 7);
    expectRefused(
      () => decodeChunkInto(zstd, announce(corrupt, raw.byteLength), corrupt, new Uint8Array(raw.byteLength), 8),
      "E_BAD_ENCODING",
      /Invalid zstd frame/,
    );
    const twice = Uint8Array.from([...payload, ...payload]);
    expectRefused(
      () => decodeChunkInto(zstd, announce(twice, raw.byteLength), twice, new Uint8Array(raw.byteLength), 8),
      "E_BAD_ENCODING",
      /Invalid zstd frame/,
    );
  });

  it("refuses a target that is not rawByteLength bytes (a caller bug)", () => {
    const payload = rawFrame(content);
    expect(() => decodeChunkInto(zstd, announce(payload, 1000), payload, new Uint8Array(999), 1)).toThrow(RangeError);
  });
});
