import { describe, expect, it } from "vitest";
import * as checksum from "./checksum.ts";
import * as decode from "./decode.ts";
import * as encode from "./encode.ts";
import * as errors from "./errors.ts";
import * as shared from "./index.ts";
import * as xxh32 from "./xxh32.ts";

describe("arraywire/protocol public API", () => {
  it("exports exactly these names", () => {
    // A change here is an API change: review it, then update with `vitest -u`.
    expect(Object.keys(shared).sort()).toMatchInlineSnapshot(`
      [
        "CHECKSUM_ALGORITHMS",
        "CHUNK_CODECS",
        "CHUNK_FILTERS",
        "DEFAULT_MAX_CHUNK_BYTES",
        "DEFAULT_MAX_CONTROL_BYTES",
        "DEFAULT_MAX_TOTAL_BYTES",
        "DEFAULT_NPY_MAX_HEADER_SIZE",
        "DTYPES",
        "DTYPE_BYTES_PER_ELEMENT",
        "DTYPE_CODES",
        "END_BYTE_LENGTH",
        "ERROR_CODE_PATTERN",
        "HEADER_FIXED_BYTE_LENGTH",
        "HTTP_CONTENT_TYPE",
        "MAGIC",
        "MAX_BYTE_WINDOW_LENGTH",
        "MAX_JSON_DEPTH",
        "MAX_NAME_BYTES",
        "MAX_NDIM",
        "MAX_ZSTD_WINDOW_BYTES",
        "MESSAGE_TYPES",
        "NPY_MAX_NDIM",
        "NpyError",
        "PROTOCOL_VERSION",
        "ProtocolError",
        "SUBPROTOCOL",
        "StreamError",
        "TOO_BIG_CODES",
        "Xxh32",
        "ZSTD_MAGIC",
        "assertLittleEndianHost",
        "byteWindow",
        "checkArrayInfo",
        "checkEncodedPayload",
        "crc32c",
        "createChecksum",
        "decodeChunkInto",
        "decodeMessage",
        "dtypeFromCode",
        "dtypeOf",
        "elementRangeProblem",
        "encodeAccept",
        "encodeArrayHeader",
        "encodeCancel",
        "encodeCredit",
        "encodeData",
        "encodeDataEncoded",
        "encodeEnd",
        "encodeError",
        "encodeGrow",
        "encodeName",
        "encodeNpyHeader",
        "encodePut",
        "encodeRequest",
        "forEachByteWindow",
        "hasDataType",
        "headerByteLength",
        "isDtypeSupported",
        "isStreamErrorCode",
        "isWireErrorCode",
        "loadZstd",
        "nameLengthProblem",
        "parseJsonObject",
        "parseNpyHeader",
        "peekStreamId",
        "readPutFields",
        "readZstdFrameHeader",
        "shuffleBytes",
        "swapBytesInPlace",
        "toHttpUrl",
        "toWebSocketUrl",
        "typedArrayConstructor",
        "unshuffleBytes",
        "xxh32",
      ]
    `);
  });

  it("has no default export and exports only functions, classes and constants", () => {
    expect(shared).not.toHaveProperty("default");
    for (const [name, value] of Object.entries(shared)) {
      expect(["function", "number", "string", "object"], name).toContain(typeof value);
    }
  });

  it("re-exports the modules' own functions and classes, not copies", () => {
    expect(shared.decodeMessage).toBe(decode.decodeMessage);
    expect(shared.encodeArrayHeader).toBe(encode.encodeArrayHeader);
    expect(shared.encodeRequest).toBe(encode.encodeRequest);
    expect(shared.ProtocolError).toBe(errors.ProtocolError);
    expect(shared.createChecksum).toBe(checksum.createChecksum);
    expect(shared.Xxh32).toBe(xxh32.Xxh32);
    expect(shared.xxh32).toBe(xxh32.xxh32);
    expect(shared.decodeMessage(shared.encodeCancel(5))).toEqual({ type: "CANCEL", streamId: 5 });
  });
});
