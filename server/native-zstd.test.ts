/**
 * The native codec on its own: it loads here (the optional dependency installs on linux-x64),
 * its frames gain the content size a receiver requires and decode (WebAssembly, the client's
 * codec) to exactly the raw bytes; ARRAYWIRE_ZSTD=wasm turns it off; the header rewrite on both
 * sides of the 4-byte field's range.
 */
import { createHash } from "node:crypto";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import {
  checkEncodedPayload,
  type DataEncodedMessage,
  loadZstd,
  readZstdFrameHeader,
  type ZstdCodec,
} from "../shared/index.ts";
import {
  type AsyncZstd,
  loadNativeZstd,
  nativeInstalled,
  withContentSize,
  ZSTD_IMPLEMENTATION_ENV,
} from "./native-zstd.ts";

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

let wasm: ZstdCodec;
beforeAll(async () => {
  wasm = await loadZstd();
});
afterEach(() => {
  vi.unstubAllEnvs();
});

function message(payload: Uint8Array, rawByteLength: number): DataEncodedMessage {
  return {
    type: "DATA_ENCODED",
    streamId: 1,
    payloadByteLength: payload.byteLength,
    byteOffset: 0,
    rawByteLength,
    codec: "zstd",
    filter: "none",
  };
}

describe("native zstd", () => {
  it.runIf(nativeInstalled() && process.env[ZSTD_IMPLEMENTATION_ENV] !== "wasm")(
    "loads here, and its frames declare their size and decode to the same bytes",
    async () => {
      const native = (await loadNativeZstd(() => {})) as AsyncZstd;
      expect(native).not.toBeNull();
      const values = Float64Array.from({ length: 300_000 }, (_, i) => Math.round(Math.sin(i / 100) * 1000));
      // A range in the middle, not at the start of its buffer.
      const raw = new Uint8Array(values.buffer, 8 * 1000, 8 * 250_000);
      const frame = await native.compress(raw, 1);
      expect(frame.byteLength).toBeLessThan(raw.byteLength / 2);
      expect(readZstdFrameHeader(frame).contentSize).toBe(raw.byteLength);
      expect(() => checkEncodedPayload(message(frame, raw.byteLength), frame)).not.toThrow();
      const decoded = wasm.decompress(frame, raw.byteLength);
      expect(sha256(decoded)).toBe(sha256(raw));
      // The level reaches the codec (the package's wrapper would drop it): 19 is smaller than 1.
      expect((await native.compress(raw, 19)).byteLength).toBeLessThan(frame.byteLength);
    },
  );

  it("is off with ARRAYWIRE_ZSTD=wasm", async () => {
    vi.stubEnv(ZSTD_IMPLEMENTATION_ENV, "wasm");
    expect(await loadNativeZstd(() => {})).toBeNull();
  });
});

describe("withContentSize", () => {
  /** A frame header without a content size (window descriptor 0x48), then one empty raw last block. */
  const bare = Uint8Array.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x48, 0x01, 0x00, 0x00]);

  it("writes a 4-byte size up to 2^32 - 1 and an 8-byte one past it, keeping the rest", () => {
    for (const size of [0, 1_048_576, 2 ** 32 - 1]) {
      const out = withContentSize(bare, size);
      expect(out.byteLength).toBe(bare.byteLength + 4);
      expect(readZstdFrameHeader(out)).toMatchObject({ contentSize: size, windowSize: 2 ** 19, headerByteLength: 10 });
      expect([...out.subarray(10)]).toEqual([...bare.subarray(6)]);
    }
    const past = withContentSize(bare, 2 ** 32);
    expect(past.byteLength).toBe(bare.byteLength + 8);
    expect(readZstdFrameHeader(past)).toMatchObject({ contentSize: 2 ** 32, headerByteLength: 14 });
  });

  it("leaves a frame that declares its size as it is", () => {
    const sized = wasm.compress(new Uint8Array(5000).fill(7), 1);
    expect(withContentSize(sized, 5000)).toBe(sized);
  });

  it("refuses what is not a zstd frame", () => {
    expect(() => withContentSize(Uint8Array.from([1, 2, 3, 4, 5, 6, 7]), 10)).toThrow(/expected magic/);
    expect(() => withContentSize(bare.subarray(0, 5), 10)).toThrow(/expected magic/);
  });
});
