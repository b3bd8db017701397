/**
 * The decoder of every control message (layout in protocol.ts and docs/PROTOCOL.md), the
 * receiving half of the codec (encode.ts is the sending half). It validates every field, in the
 * order docs/PROTOCOL.md lists the checks, before anything is allocated for the array; the
 * decoded object is trusted from then on.
 */
import { DTYPE_BYTES_PER_ELEMENT, dtypeFromCode } from "./dtype.ts";
import { ProtocolError } from "./errors.ts";
import { type JsonObject, parseJsonObject } from "./json.ts";
import type { ArrayHeaderMessage, DataEncodedMessage, DecodeLimits, Message, RequestMessage } from "./message-types.ts";
import { isWireErrorCode, nameLengthProblem } from "./names.ts";
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
  DEFAULT_MAX_CHUNK_BYTES,
  DEFAULT_MAX_CONTROL_BYTES,
  DEFAULT_MAX_TOTAL_BYTES,
  END_BYTE_LENGTH,
  ERROR_FIXED_BYTE_LENGTH,
  GROW_BYTE_LENGTH,
  HEADER_FIXED_BYTE_LENGTH,
  LE,
  MAX_ERROR_CODE_BYTES,
  MAX_ERROR_MESSAGE_BYTES,
  MAX_NDIM,
  MESSAGE_TYPES,
  OFFSET_ACCEPT_CREDIT_BYTES,
  OFFSET_ACCEPT_FIRST_BYTE_OFFSET,
  OFFSET_ACCEPT_MAX_PAYLOAD_BYTES,
  OFFSET_ACCEPT_RESERVED32,
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
  OFFSET_ENCODED_RESERVED16,
  OFFSET_END_BYTE_LENGTH,
  OFFSET_END_CHECKSUM,
  OFFSET_END_CHECKSUM_ALGORITHM,
  OFFSET_END_RESERVED8,
  OFFSET_END_RESERVED32,
  OFFSET_ERROR_CODE_BYTES,
  OFFSET_ERROR_MESSAGE_BYTES,
  OFFSET_ERROR_RESERVED8,
  OFFSET_FIRST_BYTE_OFFSET,
  OFFSET_GENERATION,
  OFFSET_GROW_MAX_TOTAL_BYTES,
  OFFSET_GROW_RESERVED32,
  OFFSET_GROW_TOTAL_BYTES,
  OFFSET_HEADER_CHECKSUM_ALGORITHM,
  OFFSET_HEADER_META_BYTES,
  OFFSET_HEADER_NAME_BYTES,
  OFFSET_HEADER_RESERVED8,
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
  OFFSET_REQUEST_RESERVED32,
  OFFSET_REQUEST_RESUME_BYTE_OFFSET,
  OFFSET_SHAPE,
  OFFSET_STREAM_ID,
  OFFSET_TOTAL_BYTES,
  PREFIX_BYTE_LENGTH,
  REQUEST_CODEC_ZSTD,
  REQUEST_CODECS_KNOWN,
  REQUEST_FIXED_BYTE_LENGTH,
  REQUEST_FLAG_GENERATION,
  REQUEST_FLAG_HEADER_ONLY,
  REQUEST_FLAG_RANGE,
  REQUEST_FLAG_SUBSCRIBE,
  REQUEST_FLAGS_KNOWN,
  SHAPE_DIM_BYTE_LENGTH,
} from "./protocol.ts";
import { decodeText, expectZero, readPrefix, readU64, viewOf } from "./wire.ts";

const ALGORITHM_BY_CODE: ReadonlyMap<number, ChecksumAlgorithm> = new Map(
  (Object.keys(CHECKSUM_ALGORITHMS) as ChecksumAlgorithm[]).map((a) => [CHECKSUM_ALGORITHMS[a], a]),
);
const CODEC_BY_CODE: ReadonlyMap<number, ChunkCodec> = new Map(
  (Object.keys(CHUNK_CODECS) as ChunkCodec[]).map((c) => [CHUNK_CODECS[c], c]),
);
const FILTER_BY_CODE: ReadonlyMap<number, ChunkFilter> = new Map(
  (Object.keys(CHUNK_FILTERS) as ChunkFilter[]).map((f) => [CHUNK_FILTERS[f], f]),
);
const TYPE_NAME_BY_CODE: ReadonlyMap<number, Message["type"]> = new Map(
  (Object.keys(MESSAGE_TYPES) as (keyof typeof MESSAGE_TYPES)[]).map((k) => [MESSAGE_TYPES[k], k]),
);

/**
 * Decodes one control message. `bytes` may be any view (odd byteOffset included); the decoder
 * reads only its window and keeps no state between calls.
 * @throws {@link ProtocolError} for anything that breaks the protocol or a limit, before allocating.
 */
export function decodeMessage(bytes: Uint8Array, limits: DecodeLimits = {}): Message {
  const maxControl = limits.maxControlByteLength ?? DEFAULT_MAX_CONTROL_BYTES;
  // Checked before any field is read: a hostile length costs nothing.
  if (bytes.byteLength > maxControl) {
    throw new ProtocolError(
      "E_HEADER_TOO_LARGE",
      `Control message too large: expected at most ${maxControl} bytes, got ${bytes.byteLength}`,
    );
  }
  if (bytes.byteLength < PREFIX_BYTE_LENGTH) {
    throw new ProtocolError(
      "E_SHORT_MESSAGE",
      `Invalid message: expected at least ${PREFIX_BYTE_LENGTH} bytes, got ${bytes.byteLength}`,
    );
  }
  const view = viewOf(bytes);
  const typeCode = readPrefix(view);
  const streamId = view.getUint32(OFFSET_STREAM_ID, LE);
  const type = TYPE_NAME_BY_CODE.get(typeCode);
  switch (type) {
    case "REQUEST":
      return decodeRequest(bytes, view, streamId);
    case "CREDIT": {
      expectLength(bytes.byteLength, CREDIT_BYTE_LENGTH, "CREDIT");
      expectZero(view.getUint16(6, LE), "CREDIT reserved");
      expectZero(view.getUint32(12, LE), "CREDIT reserved");
      const grantByteLength = readU64(view, OFFSET_CREDIT_GRANT_BYTES, "E_TOO_LARGE", "grantByteLength");
      if (grantByteLength === 0)
        throw new ProtocolError("E_BAD_LENGTH", "Invalid CREDIT: expected grantByteLength > 0, got 0");
      return { type, streamId, grantByteLength };
    }
    case "CANCEL":
      expectLength(bytes.byteLength, CANCEL_BYTE_LENGTH, "CANCEL");
      expectZero(view.getUint16(6, LE), "CANCEL reserved");
      expectZero(view.getUint32(12, LE), "CANCEL reserved");
      return { type, streamId };
    case "ARRAY_HEADER":
    case "PUT":
      return decodeArrayHeader(bytes, view, type, streamId, limits);
    case "DATA": {
      expectLength(bytes.byteLength, DATA_BYTE_LENGTH, "DATA");
      expectZero(view.getUint16(6, LE), "DATA reserved");
      const payloadByteLength = view.getUint32(OFFSET_DATA_PAYLOAD_BYTES, LE);
      const maxChunk = limits.maxChunkByteLength ?? DEFAULT_MAX_CHUNK_BYTES;
      if (payloadByteLength === 0)
        throw new ProtocolError("E_BAD_LENGTH", "Invalid DATA: expected payloadByteLength > 0, got 0");
      if (payloadByteLength > maxChunk) {
        throw new ProtocolError(
          "E_TOO_LARGE",
          `Chunk too large: expected at most ${maxChunk} bytes, got ${payloadByteLength}`,
        );
      }
      const byteOffset = readU64(view, OFFSET_DATA_BYTE_OFFSET, "E_BAD_RANGE", "byteOffset");
      return { type, streamId, payloadByteLength, byteOffset };
    }
    case "DATA_ENCODED":
      return decodeDataEncoded(bytes, view, streamId, limits);
    case "END": {
      expectLength(bytes.byteLength, END_BYTE_LENGTH, "END");
      expectZero(view.getUint8(OFFSET_END_RESERVED8), "END reserved");
      expectZero(view.getUint32(OFFSET_END_RESERVED32, LE), "END reserved");
      const checksumAlgorithm = readAlgorithm(view.getUint8(OFFSET_END_CHECKSUM_ALGORITHM));
      const byteLength = readU64(view, OFFSET_END_BYTE_LENGTH, "E_BAD_RANGE", "byteLength");
      const checksum = readU64(view, OFFSET_END_CHECKSUM, "E_RESERVED", "checksum");
      const maxChecksum = checksumAlgorithm === "none" ? 0 : 0xffffffff;
      if (checksum > maxChecksum) {
        throw new ProtocolError(
          "E_RESERVED",
          `Invalid END checksum: expected at most 0x${maxChecksum.toString(16)} for ${checksumAlgorithm}, got 0x${checksum.toString(16)}`,
        );
      }
      return { type, streamId, byteLength, checksumAlgorithm, checksum };
    }
    case "ERROR": {
      if (bytes.byteLength < ERROR_FIXED_BYTE_LENGTH) expectLength(bytes.byteLength, ERROR_FIXED_BYTE_LENGTH, "ERROR");
      expectZero(view.getUint8(OFFSET_ERROR_RESERVED8), "ERROR reserved");
      const codeByteLength = view.getUint8(OFFSET_ERROR_CODE_BYTES);
      const messageByteLength = view.getUint32(OFFSET_ERROR_MESSAGE_BYTES, LE);
      if (codeByteLength < 1 || codeByteLength > MAX_ERROR_CODE_BYTES || messageByteLength > MAX_ERROR_MESSAGE_BYTES) {
        throw new ProtocolError(
          "E_BAD_LENGTH",
          `Invalid ERROR: expected code 1..${MAX_ERROR_CODE_BYTES} and message <= ${MAX_ERROR_MESSAGE_BYTES} bytes, got ${codeByteLength} and ${messageByteLength}`,
        );
      }
      expectLength(bytes.byteLength, ERROR_FIXED_BYTE_LENGTH + codeByteLength + messageByteLength, "ERROR");
      const code = decodeText(bytes, ERROR_FIXED_BYTE_LENGTH, codeByteLength, "error code");
      if (!isWireErrorCode(code))
        throw new ProtocolError("E_BAD_TEXT", `Invalid error code: expected [A-Z0-9_]+, got ${JSON.stringify(code)}`);
      const message = decodeText(bytes, ERROR_FIXED_BYTE_LENGTH + codeByteLength, messageByteLength, "error message");
      return { type, streamId, code, message };
    }
    case "GROW": {
      expectLength(bytes.byteLength, GROW_BYTE_LENGTH, "GROW");
      expectZero(view.getUint16(6, LE), "GROW reserved");
      expectZero(view.getUint32(OFFSET_GROW_RESERVED32, LE), "GROW reserved");
      const totalByteLength = readU64(view, OFFSET_GROW_TOTAL_BYTES, "E_BAD_RANGE", "totalByteLength");
      const maxTotalByteLength = readU64(view, OFFSET_GROW_MAX_TOTAL_BYTES, "E_TOO_LARGE", "maxTotalByteLength");
      if (totalByteLength > maxTotalByteLength) {
        throw new ProtocolError(
          "E_BAD_RANGE",
          `Invalid GROW: expected totalByteLength <= maxTotalByteLength (${maxTotalByteLength}), got ${totalByteLength}`,
        );
      }
      return { type, streamId, totalByteLength, maxTotalByteLength };
    }
    case "ACCEPT": {
      expectLength(bytes.byteLength, ACCEPT_BYTE_LENGTH, "ACCEPT");
      expectZero(view.getUint16(6, LE), "ACCEPT reserved");
      expectZero(view.getUint32(OFFSET_ACCEPT_RESERVED32, LE), "ACCEPT reserved");
      const uploadId = view.getUint32(OFFSET_ACCEPT_UPLOAD_ID, LE);
      if (uploadId === 0) throw new ProtocolError("E_RESERVED", "Invalid ACCEPT: uploadId 0 is reserved");
      const firstByteOffset = readU64(view, OFFSET_ACCEPT_FIRST_BYTE_OFFSET, "E_BAD_RANGE", "firstByteOffset");
      const creditByteLength = readU64(view, OFFSET_ACCEPT_CREDIT_BYTES, "E_TOO_LARGE", "creditByteLength");
      const maxPayloadByteLength = view.getUint32(OFFSET_ACCEPT_MAX_PAYLOAD_BYTES, LE);
      if (creditByteLength === 0 || maxPayloadByteLength === 0) {
        throw new ProtocolError(
          "E_BAD_LENGTH",
          `Invalid ACCEPT: expected creditByteLength and maxPayloadByteLength > 0, got ${creditByteLength} and ${maxPayloadByteLength}`,
        );
      }
      return { type, streamId, uploadId, firstByteOffset, creditByteLength, maxPayloadByteLength };
    }
    default:
      throw new ProtocolError(
        "E_UNKNOWN_TYPE",
        `Unknown message type: got 0x${typeCode.toString(16).padStart(2, "0")}`,
      );
  }
}

function decodeRequest(bytes: Uint8Array, view: DataView, streamId: number): RequestMessage {
  if (bytes.byteLength < REQUEST_FIXED_BYTE_LENGTH)
    expectLength(bytes.byteLength, REQUEST_FIXED_BYTE_LENGTH, "REQUEST");
  const flags = view.getUint16(OFFSET_REQUEST_FLAGS, LE);
  if ((flags & ~REQUEST_FLAGS_KNOWN) !== 0) {
    throw new ProtocolError(
      "E_RESERVED",
      `Invalid REQUEST flags: unknown bits 0x${(flags & ~REQUEST_FLAGS_KNOWN).toString(16)}`,
    );
  }
  const codecBits = view.getUint8(OFFSET_REQUEST_CODECS);
  if ((codecBits & ~REQUEST_CODECS_KNOWN) !== 0) {
    throw new ProtocolError(
      "E_RESERVED",
      `Invalid REQUEST codecs: unknown bits 0x${(codecBits & ~REQUEST_CODECS_KNOWN).toString(16)}`,
    );
  }
  const checksum = readAlgorithm(view.getUint8(OFFSET_REQUEST_CHECKSUM_ALGORITHM));
  expectZero(view.getUint32(OFFSET_REQUEST_RESERVED32, LE), "REQUEST reserved");
  const nameByteLength = view.getUint16(OFFSET_REQUEST_NAME_BYTES, LE);
  const paramsByteLength = view.getUint32(OFFSET_REQUEST_PARAMS_BYTES, LE);
  expectNameLength(nameByteLength);
  expectLength(bytes.byteLength, REQUEST_FIXED_BYTE_LENGTH + nameByteLength + paramsByteLength, "REQUEST");
  const elementStart = readU64(view, OFFSET_REQUEST_ELEMENT_START, "E_BAD_RANGE", "elementStart");
  const elementEnd = readU64(view, OFFSET_REQUEST_ELEMENT_END, "E_BAD_RANGE", "elementEnd");
  const hasRange = (flags & REQUEST_FLAG_RANGE) !== 0;
  if (hasRange ? elementEnd < elementStart : elementStart !== 0 || elementEnd !== 0) {
    throw new ProtocolError(
      "E_BAD_RANGE",
      `Invalid element range: got [${elementStart}, ${elementEnd}) with range flag ${hasRange ? "set" : "clear"}`,
    );
  }
  const hasGeneration = (flags & REQUEST_FLAG_GENERATION) !== 0;
  const generation = view.getUint32(OFFSET_REQUEST_GENERATION, LE);
  if (!hasGeneration) expectZero(generation, "expectedGeneration without its flag");
  const message: RequestMessage = {
    type: "REQUEST",
    streamId,
    name: decodeText(bytes, REQUEST_FIXED_BYTE_LENGTH, nameByteLength, "name"),
    params: readJson(bytes, REQUEST_FIXED_BYTE_LENGTH + nameByteLength, paramsByteLength, "params"),
    chunkByteLength: view.getUint32(OFFSET_REQUEST_CHUNK_BYTES, LE),
    range: hasRange ? { elementStart, elementEnd } : null,
    resumeByteOffset: readU64(view, OFFSET_REQUEST_RESUME_BYTE_OFFSET, "E_BAD_RANGE", "resumeByteOffset"),
    creditByteLength: readU64(view, OFFSET_REQUEST_CREDIT_BYTES, "E_TOO_LARGE", "creditByteLength"),
    expectedGeneration: hasGeneration ? generation : null,
    checksum,
  };
  // Present only when set, so that a request without them equals one written before they existed.
  if ((flags & REQUEST_FLAG_HEADER_ONLY) !== 0) message.headerOnly = true;
  if ((flags & REQUEST_FLAG_SUBSCRIBE) !== 0) message.subscribe = true;
  if ((codecBits & REQUEST_CODEC_ZSTD) !== 0) message.codecs = ["zstd"];
  return message;
}

/**
 * DATA_ENCODED: checks in order D1 length, D2 reserved, D3 codec and filter, D4 lengths, D5 the
 * raw length against the chunk cap, then the offset.
 */
function decodeDataEncoded(
  bytes: Uint8Array,
  view: DataView,
  streamId: number,
  limits: DecodeLimits,
): DataEncodedMessage {
  expectLength(bytes.byteLength, DATA_ENCODED_BYTE_LENGTH, "DATA_ENCODED");
  expectZero(view.getUint16(6, LE), "DATA_ENCODED reserved");
  expectZero(view.getUint16(OFFSET_ENCODED_RESERVED16, LE), "DATA_ENCODED reserved");
  const codec = CODEC_BY_CODE.get(view.getUint8(OFFSET_ENCODED_CODEC));
  const filter = FILTER_BY_CODE.get(view.getUint8(OFFSET_ENCODED_FILTER));
  if (codec === undefined || filter === undefined) {
    throw new ProtocolError(
      "E_RESERVED",
      `Invalid DATA_ENCODED: expected codec 1 and filter 0 or 1, got ${view.getUint8(OFFSET_ENCODED_CODEC)} and ${view.getUint8(OFFSET_ENCODED_FILTER)}`,
    );
  }
  const payloadByteLength = view.getUint32(OFFSET_ENCODED_PAYLOAD_BYTES, LE);
  const rawByteLength = view.getUint32(OFFSET_ENCODED_RAW_BYTES, LE);
  if (payloadByteLength === 0 || payloadByteLength > rawByteLength) {
    throw new ProtocolError(
      "E_BAD_LENGTH",
      `Invalid DATA_ENCODED: expected 0 < payloadByteLength <= rawByteLength, got ${payloadByteLength} and ${rawByteLength}`,
    );
  }
  const maxChunk = limits.maxChunkByteLength ?? DEFAULT_MAX_CHUNK_BYTES;
  if (rawByteLength > maxChunk) {
    throw new ProtocolError(
      "E_TOO_LARGE",
      `Chunk too large: expected at most ${maxChunk} raw bytes, got ${rawByteLength}`,
    );
  }
  const byteOffset = readU64(view, OFFSET_ENCODED_BYTE_OFFSET, "E_BAD_RANGE", "byteOffset");
  return { type: "DATA_ENCODED", streamId, payloadByteLength, byteOffset, rawByteLength, codec, filter };
}

function decodeArrayHeader(
  bytes: Uint8Array,
  view: DataView,
  type: "ARRAY_HEADER" | "PUT",
  streamId: number,
  limits: DecodeLimits,
): ArrayHeaderMessage {
  if (bytes.byteLength < HEADER_FIXED_BYTE_LENGTH) expectLength(bytes.byteLength, HEADER_FIXED_BYTE_LENGTH, type);
  const dtype = dtypeFromCode(view.getUint8(OFFSET_DTYPE));
  const ndim = view.getUint8(OFFSET_NDIM);
  if (ndim > MAX_NDIM)
    throw new ProtocolError("E_BAD_SHAPE", `Invalid shape: expected at most ${MAX_NDIM} dims, got ${ndim}`);
  expectZero(view.getUint8(OFFSET_HEADER_RESERVED8), `${type} reserved`);
  const checksumAlgorithm = readAlgorithm(view.getUint8(OFFSET_HEADER_CHECKSUM_ALGORITHM));
  const nameByteLength = view.getUint16(OFFSET_HEADER_NAME_BYTES, LE);
  const metaByteLength = view.getUint32(OFFSET_HEADER_META_BYTES, LE);
  expectNameLength(nameByteLength);
  const shapeEnd = OFFSET_SHAPE + ndim * SHAPE_DIM_BYTE_LENGTH;
  expectLength(bytes.byteLength, shapeEnd + nameByteLength + metaByteLength, type);

  const itemsize = DTYPE_BYTES_PER_ELEMENT[dtype];
  const shape: number[] = [];
  for (let i = 0; i < ndim; i++) {
    shape.push(readU64(view, OFFSET_SHAPE + i * SHAPE_DIM_BYTE_LENGTH, "E_BAD_SHAPE", `shape[${i}]`));
  }
  // A zero dim empties the array whatever the other dims are (numpy accepts shape (2**60, 0)), so
  // [2**50, 0] must not fail an overflow check that [0, 2**50] passes.
  let elementCount = shape.includes(0) ? 0 : 1;
  for (let i = 0; i < ndim; i++) {
    elementCount *= shape[i] as number;
    if (elementCount * itemsize > Number.MAX_SAFE_INTEGER) {
      throw new ProtocolError(
        "E_BAD_SHAPE",
        `Invalid shape: product(shape) * ${itemsize} overflows Number.MAX_SAFE_INTEGER at dim ${i}`,
      );
    }
  }
  const totalByteLength = readU64(view, OFFSET_TOTAL_BYTES, "E_TOO_LARGE", "totalByteLength");
  if (totalByteLength !== elementCount * itemsize) {
    throw new ProtocolError(
      "E_SIZE_MISMATCH",
      `Invalid totalByteLength: expected product(shape) * ${itemsize} = ${elementCount * itemsize}, got ${totalByteLength}`,
    );
  }
  const rangeByteStart = readU64(view, OFFSET_RANGE_BYTE_START, "E_BAD_RANGE", "rangeByteStart");
  const rangeByteEnd = readU64(view, OFFSET_RANGE_BYTE_END, "E_BAD_RANGE", "rangeByteEnd");
  const firstByteOffset = readU64(view, OFFSET_FIRST_BYTE_OFFSET, "E_BAD_RANGE", "firstByteOffset");
  if (
    rangeByteStart > rangeByteEnd ||
    rangeByteEnd > totalByteLength ||
    rangeByteStart % itemsize !== 0 ||
    rangeByteEnd % itemsize !== 0 ||
    firstByteOffset < rangeByteStart ||
    firstByteOffset > rangeByteEnd
  ) {
    throw new ProtocolError(
      "E_BAD_RANGE",
      `Invalid range: expected itemsize-aligned start <= first <= end <= ${totalByteLength}, got [${rangeByteStart}, ${rangeByteEnd}) first ${firstByteOffset}`,
    );
  }
  const maxTotal = limits.maxTotalByteLength ?? DEFAULT_MAX_TOTAL_BYTES;
  if (rangeByteEnd - rangeByteStart > maxTotal) {
    throw new ProtocolError(
      "E_TOO_LARGE",
      `Array too large: expected at most ${maxTotal} bytes, got ${rangeByteEnd - rangeByteStart}`,
    );
  }
  return {
    type,
    streamId,
    dtype,
    shape,
    totalByteLength,
    rangeByteStart,
    rangeByteEnd,
    firstByteOffset,
    generation: view.getUint32(OFFSET_GENERATION, LE),
    checksumAlgorithm,
    name: decodeText(bytes, shapeEnd, nameByteLength, "name"),
    meta: readJson(bytes, shapeEnd + nameByteLength, metaByteLength, "meta"),
  };
}

/** E_SHORT_MESSAGE below `expected` bytes, E_BAD_LENGTH above: trailing bytes are never allowed. */
function expectLength(actual: number, expected: number, what: string): void {
  if (actual < expected) {
    throw new ProtocolError("E_SHORT_MESSAGE", `Invalid ${what}: expected ${expected} bytes, got ${actual}`);
  }
  if (actual !== expected) {
    throw new ProtocolError("E_BAD_LENGTH", `Invalid ${what}: expected ${expected} bytes, got ${actual}`);
  }
}

/** A declared name length outside 1..MAX_NAME_BYTES is E_BAD_LENGTH, checked before the name is read. */
function expectNameLength(nameByteLength: number): void {
  const problem = nameLengthProblem(nameByteLength);
  if (problem !== null) throw new ProtocolError("E_BAD_LENGTH", problem);
}

function readJson(bytes: Uint8Array, start: number, byteLength: number, what: string): JsonObject | null {
  return byteLength === 0 ? null : parseJsonObject(decodeText(bytes, start, byteLength, what), what);
}

function readAlgorithm(code: number): ChecksumAlgorithm {
  const algorithm = ALGORITHM_BY_CODE.get(code);
  if (algorithm === undefined) {
    throw new ProtocolError(
      "E_RESERVED",
      `Invalid checksumAlgorithm: expected 0..${ALGORITHM_BY_CODE.size - 1}, got ${code}`,
    );
  }
  return algorithm;
}
