/**
 * Encoders of every control message (layout in protocol.ts and docs/PROTOCOL.md), the sending
 * half of the codec (decode.ts is the receiving half, as ws keeps Sender and Receiver apart).
 * Each returns one new Uint8Array holding exactly one message. Bad arguments are caller bugs:
 * they throw a RangeError or TypeError synchronously and never reach the wire.
 */
import { DTYPE_CODES } from "./dtype.ts";
import type { JsonObject } from "./json.ts";
import type {
  AcceptMessage,
  ArrayHeaderMessage,
  DataEncodedMessage,
  EndMessage,
  GrowMessage,
  RequestMessage,
} from "./message-types.ts";
import { encodeName, isWireErrorCode } from "./names.ts";
import {
  ACCEPT_BYTE_LENGTH,
  CANCEL_BYTE_LENGTH,
  CHECKSUM_ALGORITHMS,
  CHUNK_CODECS,
  CHUNK_FILTERS,
  type ChecksumAlgorithm,
  type ChunkCodec,
  type ChunkFilter,
  CREDIT_BYTE_LENGTH,
  DATA_BYTE_LENGTH,
  DATA_ENCODED_BYTE_LENGTH,
  END_BYTE_LENGTH,
  ERROR_FIXED_BYTE_LENGTH,
  GROW_BYTE_LENGTH,
  LE,
  MAGIC,
  MAX_ERROR_CODE_BYTES,
  MAX_ERROR_MESSAGE_BYTES,
  MAX_NDIM,
  MESSAGE_TYPES,
  OFFSET_ACCEPT_CREDIT_BYTES,
  OFFSET_ACCEPT_FIRST_BYTE_OFFSET,
  OFFSET_ACCEPT_MAX_PAYLOAD_BYTES,
  OFFSET_ACCEPT_UPLOAD_ID,
  OFFSET_CREDIT_GRANT_BYTES,
  OFFSET_DATA_BYTE_OFFSET,
  OFFSET_DATA_PAYLOAD_BYTES,
  OFFSET_DTYPE,
  OFFSET_ENCODED_BYTE_OFFSET,
  OFFSET_ENCODED_CODEC,
  OFFSET_ENCODED_FILTER,
  OFFSET_ENCODED_PAYLOAD_BYTES,
  OFFSET_ENCODED_RAW_BYTES,
  OFFSET_END_BYTE_LENGTH,
  OFFSET_END_CHECKSUM,
  OFFSET_END_CHECKSUM_ALGORITHM,
  OFFSET_ERROR_CODE_BYTES,
  OFFSET_ERROR_MESSAGE_BYTES,
  OFFSET_FIRST_BYTE_OFFSET,
  OFFSET_GENERATION,
  OFFSET_GROW_MAX_TOTAL_BYTES,
  OFFSET_GROW_TOTAL_BYTES,
  OFFSET_HEADER_CHECKSUM_ALGORITHM,
  OFFSET_HEADER_META_BYTES,
  OFFSET_HEADER_NAME_BYTES,
  OFFSET_MAGIC,
  OFFSET_NDIM,
  OFFSET_RANGE_BYTE_END,
  OFFSET_RANGE_BYTE_START,
  OFFSET_REQUEST_CHECKSUM_ALGORITHM,
  OFFSET_REQUEST_CHUNK_BYTES,
  OFFSET_REQUEST_CODECS,
  OFFSET_REQUEST_CREDIT_BYTES,
  OFFSET_REQUEST_ELEMENT_END,
  OFFSET_REQUEST_ELEMENT_START,
  OFFSET_REQUEST_FLAGS,
  OFFSET_REQUEST_GENERATION,
  OFFSET_REQUEST_NAME_BYTES,
  OFFSET_REQUEST_PARAMS_BYTES,
  OFFSET_REQUEST_RESUME_BYTE_OFFSET,
  OFFSET_SHAPE,
  OFFSET_STREAM_ID,
  OFFSET_TOTAL_BYTES,
  OFFSET_TYPE,
  OFFSET_VERSION,
  PROTOCOL_VERSION,
  REQUEST_CODEC_ZSTD,
  REQUEST_FIXED_BYTE_LENGTH,
  REQUEST_FLAG_GENERATION,
  REQUEST_FLAG_HEADER_ONLY,
  REQUEST_FLAG_RANGE,
  REQUEST_FLAG_SUBSCRIBE,
  SHAPE_DIM_BYTE_LENGTH,
} from "./protocol.ts";
import { encodeText, viewOf, writeU64 } from "./wire.ts";

/** DataView#setUint32 wraps (-1 becomes 0xffffffff, 2^32 becomes 0): refuse instead (a caller bug). */
function checkU32(value: number, field: string): number {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new RangeError(`Invalid ${field}: expected a u32, got ${value}`);
  }
  return value;
}

/** A zeroed message of `byteLength` bytes with its 12-byte prefix written. */
function allocate(type: number, byteLength: number, streamId: number): { bytes: Uint8Array; view: DataView } {
  checkU32(streamId, "streamId");
  const bytes = new Uint8Array(byteLength);
  const view = viewOf(bytes);
  view.setUint32(OFFSET_MAGIC, MAGIC, LE);
  view.setUint8(OFFSET_VERSION, PROTOCOL_VERSION);
  view.setUint8(OFFSET_TYPE, type);
  view.setUint32(OFFSET_STREAM_ID, streamId, LE);
  return { bytes, view };
}

/** Compact JSON (JSON.stringify), or no bytes for null (a length of 0 means absent). */
function encodeJson(value: JsonObject | null): Uint8Array {
  return value === null ? new Uint8Array(0) : encodeText(JSON.stringify(value));
}

/**
 * Wire code of a checksum algorithm.
 * @throws {TypeError} for a name not in CHECKSUM_ALGORITHMS (a caller bug).
 */
function algorithmCode(algorithm: ChecksumAlgorithm): number {
  if (!Object.hasOwn(CHECKSUM_ALGORITHMS, algorithm)) {
    throw new TypeError(
      `Invalid checksumAlgorithm: expected one of ${Object.keys(CHECKSUM_ALGORITHMS).join(", ")}, got ${JSON.stringify(algorithm)}`,
    );
  }
  return CHECKSUM_ALGORITHMS[algorithm];
}

/**
 * REQUEST byte 15 for a list of codecs.
 * @throws {TypeError} for a codec name not in CHUNK_CODECS (a caller bug).
 */
function codecBits(codecs: readonly ChunkCodec[]): number {
  let bits = 0;
  for (const codec of codecs) {
    if (codec !== "zstd") throw new TypeError(`Invalid codec: expected "zstd", got ${JSON.stringify(codec)}`);
    bits |= REQUEST_CODEC_ZSTD;
  }
  return bits;
}

/**
 * Encodes a REQUEST.
 * @throws {RangeError} for a name, offset or id out of range (a caller bug).
 * @throws {TypeError} for an unknown checksum algorithm.
 */
export function encodeRequest(m: Omit<RequestMessage, "type">): Uint8Array {
  const name = encodeName(m.name);
  const params = encodeJson(m.params);
  const { bytes, view } = allocate(
    MESSAGE_TYPES.REQUEST,
    REQUEST_FIXED_BYTE_LENGTH + name.byteLength + params.byteLength,
    m.streamId,
  );
  const flags =
    (m.range ? REQUEST_FLAG_RANGE : 0) |
    (m.expectedGeneration !== null ? REQUEST_FLAG_GENERATION : 0) |
    (m.headerOnly ? REQUEST_FLAG_HEADER_ONLY : 0) |
    (m.subscribe ? REQUEST_FLAG_SUBSCRIBE : 0);
  view.setUint16(OFFSET_REQUEST_FLAGS, flags, LE);
  view.setUint16(OFFSET_REQUEST_NAME_BYTES, name.byteLength, LE);
  view.setUint8(OFFSET_REQUEST_CHECKSUM_ALGORITHM, algorithmCode(m.checksum));
  view.setUint8(OFFSET_REQUEST_CODECS, codecBits(m.codecs ?? []));
  view.setUint32(OFFSET_REQUEST_PARAMS_BYTES, params.byteLength, LE);
  view.setUint32(OFFSET_REQUEST_CHUNK_BYTES, checkU32(m.chunkByteLength, "chunkByteLength"), LE);
  writeU64(view, OFFSET_REQUEST_ELEMENT_START, m.range?.elementStart ?? 0, "elementStart");
  writeU64(view, OFFSET_REQUEST_ELEMENT_END, m.range?.elementEnd ?? 0, "elementEnd");
  writeU64(view, OFFSET_REQUEST_RESUME_BYTE_OFFSET, m.resumeByteOffset, "resumeByteOffset");
  writeU64(view, OFFSET_REQUEST_CREDIT_BYTES, m.creditByteLength, "creditByteLength");
  view.setUint32(OFFSET_REQUEST_GENERATION, checkU32(m.expectedGeneration ?? 0, "expectedGeneration"), LE);
  bytes.set(name, REQUEST_FIXED_BYTE_LENGTH);
  bytes.set(params, REQUEST_FIXED_BYTE_LENGTH + name.byteLength);
  return bytes;
}

/**
 * Encodes a CREDIT granting `grantByteLength` more bytes.
 * @throws {RangeError} for a grant that is not a positive safe integer, or a bad stream id.
 */
export function encodeCredit(streamId: number, grantByteLength: number): Uint8Array {
  if (grantByteLength <= 0) throw new RangeError(`Invalid grantByteLength: expected > 0, got ${grantByteLength}`);
  const { bytes, view } = allocate(MESSAGE_TYPES.CREDIT, CREDIT_BYTE_LENGTH, streamId);
  writeU64(view, OFFSET_CREDIT_GRANT_BYTES, grantByteLength, "grantByteLength");
  return bytes;
}

/**
 * Encodes a CANCEL.
 * @throws {RangeError} for a stream id that is not a u32.
 */
export function encodeCancel(streamId: number): Uint8Array {
  return allocate(MESSAGE_TYPES.CANCEL, CANCEL_BYTE_LENGTH, streamId).bytes;
}

/**
 * Encodes an ARRAY_HEADER (or a PUT, when `m.type` is "PUT"; ARRAY_HEADER when it is left out).
 * @throws {RangeError} for a shape, range or name that is out of range (a caller bug).
 * @throws {TypeError} for an unknown dtype or checksum algorithm.
 */
export function encodeArrayHeader(m: Omit<ArrayHeaderMessage, "type"> & { type?: "ARRAY_HEADER" | "PUT" }): Uint8Array {
  const name = encodeName(m.name);
  const meta = encodeJson(m.meta);
  if (m.shape.length > MAX_NDIM)
    throw new RangeError(`Invalid shape: expected at most ${MAX_NDIM} dims, got ${m.shape.length}`);
  if (!Object.hasOwn(DTYPE_CODES, m.dtype))
    throw new TypeError(`Invalid dtype: expected a Dtype, got ${JSON.stringify(m.dtype)}`);
  const shapeEnd = OFFSET_SHAPE + m.shape.length * SHAPE_DIM_BYTE_LENGTH;
  const { bytes, view } = allocate(
    MESSAGE_TYPES[m.type ?? "ARRAY_HEADER"],
    shapeEnd + name.byteLength + meta.byteLength,
    m.streamId,
  );
  view.setUint8(OFFSET_DTYPE, DTYPE_CODES[m.dtype]);
  view.setUint8(OFFSET_NDIM, m.shape.length);
  view.setUint16(OFFSET_HEADER_NAME_BYTES, name.byteLength, LE);
  view.setUint8(OFFSET_HEADER_CHECKSUM_ALGORITHM, algorithmCode(m.checksumAlgorithm));
  view.setUint32(OFFSET_HEADER_META_BYTES, meta.byteLength, LE);
  view.setUint32(OFFSET_GENERATION, checkU32(m.generation, "generation"), LE);
  writeU64(view, OFFSET_TOTAL_BYTES, m.totalByteLength, "totalByteLength");
  writeU64(view, OFFSET_RANGE_BYTE_START, m.rangeByteStart, "rangeByteStart");
  writeU64(view, OFFSET_RANGE_BYTE_END, m.rangeByteEnd, "rangeByteEnd");
  writeU64(view, OFFSET_FIRST_BYTE_OFFSET, m.firstByteOffset, "firstByteOffset");
  m.shape.forEach((dim, i) => {
    writeU64(view, OFFSET_SHAPE + i * SHAPE_DIM_BYTE_LENGTH, dim, `shape[${i}]`);
  });
  bytes.set(name, shapeEnd);
  bytes.set(meta, shapeEnd + name.byteLength);
  return bytes;
}

/**
 * Encodes a DATA announcing `payloadByteLength` (1..2^32 - 1) bytes at `byteOffset`.
 * @throws {RangeError} for a length or offset out of range, or a bad stream id.
 */
export function encodeData(streamId: number, byteOffset: number, payloadByteLength: number): Uint8Array {
  if (!Number.isInteger(payloadByteLength) || payloadByteLength <= 0 || payloadByteLength > 0xffffffff) {
    throw new RangeError(`Invalid payloadByteLength: expected 1..2^32-1, got ${payloadByteLength}`);
  }
  const { bytes, view } = allocate(MESSAGE_TYPES.DATA, DATA_BYTE_LENGTH, streamId);
  view.setUint32(OFFSET_DATA_PAYLOAD_BYTES, payloadByteLength, LE);
  writeU64(view, OFFSET_DATA_BYTE_OFFSET, byteOffset, "byteOffset");
  return bytes;
}

/**
 * Encodes an END trailer.
 * @throws {RangeError} for a byte length or checksum that is not a safe integer, or a bad stream id.
 * @throws {TypeError} for an unknown checksum algorithm.
 */
export function encodeEnd(m: Omit<EndMessage, "type">): Uint8Array {
  const { bytes, view } = allocate(MESSAGE_TYPES.END, END_BYTE_LENGTH, m.streamId);
  view.setUint8(OFFSET_END_CHECKSUM_ALGORITHM, algorithmCode(m.checksumAlgorithm));
  writeU64(view, OFFSET_END_BYTE_LENGTH, m.byteLength, "byteLength");
  writeU64(view, OFFSET_END_CHECKSUM, m.checksum, "checksum");
  return bytes;
}

/**
 * Encodes a GROW (a live array's new byte length, and the most it can hold).
 * @throws {RangeError} for lengths that are not safe integers, a total over the maximum, or a bad stream id.
 */
export function encodeGrow(m: Omit<GrowMessage, "type">): Uint8Array {
  if (m.totalByteLength > m.maxTotalByteLength) {
    throw new RangeError(
      `Invalid GROW: expected totalByteLength <= maxTotalByteLength (${m.maxTotalByteLength}), got ${m.totalByteLength}`,
    );
  }
  const { bytes, view } = allocate(MESSAGE_TYPES.GROW, GROW_BYTE_LENGTH, m.streamId);
  writeU64(view, OFFSET_GROW_TOTAL_BYTES, m.totalByteLength, "totalByteLength");
  writeU64(view, OFFSET_GROW_MAX_TOTAL_BYTES, m.maxTotalByteLength, "maxTotalByteLength");
  return bytes;
}

/**
 * Encodes an ACCEPT (the server takes an upload).
 * @throws {RangeError} for an uploadId of 0, a credit or maxPayloadByteLength of 0, values out of
 *   range, or a bad stream id.
 */
export function encodeAccept(m: Omit<AcceptMessage, "type">): Uint8Array {
  if (m.uploadId === 0) throw new RangeError("Invalid uploadId: expected 1..2^32-1, got 0");
  if (m.creditByteLength <= 0)
    throw new RangeError(`Invalid creditByteLength: expected > 0, got ${m.creditByteLength}`);
  if (m.maxPayloadByteLength <= 0) {
    throw new RangeError(`Invalid maxPayloadByteLength: expected > 0, got ${m.maxPayloadByteLength}`);
  }
  const { bytes, view } = allocate(MESSAGE_TYPES.ACCEPT, ACCEPT_BYTE_LENGTH, m.streamId);
  view.setUint32(OFFSET_ACCEPT_UPLOAD_ID, checkU32(m.uploadId, "uploadId"), LE);
  writeU64(view, OFFSET_ACCEPT_FIRST_BYTE_OFFSET, m.firstByteOffset, "firstByteOffset");
  writeU64(view, OFFSET_ACCEPT_CREDIT_BYTES, m.creditByteLength, "creditByteLength");
  view.setUint32(OFFSET_ACCEPT_MAX_PAYLOAD_BYTES, checkU32(m.maxPayloadByteLength, "maxPayloadByteLength"), LE);
  return bytes;
}

/**
 * Encodes an ERROR; a message longer than MAX_ERROR_MESSAGE_BYTES (4096) UTF-8 bytes is cut at a
 * character boundary.
 * @throws {RangeError} for a code that is not 1..64 of [A-Z0-9_] (see isWireErrorCode), or a bad stream id.
 */
export function encodeError(streamId: number, code: string, message: string): Uint8Array {
  if (!isWireErrorCode(code)) {
    throw new RangeError(
      `Invalid error code: expected 1..${MAX_ERROR_CODE_BYTES} of [A-Z0-9_], got ${JSON.stringify(code)}`,
    );
  }
  const codeBytes = encodeText(code);
  const text = truncatedText(message, MAX_ERROR_MESSAGE_BYTES);
  const { bytes, view } = allocate(
    MESSAGE_TYPES.ERROR,
    ERROR_FIXED_BYTE_LENGTH + codeBytes.byteLength + text.byteLength,
    streamId,
  );
  view.setUint8(OFFSET_ERROR_CODE_BYTES, codeBytes.byteLength);
  view.setUint32(OFFSET_ERROR_MESSAGE_BYTES, text.byteLength, LE);
  bytes.set(codeBytes, ERROR_FIXED_BYTE_LENGTH);
  bytes.set(text, ERROR_FIXED_BYTE_LENGTH + codeBytes.byteLength);
  return bytes;
}

/** UTF-8 bytes of `text`, cut to at most `maxBytes` at a code point boundary. */
function truncatedText(text: string, maxBytes: number): Uint8Array {
  const bytes = encodeText(text);
  if (bytes.byteLength <= maxBytes) return bytes;
  // Step back from the cut to a code point boundary: continuation bytes are 10xxxxxx.
  let end = maxBytes;
  while (end > 0 && ((bytes[end] as number) & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end);
}

/**
 * Encodes a DATA_ENCODED announcing `payloadByteLength` encoded bytes that decode to the
 * `rawByteLength` array bytes starting at `byteOffset`.
 * @throws {RangeError} for a length that is 0, above u32, or a payload longer than its raw bytes.
 * @throws {TypeError} for an unknown codec or filter.
 */
export function encodeDataEncoded(m: Omit<DataEncodedMessage, "type">): Uint8Array {
  checkU32(m.rawByteLength, "rawByteLength");
  checkU32(m.payloadByteLength, "payloadByteLength");
  if (m.payloadByteLength === 0 || m.payloadByteLength > m.rawByteLength) {
    throw new RangeError(
      `Invalid payloadByteLength: expected 1..${m.rawByteLength} (rawByteLength), got ${m.payloadByteLength}`,
    );
  }
  if (!Object.hasOwn(CHUNK_CODECS, m.codec) || !Object.hasOwn(CHUNK_FILTERS, m.filter)) {
    throw new TypeError(`Invalid codec or filter: got ${JSON.stringify(m.codec)}, ${JSON.stringify(m.filter)}`);
  }
  const { bytes, view } = allocate(MESSAGE_TYPES.DATA_ENCODED, DATA_ENCODED_BYTE_LENGTH, m.streamId);
  view.setUint32(OFFSET_ENCODED_PAYLOAD_BYTES, m.payloadByteLength, LE);
  writeU64(view, OFFSET_ENCODED_BYTE_OFFSET, m.byteOffset, "byteOffset");
  view.setUint32(OFFSET_ENCODED_RAW_BYTES, m.rawByteLength, LE);
  view.setUint8(OFFSET_ENCODED_CODEC, CHUNK_CODECS[m.codec as ChunkCodec]);
  view.setUint8(OFFSET_ENCODED_FILTER, CHUNK_FILTERS[m.filter as ChunkFilter]);
  return bytes;
}
