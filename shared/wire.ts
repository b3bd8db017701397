/**
 * Low-level field readers and writers used by the message codec: u64 as two u32 halves (no BigInt
 * on the hot path), UTF-8 text with validation, and the common prefix check.
 */
import { ProtocolError, type ProtocolErrorCode } from "./errors.ts";
import {
  LE,
  MAGIC,
  MESSAGE_TYPES,
  OFFSET_MAGIC,
  OFFSET_STREAM_ID,
  OFFSET_TYPE,
  OFFSET_VERSION,
  PREFIX_BYTE_LENGTH,
  PROTOCOL_VERSION,
} from "./protocol.ts";

const TWO_POW_32 = 2 ** 32;
/** Highest valid high half of a u64 that is still <= Number.MAX_SAFE_INTEGER (2^53 - 1). */
const MAX_SAFE_HIGH = 0x1fffff;

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** A DataView over exactly the view's own window (never `new DataView(b.buffer)`). */
export function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Reads a little-endian u64 as a Number.
 * @throws {@link ProtocolError} with `code` when the value is above Number.MAX_SAFE_INTEGER.
 */
export function readU64(view: DataView, offset: number, code: ProtocolErrorCode, field: string): number {
  const low = view.getUint32(offset, LE);
  const high = view.getUint32(offset + 4, LE);
  if (high > MAX_SAFE_HIGH) {
    // The maximum safe integer in JavaScript is 2^53 - 1 (ws receiver getPayloadLength64 does the same).
    throw new ProtocolError(
      code,
      `Invalid ${field}: expected at most Number.MAX_SAFE_INTEGER, got 0x${high.toString(16).padStart(8, "0")}${low.toString(16).padStart(8, "0")}`,
    );
  }
  return high * TWO_POW_32 + low;
}

/**
 * Writes a non-negative safe integer as a little-endian u64.
 * @throws {RangeError} for a negative, fractional or unsafe value (a caller bug).
 */
export function writeU64(view: DataView, offset: number, value: number, field: string): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`Invalid ${field}: expected a non-negative safe integer, got ${value}`);
  }
  view.setUint32(offset, value % TWO_POW_32, LE);
  view.setUint32(offset + 4, Math.floor(value / TWO_POW_32), LE);
}

/** UTF-8 bytes of `text`. */
export function encodeText(text: string): Uint8Array {
  return textEncoder.encode(text);
}

/**
 * Decodes UTF-8 from `bytes[start, start + byteLength)`.
 * @throws {@link ProtocolError} `E_BAD_TEXT` for invalid UTF-8.
 */
export function decodeText(bytes: Uint8Array, start: number, byteLength: number, field: string): string {
  try {
    return textDecoder.decode(bytes.subarray(start, start + byteLength));
  } catch (cause) {
    throw new ProtocolError("E_BAD_TEXT", `Invalid ${field}: not valid UTF-8`, { cause });
  }
}

/**
 * Stream id a (possibly malformed) control message names, read without validating anything
 * else, or 0 when it is too short to name one. Lets a receiver answer or fail the right stream
 * after a decode error.
 */
export function peekStreamId(bytes: Uint8Array): number {
  return bytes.byteLength >= PREFIX_BYTE_LENGTH ? viewOf(bytes).getUint32(OFFSET_STREAM_ID, LE) : 0;
}

/**
 * True when a message long enough to name a stream has the DATA or DATA_ENCODED type byte. After
 * a decode error that is not E_BAD_MAGIC / E_BAD_VERSION, such a message's payload is still on
 * the way.
 */
export function hasDataType(bytes: Uint8Array): boolean {
  if (bytes.byteLength < PREFIX_BYTE_LENGTH) return false;
  const type = bytes[OFFSET_TYPE];
  return type === MESSAGE_TYPES.DATA || type === MESSAGE_TYPES.DATA_ENCODED;
}

/**
 * Checks the magic and version of a control message and returns its type byte.
 * The caller has already checked that `bytes` holds at least the prefix.
 * @throws {@link ProtocolError} `E_BAD_MAGIC` or `E_BAD_VERSION`.
 */
export function readPrefix(view: DataView): number {
  const magic = view.getUint32(OFFSET_MAGIC, LE);
  if (magic !== MAGIC) {
    throw new ProtocolError(
      "E_BAD_MAGIC",
      `Invalid message: expected magic 0x${MAGIC.toString(16)}, got 0x${magic.toString(16).padStart(8, "0")}`,
    );
  }
  const version = view.getUint8(OFFSET_VERSION);
  if (version !== PROTOCOL_VERSION) {
    throw new ProtocolError(
      "E_BAD_VERSION",
      `Unsupported protocol version: expected ${PROTOCOL_VERSION}, got ${version}`,
    );
  }
  return view.getUint8(OFFSET_TYPE);
}

/**
 * Throws `E_RESERVED` unless a reserved field is zero.
 * @throws {@link ProtocolError} `E_RESERVED`.
 */
export function expectZero(value: number, field: string): void {
  if (value !== 0) throw new ProtocolError("E_RESERVED", `Invalid ${field}: reserved, expected 0, got ${value}`);
}
