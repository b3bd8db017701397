/**
 * arraywire/protocol: the isomorphic wire protocol (no Node or DOM APIs). server/ and client/
 * import from this file only.
 */

export { swapBytesInPlace } from "./byte-swap.ts";
export { byteWindow, forEachByteWindow, MAX_BYTE_WINDOW_LENGTH } from "./byte-windows.ts";
export type { Checksum } from "./checksum.ts";
export { createChecksum } from "./checksum.ts";
export { checkEncodedPayload, decodeChunkInto } from "./chunk-decode.ts";
export { crc32c } from "./crc32c.ts";
export { decodeMessage } from "./decode.ts";
export type { ArrayInfo, ArrayKind } from "./discovery.ts";
export { checkArrayInfo } from "./discovery.ts";
export type { Dtype, DtypeArray, DtypeArrays, DtypeOf, TypedArray, TypedArrayConstructor } from "./dtype.ts";
export {
  assertLittleEndianHost,
  DTYPE_BYTES_PER_ELEMENT,
  DTYPE_CODES,
  DTYPES,
  dtypeFromCode,
  dtypeOf,
  isDtypeSupported,
  typedArrayConstructor,
} from "./dtype.ts";
export {
  encodeAccept,
  encodeArrayHeader,
  encodeCancel,
  encodeCredit,
  encodeData,
  encodeDataEncoded,
  encodeEnd,
  encodeError,
  encodeGrow,
  encodeRequest,
} from "./encode.ts";
export type { ProtocolErrorCode, StreamErrorCode, StreamErrorOptions, WireErrorCode } from "./errors.ts";
export { isStreamErrorCode, ProtocolError, StreamError, TOO_BIG_CODES } from "./errors.ts";
export { headerByteLength } from "./http-body.ts";
export type { JsonObject, JsonValue } from "./json.ts";
export { MAX_JSON_DEPTH, parseJsonObject } from "./json.ts";
export type {
  AcceptMessage,
  ArrayHeaderMessage,
  CancelMessage,
  CreditMessage,
  DataEncodedMessage,
  DataMessage,
  DecodeLimits,
  EndMessage,
  ErrorMessage,
  GrowMessage,
  Message,
  RequestMessage,
} from "./message-types.ts";
export {
  ERROR_CODE_PATTERN,
  elementRangeProblem,
  encodeName,
  isWireErrorCode,
  nameLengthProblem,
  toHttpUrl,
  toWebSocketUrl,
} from "./names.ts";
export type {
  NpyDtype,
  NpyHeader,
  NpyHeaderInit,
  NpyParseOptions,
  NpyParseResult,
  NpyVersion,
} from "./npy.ts";
export { DEFAULT_NPY_MAX_HEADER_SIZE, encodeNpyHeader, NPY_MAX_NDIM, parseNpyHeader } from "./npy.ts";
export type { NpyErrorCode } from "./npy-errors.ts";
export { NpyError } from "./npy-errors.ts";
export type { ChecksumAlgorithm, ChunkCodec, ChunkFilter } from "./protocol.ts";
export {
  CHECKSUM_ALGORITHMS,
  CHUNK_CODECS,
  CHUNK_FILTERS,
  DEFAULT_MAX_CHUNK_BYTES,
  DEFAULT_MAX_CONTROL_BYTES,
  DEFAULT_MAX_TOTAL_BYTES,
  END_BYTE_LENGTH,
  HEADER_FIXED_BYTE_LENGTH,
  HTTP_CONTENT_TYPE,
  MAGIC,
  MAX_NAME_BYTES,
  MAX_NDIM,
  MAX_ZSTD_WINDOW_BYTES,
  MESSAGE_TYPES,
  PROTOCOL_VERSION,
  SUBPROTOCOL,
} from "./protocol.ts";
export { shuffleBytes, unshuffleBytes } from "./shuffle.ts";
export type { PutFields } from "./upload-wire.ts";
export { encodePut, readPutFields } from "./upload-wire.ts";
export { hasDataType, peekStreamId } from "./wire.ts";
export { Xxh32, xxh32 } from "./xxh32.ts";
export type { ZstdCodec } from "./zstd.ts";
export { loadZstd } from "./zstd.ts";
export type { ZstdFrameHeader } from "./zstd-frame.ts";
export { readZstdFrameHeader, ZSTD_MAGIC } from "./zstd-frame.ts";
