/**
 * Encoders and decoders of every control message (layout in protocol.ts and docs/PROTOCOL.md).
 * Decoding validates every field before anything is allocated for the array; the decoded object
 * is trusted from then on.
 */
import { DTYPE_BYTES_PER_ELEMENT, DTYPE_CODES, type Dtype, dtypeFromCode } from "./dtype.ts";
import { ProtocolError } from "./errors.ts";
import { type JsonObject, parseJsonObject } from "./json.ts";
import {
  CANCEL_BYTE_LENGTH,
  CHECKSUM_ALGORITHMS,
  type ChecksumAlgorithm,
  CREDIT_BYTE_LENGTH,
  DATA_BYTE_LENGTH,
  DEFAULT_MAX_CHUNK_BYTES,
  DEFAULT_MAX_CONTROL_BYTES,
  DEFAULT_MAX_TOTAL_BYTES,
  END_BYTE_LENGTH,
  ERROR_FIXED_BYTE_LENGTH,
  HEADER_FIXED_BYTE_LENGTH,
  LE,
  MAGIC,
  MAX_ERROR_CODE_BYTES,
  MAX_ERROR_MESSAGE_BYTES,
  MAX_NAME_BYTES,
  MAX_NDIM,
  MESSAGE_TYPES,
  OFFSET_CREDIT_GRANT_BYTES,
  OFFSET_DATA_BYTE_OFFSET,
  OFFSET_DATA_PAYLOAD_BYTES,
  OFFSET_DTYPE,
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
  OFFSET_HEADER_CHECKSUM_ALGORITHM,
  OFFSET_HEADER_META_BYTES,
  OFFSET_HEADER_NAME_BYTES,
  OFFSET_HEADER_RESERVED8,
  OFFSET_MAGIC,
  OFFSET_NDIM,
  OFFSET_RANGE_BYTE_END,
  OFFSET_RANGE_BYTE_START,
  OFFSET_REQUEST_CHECKSUM_ALGORITHM,
  OFFSET_REQUEST_CHUNK_BYTES,
  OFFSET_REQUEST_CREDIT_BYTES,
  OFFSET_REQUEST_ELEMENT_END,
  OFFSET_REQUEST_ELEMENT_START,
  OFFSET_REQUEST_FLAGS,
  OFFSET_REQUEST_GENERATION,
  OFFSET_REQUEST_NAME_BYTES,
  OFFSET_REQUEST_PARAMS_BYTES,
  OFFSET_REQUEST_RESERVED8,
  OFFSET_REQUEST_RESERVED32,
  OFFSET_REQUEST_RESUME_BYTE_OFFSET,
  OFFSET_SHAPE,
  OFFSET_STREAM_ID,
  OFFSET_TOTAL_BYTES,
  OFFSET_TYPE,
  OFFSET_VERSION,
  PREFIX_BYTE_LENGTH,
  PROTOCOL_VERSION,
  REQUEST_FIXED_BYTE_LENGTH,
  REQUEST_FLAG_GENERATION,
  REQUEST_FLAG_RANGE,
  REQUEST_FLAGS_KNOWN,
  SHAPE_DIM_BYTE_LENGTH,
} from "./protocol.ts";
import { decodeText, encodeText, expectZero, readPrefix, readU64, viewOf, writeU64 } from "./wire.ts";

/** A client's request for one array. */
export interface RequestMessage {
  type: "REQUEST";
  streamId: number;
  name: string;
  /** Source parameters (for generated arrays such as `arange`), or null. */
  params: JsonObject | null;
  /** Wanted chunk size in bytes; 0 = the server's default. */
  chunkByteLength: number;
  /** Element range [start, end) of the flattened array, or null for all of it. */
  range: { elementStart: number; elementEnd: number } | null;
  /** Resume point, in bytes from the first byte of the range. */
  resumeByteOffset: number;
  /** Initial credit window in bytes; 0 turns credit flow control off. */
  creditByteLength: number;
  /** Generation the resumed stream was started on, or null. */
  expectedGeneration: number | null;
  /** Checksum the END trailer should carry ("none" for none). */
  checksum: ChecksumAlgorithm;
}

/** More bytes the client is ready for on one stream. */
export interface CreditMessage {
  type: "CREDIT";
  streamId: number;
  grantByteLength: number;
}

/** The client no longer wants a stream. */
export interface CancelMessage {
  type: "CANCEL";
  streamId: number;
}

/** Describes the array (and the part of it) a stream carries; sent before any DATA. */
export interface ArrayHeaderMessage {
  type: "ARRAY_HEADER" | "PUT";
  streamId: number;
  dtype: Dtype;
  shape: number[];
  /** Byte length of the whole array: product(shape) * itemsize. */
  totalByteLength: number;
  /** First byte of the range this stream covers (multiple of itemsize). */
  rangeByteStart: number;
  /** End of the range, exclusive (multiple of itemsize). */
  rangeByteEnd: number;
  /** First byte this stream sends: rangeByteStart unless resuming. */
  firstByteOffset: number;
  /** Generation of the published array; a resume must name it. */
  generation: number;
  checksumAlgorithm: ChecksumAlgorithm;
  name: string;
  meta: JsonObject | null;
}

/** Announces the payload message that follows it. */
export interface DataMessage {
  type: "DATA";
  streamId: number;
  payloadByteLength: number;
  /** Offset in the array of the payload's first byte. */
  byteOffset: number;
}

/** Trailer: the stream sent every byte of its range. */
export interface EndMessage {
  type: "END";
  streamId: number;
  /** Bytes this stream sent (rangeByteEnd - firstByteOffset). */
  byteLength: number;
  checksumAlgorithm: ChecksumAlgorithm;
  /** Checksum of the whole range; 0 when checksumAlgorithm is "none". */
  checksum: number;
}

/** A stream (streamId > 0) or the connection (streamId 0) failed. */
export interface ErrorMessage {
  type: "ERROR";
  streamId: number;
  code: string;
  message: string;
}

/** Any control message. */
export type Message =
  | RequestMessage
  | CreditMessage
  | CancelMessage
  | ArrayHeaderMessage
  | DataMessage
  | EndMessage
  | ErrorMessage;

/** Caps a receiver applies while decoding. */
export interface DecodeLimits {
  /** Longest control message accepted, checked before any field is read. Defaults to 65_536 (64 KiB). */
  maxControlByteLength?: number;
  /** Largest array range the receiver agrees to allocate. Defaults to 2_147_483_648 (2 GiB). */
  maxTotalByteLength?: number;
  /** Largest payload one DATA may announce. Defaults to 67_108_864 (64 MiB). */
  maxChunkByteLength?: number;
}

const ALGORITHM_BY_CODE: ReadonlyMap<number, ChecksumAlgorithm> = new Map(
  (Object.keys(CHECKSUM_ALGORITHMS) as ChecksumAlgorithm[]).map((a) => [CHECKSUM_ALGORITHMS[a], a]),
);
const TYPE_NAME_BY_CODE: ReadonlyMap<number, Message["type"]> = new Map(
  (Object.keys(MESSAGE_TYPES) as (keyof typeof MESSAGE_TYPES)[]).map((k) => [MESSAGE_TYPES[k], k]),
);

/** DataView#setUint32 wraps (-1 becomes 0xffffffff, 2^32 becomes 0): refuse instead (a caller bug). */
function checkU32(value: number, field: string): number {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new RangeError(`Invalid ${field}: expected a u32, got ${value}`);
  }
  return value;
}

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

function encodeJson(value: JsonObject | null): Uint8Array {
  return value === null ? new Uint8Array(0) : encodeText(JSON.stringify(value));
}

function checkName(nameBytes: Uint8Array): void {
  if (nameBytes.byteLength < 1 || nameBytes.byteLength > MAX_NAME_BYTES) {
    throw new RangeError(`Invalid name: expected 1..${MAX_NAME_BYTES} UTF-8 bytes, got ${nameBytes.byteLength}`);
  }
}

/**
 * Encodes a REQUEST.
 * @throws {RangeError} for a name, offset or id out of range (a caller bug).
 */
export function encodeRequest(m: Omit<RequestMessage, "type">): Uint8Array {
  const name = encodeText(m.name);
  checkName(name);
  const params = encodeJson(m.params);
  const { bytes, view } = allocate(
    MESSAGE_TYPES.REQUEST,
    REQUEST_FIXED_BYTE_LENGTH + name.byteLength + params.byteLength,
    m.streamId,
  );
  const flags = (m.range ? REQUEST_FLAG_RANGE : 0) | (m.expectedGeneration !== null ? REQUEST_FLAG_GENERATION : 0);
  view.setUint16(OFFSET_REQUEST_FLAGS, flags, LE);
  view.setUint16(OFFSET_REQUEST_NAME_BYTES, name.byteLength, LE);
  view.setUint8(OFFSET_REQUEST_CHECKSUM_ALGORITHM, algorithmCode(m.checksum));
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

/** Encodes a CREDIT granting `grantByteLength` more bytes (> 0). */
export function encodeCredit(streamId: number, grantByteLength: number): Uint8Array {
  if (grantByteLength <= 0) throw new RangeError(`Invalid grantByteLength: expected > 0, got ${grantByteLength}`);
  const { bytes, view } = allocate(MESSAGE_TYPES.CREDIT, CREDIT_BYTE_LENGTH, streamId);
  writeU64(view, OFFSET_CREDIT_GRANT_BYTES, grantByteLength, "grantByteLength");
  return bytes;
}

/** Encodes a CANCEL. */
export function encodeCancel(streamId: number): Uint8Array {
  return allocate(MESSAGE_TYPES.CANCEL, CANCEL_BYTE_LENGTH, streamId).bytes;
}

/**
 * Encodes an ARRAY_HEADER (or a PUT, when `m.type` is "PUT").
 * @throws {RangeError} for a shape, range or name that is out of range (a caller bug).
 */
export function encodeArrayHeader(m: Omit<ArrayHeaderMessage, "type"> & { type?: "ARRAY_HEADER" | "PUT" }): Uint8Array {
  const name = encodeText(m.name);
  checkName(name);
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

/** Encodes a DATA announcing `payloadByteLength` (> 0) bytes at `byteOffset`. */
export function encodeData(streamId: number, byteOffset: number, payloadByteLength: number): Uint8Array {
  if (!Number.isInteger(payloadByteLength) || payloadByteLength <= 0 || payloadByteLength > 0xffffffff) {
    throw new RangeError(`Invalid payloadByteLength: expected 1..2^32-1, got ${payloadByteLength}`);
  }
  const { bytes, view } = allocate(MESSAGE_TYPES.DATA, DATA_BYTE_LENGTH, streamId);
  view.setUint32(OFFSET_DATA_PAYLOAD_BYTES, payloadByteLength, LE);
  writeU64(view, OFFSET_DATA_BYTE_OFFSET, byteOffset, "byteOffset");
  return bytes;
}

/** Encodes an END trailer. */
export function encodeEnd(m: Omit<EndMessage, "type">): Uint8Array {
  const { bytes, view } = allocate(MESSAGE_TYPES.END, END_BYTE_LENGTH, m.streamId);
  view.setUint8(OFFSET_END_CHECKSUM_ALGORITHM, algorithmCode(m.checksumAlgorithm));
  writeU64(view, OFFSET_END_BYTE_LENGTH, m.byteLength, "byteLength");
  writeU64(view, OFFSET_END_CHECKSUM, m.checksum, "checksum");
  return bytes;
}

/** Encodes an ERROR; the message is cut to MAX_ERROR_MESSAGE_BYTES. */
export function encodeError(streamId: number, code: string, message: string): Uint8Array {
  const codeBytes = encodeText(code);
  if (!/^[A-Z0-9_]{1,64}$/.test(code) || codeBytes.byteLength > MAX_ERROR_CODE_BYTES) {
    throw new RangeError(
      `Invalid error code: expected 1..${MAX_ERROR_CODE_BYTES} of [A-Z0-9_], got ${JSON.stringify(code)}`,
    );
  }
  let text = encodeText(message);
  if (text.byteLength > MAX_ERROR_MESSAGE_BYTES) text = encodeText(truncate(message, MAX_ERROR_MESSAGE_BYTES));
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

function truncate(text: string, maxBytes: number): string {
  // Cut the UTF-8 bytes, then step back to a code point boundary (continuation bytes are
  // 10xxxxxx): one encode and one decode, whatever the text.
  const bytes = encodeText(text);
  let end = maxBytes;
  while (end > 0 && ((bytes[end] as number) & 0xc0) === 0x80) end--;
  return new TextDecoder().decode(bytes.subarray(0, end));
}

function expectLength(actual: number, expected: number, what: string): void {
  if (actual < expected) {
    throw new ProtocolError("E_SHORT_MESSAGE", `Invalid ${what}: expected ${expected} bytes, got ${actual}`);
  }
  if (actual !== expected) {
    throw new ProtocolError("E_BAD_LENGTH", `Invalid ${what}: expected ${expected} bytes, got ${actual}`);
  }
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

/**
 * Wire code of a checksum algorithm.
 * @throws {TypeError} for a name not in CHECKSUM_ALGORITHMS (a caller bug).
 */
function algorithmCode(algorithm: ChecksumAlgorithm): number {
  const code = Object.hasOwn(CHECKSUM_ALGORITHMS, algorithm) ? CHECKSUM_ALGORITHMS[algorithm] : undefined;
  if (code === undefined) {
    throw new TypeError(
      `Invalid checksumAlgorithm: expected one of ${[...ALGORITHM_BY_CODE.values()].join(", ")}, got ${JSON.stringify(algorithm)}`,
    );
  }
  return code;
}

/**
 * Decodes one control message. `bytes` may be any view (odd byteOffset included).
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
      if (!/^[A-Z0-9_]+$/.test(code))
        throw new ProtocolError("E_BAD_TEXT", `Invalid error code: expected [A-Z0-9_]+, got ${JSON.stringify(code)}`);
      const message = decodeText(bytes, ERROR_FIXED_BYTE_LENGTH + codeByteLength, messageByteLength, "error message");
      return { type, streamId, code, message };
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
  expectZero(view.getUint8(OFFSET_REQUEST_RESERVED8), "REQUEST reserved");
  const checksum = readAlgorithm(view.getUint8(OFFSET_REQUEST_CHECKSUM_ALGORITHM));
  expectZero(view.getUint32(OFFSET_REQUEST_RESERVED32, LE), "REQUEST reserved");
  const nameByteLength = view.getUint16(OFFSET_REQUEST_NAME_BYTES, LE);
  const paramsByteLength = view.getUint32(OFFSET_REQUEST_PARAMS_BYTES, LE);
  if (nameByteLength < 1 || nameByteLength > MAX_NAME_BYTES) {
    throw new ProtocolError("E_BAD_LENGTH", `Invalid name: expected 1..${MAX_NAME_BYTES} bytes, got ${nameByteLength}`);
  }
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
  return {
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
  if (nameByteLength < 1 || nameByteLength > MAX_NAME_BYTES) {
    throw new ProtocolError("E_BAD_LENGTH", `Invalid name: expected 1..${MAX_NAME_BYTES} bytes, got ${nameByteLength}`);
  }
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
