/**
 * A table of malformed control messages: each row is the bytes (a valid message mutated, or
 * literal bytes), the ProtocolError code and a regex of the message, asserted for class + code +
 * message by decodeMessage, again on a copy at an odd byteOffset inside garbage, and once more
 * through the real ArrayClient (a fake WebSocket answers its REQUEST with the row's bytes). Rows
 * that declare an array over the receiver's cap also check that nothing that big was allocated.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type ArrayResult, Assembler } from "../client/assembler.ts";
import { ArrayClient, type ConnectOptions, type FetchOptions } from "../client/connection.ts";
import { type AllocationSpy, fakeWebSocket, type ServerMessage, spyOnAllocations } from "../client/test-helpers.ts";
import { decodeMessage } from "./decode.ts";
import { DTYPE_BYTES_PER_ELEMENT, DTYPES, type Dtype, isDtypeSupported } from "./dtype.ts";
import {
  encodeArrayHeader,
  encodeCancel,
  encodeCredit,
  encodeData,
  encodeEnd,
  encodeError,
  encodeRequest,
} from "./encode.ts";
import { ProtocolError, type ProtocolErrorCode, StreamError, TOO_BIG_CODES } from "./errors.ts";
import type { ArrayHeaderMessage, DecodeLimits } from "./message-types.ts";
import { xxh32 } from "./xxh32.ts";

// ---------------------------------------------------------------------------------------------
// Valid fixtures, as literal bytes (offsets from the layout table in protocol.ts).
// ---------------------------------------------------------------------------------------------

const ascii = (text: string): number[] => [...new TextEncoder().encode(text)];

/** float64 [3, 4] "temps", xxh32, meta {"unit":"K"}: 56 + 16 + 5 + 12 = 89 bytes. */
// biome-ignore format: one field per line, as in the layout table
const HEADER = new Uint8Array([
  0x41, 0x52, 0x57, 0x52,             //  0 magic "ARWR"
  0x01,                               //  4 version 1
  0x10,                               //  5 type ARRAY_HEADER
  0x0a,                               //  6 dtype float64
  0x02,                               //  7 ndim 2
  0x07, 0x00, 0x00, 0x00,             //  8 streamId 7
  0x05, 0x00,                         // 12 nameByteLength 5
  0x02,                               // 14 checksumAlgorithm xxh32
  0x00,                               // 15 reserved
  0x0c, 0x00, 0x00, 0x00,             // 16 metaByteLength 12
  0x2a, 0x00, 0x00, 0x00,             // 20 generation 42
  0x60, 0, 0, 0, 0, 0, 0, 0,          // 24 totalByteLength 96
  0x00, 0, 0, 0, 0, 0, 0, 0,          // 32 rangeByteStart 0
  0x60, 0, 0, 0, 0, 0, 0, 0,          // 40 rangeByteEnd 96
  0x00, 0, 0, 0, 0, 0, 0, 0,          // 48 firstByteOffset 0
  0x03, 0, 0, 0, 0, 0, 0, 0,          // 56 shape[0] 3
  0x04, 0, 0, 0, 0, 0, 0, 0,          // 64 shape[1] 4
  ...ascii("temps"),                  // 72 name
  ...ascii('{"unit":"K"}'),           // 77 meta
]);

/** Element range [2, 10), generation 3, crc32c, params {"n":10}: 64 + 5 + 8 = 77 bytes. */
// biome-ignore format: one field per line, as in the layout table
const REQUEST = new Uint8Array([
  0x41, 0x52, 0x57, 0x52,             //  0 magic "ARWR"
  0x01,                               //  4 version 1
  0x01,                               //  5 type REQUEST
  0x03, 0x00,                         //  6 flags RANGE | GENERATION
  0x05, 0x00, 0x00, 0x00,             //  8 streamId 5
  0x05, 0x00,                         // 12 nameByteLength 5
  0x01,                               // 14 checksumAlgorithm crc32c
  0x00,                               // 15 reserved
  0x08, 0x00, 0x00, 0x00,             // 16 paramsByteLength 8
  0x00, 0x04, 0x00, 0x00,             // 20 chunkByteLength 1024
  0x02, 0, 0, 0, 0, 0, 0, 0,          // 24 elementStart 2
  0x0a, 0, 0, 0, 0, 0, 0, 0,          // 32 elementEnd 10
  0x00, 0, 0, 0, 0, 0, 0, 0,          // 40 resumeByteOffset 0
  0x00, 0x10, 0, 0, 0, 0, 0, 0,       // 48 creditByteLength 4096
  0x03, 0x00, 0x00, 0x00,             // 56 expectedGeneration 3
  0x00, 0x00, 0x00, 0x00,             // 60 reserved
  ...ascii("temps"),                  // 64 name
  ...ascii('{"n":10}'),               // 69 params
]);

/** 32 payload bytes at byteOffset 16 of stream 7: 24 bytes. */
// biome-ignore format: one field per line, as in the layout table
const DATA = new Uint8Array([
  0x41, 0x52, 0x57, 0x52,             //  0 magic
  0x01,                               //  4 version
  0x11,                               //  5 type DATA
  0x00, 0x00,                         //  6 reserved
  0x07, 0x00, 0x00, 0x00,             //  8 streamId 7
  0x20, 0x00, 0x00, 0x00,             // 12 payloadByteLength 32
  0x10, 0, 0, 0, 0, 0, 0, 0,          // 16 byteOffset 16
]);

/** 96 bytes sent, xxh32 0xdeadbeef: 32 bytes. */
// biome-ignore format: one field per line, as in the layout table
const END = new Uint8Array([
  0x41, 0x52, 0x57, 0x52,             //  0 magic
  0x01,                               //  4 version
  0x12,                               //  5 type END
  0x02,                               //  6 checksumAlgorithm xxh32
  0x00,                               //  7 reserved
  0x07, 0x00, 0x00, 0x00,             //  8 streamId 7
  0x00, 0x00, 0x00, 0x00,             // 12 reserved
  0x60, 0, 0, 0, 0, 0, 0, 0,          // 16 byteLength 96
  0xef, 0xbe, 0xad, 0xde, 0, 0, 0, 0, // 24 checksum 0xdeadbeef
]);

/** Grant 65536 bytes to stream 5: 24 bytes. */
// biome-ignore format: one field per line, as in the layout table
const CREDIT = new Uint8Array([
  0x41, 0x52, 0x57, 0x52,             //  0 magic
  0x01,                               //  4 version
  0x02,                               //  5 type CREDIT
  0x00, 0x00,                         //  6 reserved
  0x05, 0x00, 0x00, 0x00,             //  8 streamId 5
  0x00, 0x00, 0x00, 0x00,             // 12 reserved
  0x00, 0x00, 0x01, 0, 0, 0, 0, 0,    // 16 grantByteLength 65536
]);

/** Cancel stream 5: 16 bytes. */
// biome-ignore format: one field per line, as in the layout table
const CANCEL = new Uint8Array([
  0x41, 0x52, 0x57, 0x52,             //  0 magic
  0x01,                               //  4 version
  0x03,                               //  5 type CANCEL
  0x00, 0x00,                         //  6 reserved
  0x05, 0x00, 0x00, 0x00,             //  8 streamId 5
  0x00, 0x00, 0x00, 0x00,             // 12 reserved
]);

/** E_UNKNOWN_NAME "no such" on stream 7: 16 + 14 + 7 = 37 bytes. */
// biome-ignore format: one field per line, as in the layout table
const ERROR = new Uint8Array([
  0x41, 0x52, 0x57, 0x52,             //  0 magic
  0x01,                               //  4 version
  0x13,                               //  5 type ERROR
  0x0e,                               //  6 codeByteLength 14
  0x00,                               //  7 reserved
  0x07, 0x00, 0x00, 0x00,             //  8 streamId 7
  0x07, 0x00, 0x00, 0x00,             // 12 messageByteLength 7
  ...ascii("E_UNKNOWN_NAME"),         // 16 code
  ...ascii("no such"),                // 30 message
]);

// ---------------------------------------------------------------------------------------------
// Mutators: each returns a new array.
// ---------------------------------------------------------------------------------------------

function edit(base: Uint8Array, change: (view: DataView, bytes: Uint8Array) => void): Uint8Array {
  const bytes = base.slice();
  change(new DataView(bytes.buffer), bytes);
  return bytes;
}
const set8 = (base: Uint8Array, offset: number, value: number) => edit(base, (v) => v.setUint8(offset, value));
const set16 = (base: Uint8Array, offset: number, value: number) => edit(base, (v) => v.setUint16(offset, value, true));
const set32 = (base: Uint8Array, offset: number, value: number) => edit(base, (v) => v.setUint32(offset, value, true));
const set64 = (base: Uint8Array, offset: number, value: bigint) =>
  edit(base, (v) => v.setBigUint64(offset, value, true));
const cut = (base: Uint8Array, byteLength: number) => base.slice(0, byteLength);
const plus = (base: Uint8Array, ...extra: number[]) => new Uint8Array([...base, ...extra]);
const utf8 = (text: string) => new TextEncoder().encode(text);

const U64_MAX = 2n ** 64n - 1n;
const TWO_53 = 2n ** 53n;
const MAX_SAFE = 2n ** 53n - 1n;

interface HeaderParts {
  type?: number;
  dtype?: number;
  ndim?: number;
  streamId?: number;
  nameByteLength?: number;
  checksum?: number;
  reserved?: number;
  metaByteLength?: number;
  generation?: number;
  total?: bigint;
  rangeStart?: bigint;
  /** Defaults to `total`. */
  rangeEnd?: bigint;
  /** Defaults to `rangeStart`. */
  first?: bigint;
  shape?: bigint[];
  name?: Uint8Array | string;
  meta?: Uint8Array | string;
}

/** An ARRAY_HEADER written field by field (any value, valid or not); {} gives HEADER. */
function header(p: HeaderParts = {}): Uint8Array {
  const shape = p.shape ?? [3n, 4n];
  const name = typeof p.name === "string" || p.name === undefined ? utf8(p.name ?? "temps") : p.name;
  const meta = typeof p.meta === "string" || p.meta === undefined ? utf8(p.meta ?? '{"unit":"K"}') : p.meta;
  const shapeEnd = 56 + 8 * shape.length;
  const bytes = new Uint8Array(shapeEnd + name.byteLength + meta.byteLength);
  const v = new DataView(bytes.buffer);
  v.setUint32(0, 0x52575241, true);
  v.setUint8(4, 1);
  v.setUint8(5, p.type ?? 0x10);
  v.setUint8(6, p.dtype ?? 10);
  v.setUint8(7, p.ndim ?? shape.length);
  v.setUint32(8, p.streamId ?? 7, true);
  v.setUint16(12, p.nameByteLength ?? name.byteLength, true);
  v.setUint8(14, p.checksum ?? 2);
  v.setUint8(15, p.reserved ?? 0);
  v.setUint32(16, p.metaByteLength ?? meta.byteLength, true);
  v.setUint32(20, p.generation ?? 42, true);
  const total = p.total ?? 96n;
  v.setBigUint64(24, total, true);
  v.setBigUint64(32, p.rangeStart ?? 0n, true);
  v.setBigUint64(40, p.rangeEnd ?? total, true);
  v.setBigUint64(48, p.first ?? p.rangeStart ?? 0n, true);
  shape.forEach((dim, i) => {
    v.setBigUint64(56 + 8 * i, dim, true);
  });
  bytes.set(name, shapeEnd);
  bytes.set(meta, shapeEnd + name.byteLength);
  return bytes;
}

interface RequestParts {
  flags?: number;
  nameByteLength?: number;
  paramsByteLength?: number;
  elementStart?: bigint;
  elementEnd?: bigint;
  name?: Uint8Array | string;
  params?: Uint8Array | string;
}

/** REQUEST with its name / params / range replaced (lengths follow unless given). */
function request(p: RequestParts = {}): Uint8Array {
  const name = typeof p.name === "string" || p.name === undefined ? utf8(p.name ?? "temps") : p.name;
  const params = typeof p.params === "string" || p.params === undefined ? utf8(p.params ?? '{"n":10}') : p.params;
  const bytes = new Uint8Array(64 + name.byteLength + params.byteLength);
  bytes.set(REQUEST.subarray(0, 64));
  const v = new DataView(bytes.buffer);
  if (p.flags !== undefined) v.setUint16(6, p.flags, true);
  v.setUint16(12, p.nameByteLength ?? name.byteLength, true);
  v.setUint32(16, p.paramsByteLength ?? params.byteLength, true);
  if (p.elementStart !== undefined) v.setBigUint64(24, p.elementStart, true);
  if (p.elementEnd !== undefined) v.setBigUint64(32, p.elementEnd, true);
  bytes.set(name, 64);
  bytes.set(params, 64 + name.byteLength);
  return bytes;
}

/** ERROR with its code / message bytes replaced (lengths follow unless given). */
function error(p: {
  code?: Uint8Array | string;
  message?: Uint8Array | string;
  codeByteLength?: number;
  messageByteLength?: number;
}): Uint8Array {
  const code = typeof p.code === "string" || p.code === undefined ? utf8(p.code ?? "E_UNKNOWN_NAME") : p.code;
  const message = typeof p.message === "string" || p.message === undefined ? utf8(p.message ?? "no such") : p.message;
  const bytes = new Uint8Array(16 + code.byteLength + message.byteLength);
  bytes.set(ERROR.subarray(0, 16));
  const v = new DataView(bytes.buffer);
  v.setUint8(6, p.codeByteLength ?? code.byteLength);
  v.setUint32(12, p.messageByteLength ?? message.byteLength, true);
  bytes.set(code, 16);
  bytes.set(message, 16 + code.byteLength);
  return bytes;
}

/** `depth` nested JSON objects: {"a":{"a":...{}}}. */
const nestedObjects = (depth: number) => `${'{"a":'.repeat(depth - 1)}{}${"}".repeat(depth - 1)}`;

const MiB = 1024 * 1024;

/** Garbage of `byteLength` bytes: 0xff at the start and the end, zeros between (never "ARWR"). */
function garbage(byteLength: number, byteOffset = 0): Uint8Array {
  const buffer = new Uint8Array(byteOffset + byteLength);
  buffer.fill(0xff, 0, Math.min(buffer.byteLength, 64 * 1024));
  buffer.fill(0xff, Math.max(0, buffer.byteLength - 1024));
  return buffer.subarray(byteOffset);
}

// ---------------------------------------------------------------------------------------------
// The table.
// ---------------------------------------------------------------------------------------------

interface Row {
  what: string;
  /** The bytes, or a factory for bytes too big to keep around. */
  bytes: Uint8Array | (() => Uint8Array);
  limits?: DecodeLimits;
  code: ProtocolErrorCode;
  message: RegExp;
  /** Byte length of the array range the row declares, when it is over the receiver's cap. */
  overCap?: number;
}

// biome-ignore format: a table, one row per line
const ROWS: Row[] = [
  // Common prefix (P1..P5).
  { what: "empty message", bytes: new Uint8Array(0), code: "E_SHORT_MESSAGE", message: /^Invalid message: expected at least 12 bytes, got 0$/ },
  { what: "prefix cut by one byte (11 bytes)", bytes: cut(HEADER, 11), code: "E_SHORT_MESSAGE", message: /^Invalid message: expected at least 12 bytes, got 11$/ },
  { what: "bad magic: first byte 0x00", bytes: set8(HEADER, 0, 0x00), code: "E_BAD_MAGIC", message: /^Invalid message: expected magic 0x52575241, got 0x52575200$/ },
  { what: "bad magic: big-endian RWRA", bytes: set32(HEADER, 0, 0x41525752), code: "E_BAD_MAGIC", message: /^Invalid message: expected magic 0x52575241, got 0x41525752$/ },
  { what: "bad magic: all zeros", bytes: new Uint8Array(12), code: "E_BAD_MAGIC", message: /^Invalid message: expected magic 0x52575241, got 0x00000000$/ },
  { what: "version 0", bytes: set8(HEADER, 4, 0), code: "E_BAD_VERSION", message: /^Unsupported protocol version: expected 1, got 0$/ },
  { what: "version 2", bytes: set8(HEADER, 4, 2), code: "E_BAD_VERSION", message: /^Unsupported protocol version: expected 1, got 2$/ },
  { what: "version 255", bytes: set8(DATA, 4, 255), code: "E_BAD_VERSION", message: /^Unsupported protocol version: expected 1, got 255$/ },
  { what: "unknown type 0x00", bytes: set8(HEADER, 5, 0x00), code: "E_UNKNOWN_TYPE", message: /^Unknown message type: got 0x00$/ },
  { what: "unknown type 0x05 (after PUT)", bytes: set8(CANCEL, 5, 0x05), code: "E_UNKNOWN_TYPE", message: /^Unknown message type: got 0x05$/ },
  { what: "unknown type 0x7f", bytes: set8(ERROR, 5, 0x7f), code: "E_UNKNOWN_TYPE", message: /^Unknown message type: got 0x7f$/ },
  { what: "unknown type 0xff", bytes: set8(END, 5, 0xff), code: "E_UNKNOWN_TYPE", message: /^Unknown message type: got 0xff$/ },

  // Control-message cap: checked before any field is read.
  { what: "valid ARRAY_HEADER one byte over maxControlByteLength", bytes: HEADER, limits: { maxControlByteLength: 88 }, code: "E_HEADER_TOO_LARGE", message: /^Control message too large: expected at most 88 bytes, got 89$/ },
  { what: "valid REQUEST one byte over maxControlByteLength", bytes: REQUEST, limits: { maxControlByteLength: 76 }, code: "E_HEADER_TOO_LARGE", message: /^Control message too large: expected at most 76 bytes, got 77$/ },
  { what: "64 KiB + 1 of garbage (default cap)", bytes: () => garbage(64 * 1024 + 1), code: "E_HEADER_TOO_LARGE", message: /^Control message too large: expected at most 65536 bytes, got 65537$/ },
  { what: "256 MiB garbage view at an odd byteOffset", bytes: () => garbage(256 * MiB, 3), code: "E_HEADER_TOO_LARGE", message: /^Control message too large: expected at most 65536 bytes, got 268435456$/ },

  // ARRAY_HEADER: lengths (H1, H6, H7).
  { what: "ARRAY_HEADER of just the prefix", bytes: cut(HEADER, 12), code: "E_SHORT_MESSAGE", message: /^Invalid ARRAY_HEADER: expected 56 bytes, got 12$/ },
  { what: "ARRAY_HEADER fixed part cut by one byte", bytes: cut(HEADER, 55), code: "E_SHORT_MESSAGE", message: /^Invalid ARRAY_HEADER: expected 56 bytes, got 55$/ },
  { what: "ARRAY_HEADER cut inside the shape", bytes: cut(HEADER, 60), code: "E_SHORT_MESSAGE", message: /^Invalid ARRAY_HEADER: expected 89 bytes, got 60$/ },
  { what: "ARRAY_HEADER without the last meta byte", bytes: cut(HEADER, 88), code: "E_SHORT_MESSAGE", message: /^Invalid ARRAY_HEADER: expected 89 bytes, got 88$/ },
  { what: "ARRAY_HEADER with a trailing byte", bytes: plus(HEADER, 0), code: "E_BAD_LENGTH", message: /^Invalid ARRAY_HEADER: expected 89 bytes, got 90$/ },
  { what: "ARRAY_HEADER metaByteLength 2^32-1", bytes: set32(HEADER, 16, 0xffffffff), code: "E_SHORT_MESSAGE", message: /^Invalid ARRAY_HEADER: expected 4294967372 bytes, got 89$/ },
  { what: "ARRAY_HEADER name length 0", bytes: set16(HEADER, 12, 0), code: "E_BAD_LENGTH", message: /^Invalid name: expected 1\.\.1024 UTF-8 bytes, got 0$/ },
  { what: "ARRAY_HEADER name length 1025 (bytes present)", bytes: header({ name: "n".repeat(1025) }), code: "E_BAD_LENGTH", message: /^Invalid name: expected 1\.\.1024 UTF-8 bytes, got 1025$/ },
  { what: "ARRAY_HEADER name length 0xffff", bytes: set16(HEADER, 12, 0xffff), code: "E_BAD_LENGTH", message: /^Invalid name: expected 1\.\.1024 UTF-8 bytes, got 65535$/ },

  // ARRAY_HEADER: dtype, ndim, reserved, checksum algorithm (H2..H5).
  { what: "dtype code 0", bytes: set8(HEADER, 6, 0), code: "E_UNKNOWN_DTYPE", message: /^Unknown dtype code: expected 1\.\.12, got 0$/ },
  { what: "dtype code 13", bytes: set8(HEADER, 6, 13), code: "E_UNKNOWN_DTYPE", message: /^Unknown dtype code: expected 1\.\.12, got 13$/ },
  { what: "dtype code 255", bytes: set8(HEADER, 6, 255), code: "E_UNKNOWN_DTYPE", message: /^Unknown dtype code: expected 1\.\.12, got 255$/ },
  { what: "33 dimensions (all present, lengths consistent)", bytes: header({ shape: Array(33).fill(1n), total: 8n }), code: "E_BAD_SHAPE", message: /^Invalid shape: expected at most 32 dims, got 33$/ },
  { what: "ndim 255", bytes: set8(HEADER, 7, 255), code: "E_BAD_SHAPE", message: /^Invalid shape: expected at most 32 dims, got 255$/ },
  { what: "ARRAY_HEADER reserved byte 15 set", bytes: set8(HEADER, 15, 1), code: "E_RESERVED", message: /^Invalid ARRAY_HEADER reserved: reserved, expected 0, got 1$/ },
  { what: "ARRAY_HEADER checksumAlgorithm 3", bytes: set8(HEADER, 14, 3), code: "E_RESERVED", message: /^Invalid checksumAlgorithm: expected 0\.\.2, got 3$/ },

  // ARRAY_HEADER: dims (H8): negative as i64, >= 2^53, products that overflow.
  { what: "dim -1 as i64 (u64 2^64-1)", bytes: set64(HEADER, 56, U64_MAX), code: "E_BAD_SHAPE", message: /^Invalid shape\[0\]: expected at most Number\.MAX_SAFE_INTEGER, got 0xffffffffffffffff$/ },
  { what: "dim -12 as i64", bytes: set64(HEADER, 64, 2n ** 64n - 12n), code: "E_BAD_SHAPE", message: /^Invalid shape\[1\]: expected at most Number\.MAX_SAFE_INTEGER, got 0xfffffffffffffff4$/ },
  { what: "dim with only the top bit set (2^63)", bytes: set64(HEADER, 56, 2n ** 63n), code: "E_BAD_SHAPE", message: /^Invalid shape\[0\]: expected at most Number\.MAX_SAFE_INTEGER, got 0x8000000000000000$/ },
  { what: "dim 2^53", bytes: set64(HEADER, 64, TWO_53), code: "E_BAD_SHAPE", message: /^Invalid shape\[1\]: expected at most Number\.MAX_SAFE_INTEGER, got 0x0020000000000000$/ },
  { what: "shape [2^53-1] of float64: bytes overflow", bytes: header({ shape: [MAX_SAFE], total: 8n }), code: "E_BAD_SHAPE", message: /^Invalid shape: product\(shape\) \* 8 overflows Number\.MAX_SAFE_INTEGER at dim 0$/ },
  { what: "shape [2^26, 2^26] of float64: 2^55 bytes", bytes: header({ shape: [2n ** 26n, 2n ** 26n], total: 8n }), code: "E_BAD_SHAPE", message: /^Invalid shape: product\(shape\) \* 8 overflows Number\.MAX_SAFE_INTEGER at dim 1$/ },
  { what: "shape [2^27, 2^27] of int8: 2^54 elements", bytes: header({ dtype: 1, shape: [2n ** 27n, 2n ** 27n], total: 1n }), code: "E_BAD_SHAPE", message: /^Invalid shape: product\(shape\) \* 1 overflows Number\.MAX_SAFE_INTEGER at dim 1$/ },
  { what: "32 dims of 4 (uint8): 2^64 elements", bytes: header({ dtype: 2, shape: Array(32).fill(4n), total: 0n }), code: "E_BAD_SHAPE", message: /^Invalid shape: product\(shape\) \* 1 overflows Number\.MAX_SAFE_INTEGER at dim 26$/ },

  // ARRAY_HEADER: totalByteLength (H9, H10).
  { what: "totalByteLength one short of product(shape) * itemsize", bytes: header({ total: 95n, rangeEnd: 88n }), code: "E_SIZE_MISMATCH", message: /^Invalid totalByteLength: expected product\(shape\) \* 8 = 96, got 95$/ },
  { what: "totalByteLength = element count (itemsize forgotten)", bytes: header({ total: 12n }), code: "E_SIZE_MISMATCH", message: /^Invalid totalByteLength: expected product\(shape\) \* 8 = 96, got 12$/ },
  { what: "totalByteLength 0 for a non-empty shape", bytes: header({ total: 0n }), code: "E_SIZE_MISMATCH", message: /^Invalid totalByteLength: expected product\(shape\) \* 8 = 96, got 0$/ },
  { what: "totalByteLength 2^64-1", bytes: set64(HEADER, 24, U64_MAX), code: "E_TOO_LARGE", message: /^Invalid totalByteLength: expected at most Number\.MAX_SAFE_INTEGER, got 0xffffffffffffffff$/ },
  { what: "totalByteLength 2^53", bytes: set64(HEADER, 24, TWO_53), code: "E_TOO_LARGE", message: /^Invalid totalByteLength: expected at most Number\.MAX_SAFE_INTEGER, got 0x0020000000000000$/ },

  // ARRAY_HEADER: range (H11, H12).
  { what: "rangeByteStart 2^53", bytes: set64(HEADER, 32, TWO_53), code: "E_BAD_RANGE", message: /^Invalid rangeByteStart: expected at most Number\.MAX_SAFE_INTEGER, got 0x0020000000000000$/ },
  { what: "rangeByteEnd 2^64-1", bytes: set64(HEADER, 40, U64_MAX), code: "E_BAD_RANGE", message: /^Invalid rangeByteEnd: expected at most Number\.MAX_SAFE_INTEGER, got 0xffffffffffffffff$/ },
  { what: "firstByteOffset 2^63", bytes: set64(HEADER, 48, 2n ** 63n), code: "E_BAD_RANGE", message: /^Invalid firstByteOffset: expected at most Number\.MAX_SAFE_INTEGER, got 0x8000000000000000$/ },
  { what: "rangeByteEnd past totalByteLength", bytes: header({ rangeEnd: 104n }), code: "E_BAD_RANGE", message: /^Invalid range: expected itemsize-aligned start <= first <= end <= 96, got \[0, 104\) first 0$/ },
  { what: "rangeByteStart after rangeByteEnd", bytes: header({ rangeStart: 64n, rangeEnd: 32n }), code: "E_BAD_RANGE", message: /^Invalid range: expected itemsize-aligned start <= first <= end <= 96, got \[64, 32\) first 64$/ },
  { what: "rangeByteStart not a multiple of the itemsize", bytes: header({ rangeStart: 4n }), code: "E_BAD_RANGE", message: /got \[4, 96\) first 4$/ },
  { what: "rangeByteEnd not a multiple of the itemsize", bytes: header({ rangeEnd: 92n }), code: "E_BAD_RANGE", message: /got \[0, 92\) first 0$/ },
  { what: "firstByteOffset before rangeByteStart", bytes: header({ rangeStart: 16n, first: 8n }), code: "E_BAD_RANGE", message: /got \[16, 96\) first 8$/ },
  { what: "firstByteOffset after rangeByteEnd", bytes: header({ rangeEnd: 64n, first: 72n }), code: "E_BAD_RANGE", message: /got \[0, 64\) first 72$/ },

  // ARRAY_HEADER: the receiver's array cap (H13), on the range.
  { what: "96-byte array one byte over maxTotalByteLength 95", bytes: HEADER, limits: { maxTotalByteLength: 95 }, code: "E_TOO_LARGE", message: /^Array too large: expected at most 95 bytes, got 96$/, overCap: 96 },
  { what: "96-byte array over maxTotalByteLength 64", bytes: HEADER, limits: { maxTotalByteLength: 64 }, code: "E_TOO_LARGE", message: /^Array too large: expected at most 64 bytes, got 96$/, overCap: 96 },
  { what: "2^40 float64 elements (8 TiB) over the default 2 GiB cap", bytes: header({ shape: [2n ** 40n], total: 2n ** 43n }), code: "E_TOO_LARGE", message: /^Array too large: expected at most 2147483648 bytes, got 8796093022208$/, overCap: 2 ** 43 },
  { what: "256 MiB float32 over maxTotalByteLength 64 MiB", bytes: header({ dtype: 9, shape: [2n ** 26n], total: 2n ** 28n }), limits: { maxTotalByteLength: 64 * MiB }, code: "E_TOO_LARGE", message: /^Array too large: expected at most 67108864 bytes, got 268435456$/, overCap: 256 * MiB },
  { what: "range of 2 GiB + 8 inside an 8 TiB array", bytes: header({ shape: [2n ** 40n], total: 2n ** 43n, rangeStart: 2n ** 42n, rangeEnd: 2n ** 42n + 2n ** 31n + 8n }), code: "E_TOO_LARGE", message: /^Array too large: expected at most 2147483648 bytes, got 2147483656$/, overCap: 2 ** 31 + 8 },

  // ARRAY_HEADER: name and meta text (H14, H15).
  { what: "name byte 0xff", bytes: header({ name: new Uint8Array([0x74, 0xff]) }), code: "E_BAD_TEXT", message: /^Invalid name: not valid UTF-8$/ },
  { what: "name with an overlong '/' (c0 af)", bytes: header({ name: new Uint8Array([0xc0, 0xaf]) }), code: "E_BAD_TEXT", message: /^Invalid name: not valid UTF-8$/ },
  { what: "name with a UTF-16 surrogate (ed a0 80)", bytes: header({ name: new Uint8Array([0xed, 0xa0, 0x80]) }), code: "E_BAD_TEXT", message: /^Invalid name: not valid UTF-8$/ },
  { what: "name ending inside a sequence (e2 82)", bytes: header({ name: new Uint8Array([0x61, 0xe2, 0x82]) }), code: "E_BAD_TEXT", message: /^Invalid name: not valid UTF-8$/ },
  { what: "meta not valid UTF-8", bytes: header({ meta: new Uint8Array([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]) }), code: "E_BAD_TEXT", message: /^Invalid meta: not valid UTF-8$/ },
  { what: "meta not JSON (unquoted key)", bytes: header({ meta: "{unit:1}" }), code: "E_BAD_JSON", message: /^Invalid meta: not JSON \(/ },
  { what: "meta with a leading byte-order mark", bytes: header({ meta: '\ufeff{"unit":"K"}' }), code: "E_BAD_JSON", message: /^Invalid meta: not JSON \(/ },
  { what: "meta a JSON array", bytes: header({ meta: "[1,2]" }), code: "E_BAD_JSON", message: /^Invalid meta: expected a JSON object, got an array$/ },
  { what: "meta a JSON string", bytes: header({ meta: '"K"' }), code: "E_BAD_JSON", message: /^Invalid meta: expected a JSON object, got string$/ },
  { what: "meta JSON null", bytes: header({ meta: "null" }), code: "E_BAD_JSON", message: /^Invalid meta: expected a JSON object, got null$/ },
  { what: "meta a JSON number", bytes: header({ meta: "42" }), code: "E_BAD_JSON", message: /^Invalid meta: expected a JSON object, got number$/ },
  { what: "meta with a top-level __proto__ key", bytes: header({ meta: '{"__proto__":{"polluted":1}}' }), code: "E_BAD_JSON", message: /^Invalid meta: forbidden key "__proto__"$/ },
  { what: "meta with __proto__ spelled with a \\u escape", bytes: header({ meta: '{"__proto\\u005f_":1}' }), code: "E_BAD_JSON", message: /^Invalid meta: forbidden key "__proto__"$/ },
  { what: "meta with a nested constructor key", bytes: header({ meta: '{"a":{"constructor":{}}}' }), code: "E_BAD_JSON", message: /^Invalid meta: forbidden key "constructor"$/ },
  { what: "meta with a prototype key inside an array", bytes: header({ meta: '{"list":[{"prototype":1}]}' }), code: "E_BAD_JSON", message: /^Invalid meta: forbidden key "prototype"$/ },
  { what: "meta with a duplicate top-level key", bytes: header({ meta: '{"a":1,"a":2}' }), code: "E_BAD_JSON", message: /^Invalid meta: duplicate key "a"$/ },
  { what: "meta with a duplicate key spelled with a \\u escape", bytes: header({ meta: '{"a":1,"\\u0061":2}' }), code: "E_BAD_JSON", message: /^Invalid meta: duplicate key "a"$/ },
  { what: "meta with a duplicate nested key", bytes: header({ meta: '{"x":{"b":1,"c":2,"b":3}}' }), code: "E_BAD_JSON", message: /^Invalid meta: duplicate key "b"$/ },
  { what: "meta with a duplicate key in an object inside an array", bytes: header({ meta: '{"x":[{"k":1},{"k":2,"k":3}]}' }), code: "E_BAD_JSON", message: /^Invalid meta: duplicate key "k"$/ },
  { what: "meta nested 33 objects deep", bytes: header({ meta: nestedObjects(33) }), code: "E_BAD_JSON", message: /^Invalid meta: nesting too deep: expected at most 32 levels$/ },
  { what: "meta nested 33 deep, arrays and objects", bytes: header({ meta: `{"a":${"[".repeat(32)}${"]".repeat(32)}}` }), code: "E_BAD_JSON", message: /^Invalid meta: nesting too deep: expected at most 32 levels$/ },
  { what: "meta nested 30,000 arrays deep (no stack overflow)", bytes: header({ meta: `{"a":${"[".repeat(30_000)}${"]".repeat(30_000)}}` }), code: "E_BAD_JSON", message: /^Invalid meta: nesting too deep: expected at most 32 levels$/ },

  // PUT shares the ARRAY_HEADER checks.
  { what: "PUT cut inside its fixed part", bytes: cut(header({ type: 0x04 }), 40), code: "E_SHORT_MESSAGE", message: /^Invalid PUT: expected 56 bytes, got 40$/ },
  { what: "PUT with dtype code 0", bytes: header({ type: 0x04, dtype: 0 }), code: "E_UNKNOWN_DTYPE", message: /^Unknown dtype code: expected 1\.\.12, got 0$/ },
  { what: "PUT with its reserved byte set", bytes: header({ type: 0x04, reserved: 0x80 }), code: "E_RESERVED", message: /^Invalid PUT reserved: reserved, expected 0, got 128$/ },

  // REQUEST (R1..R12).
  { what: "REQUEST fixed part cut by one byte", bytes: cut(REQUEST, 63), code: "E_SHORT_MESSAGE", message: /^Invalid REQUEST: expected 64 bytes, got 63$/ },
  { what: "REQUEST cut inside the name", bytes: cut(REQUEST, 66), code: "E_SHORT_MESSAGE", message: /^Invalid REQUEST: expected 77 bytes, got 66$/ },
  { what: "REQUEST with a trailing byte", bytes: plus(REQUEST, 0x20), code: "E_BAD_LENGTH", message: /^Invalid REQUEST: expected 77 bytes, got 78$/ },
  { what: "REQUEST paramsByteLength 2^32-1", bytes: set32(REQUEST, 16, 0xffffffff), code: "E_SHORT_MESSAGE", message: /^Invalid REQUEST: expected 4294967364 bytes, got 77$/ },
  { what: "REQUEST unknown flag 0x0004", bytes: set16(REQUEST, 6, 0x0007), code: "E_RESERVED", message: /^Invalid REQUEST flags: unknown bits 0x4$/ },
  { what: "REQUEST unknown flag 0x8000", bytes: set16(REQUEST, 6, 0x8003), code: "E_RESERVED", message: /^Invalid REQUEST flags: unknown bits 0x8000$/ },
  { what: "REQUEST every flag bit", bytes: set16(REQUEST, 6, 0xffff), code: "E_RESERVED", message: /^Invalid REQUEST flags: unknown bits 0xffe4$/ },
  { what: "REQUEST unknown codec bit set", bytes: set8(REQUEST, 15, 2), code: "E_RESERVED", message: /^Invalid REQUEST codecs: unknown bits 0x2$/ },
  { what: "REQUEST reserved u32 at 60 set", bytes: set32(REQUEST, 60, 0xdeadbeef), code: "E_RESERVED", message: /^Invalid REQUEST reserved: reserved, expected 0, got 3735928559$/ },
  { what: "REQUEST checksumAlgorithm 3", bytes: set8(REQUEST, 14, 3), code: "E_RESERVED", message: /^Invalid checksumAlgorithm: expected 0\.\.2, got 3$/ },
  { what: "REQUEST name length 0", bytes: set16(REQUEST, 12, 0), code: "E_BAD_LENGTH", message: /^Invalid name: expected 1\.\.1024 UTF-8 bytes, got 0$/ },
  { what: "REQUEST name length 1025 (bytes present)", bytes: request({ name: "n".repeat(1025) }), code: "E_BAD_LENGTH", message: /^Invalid name: expected 1\.\.1024 UTF-8 bytes, got 1025$/ },
  { what: "REQUEST elementStart 2^53", bytes: set64(REQUEST, 24, TWO_53), code: "E_BAD_RANGE", message: /^Invalid elementStart: expected at most Number\.MAX_SAFE_INTEGER, got 0x0020000000000000$/ },
  { what: "REQUEST elementEnd 2^64-1", bytes: set64(REQUEST, 32, U64_MAX), code: "E_BAD_RANGE", message: /^Invalid elementEnd: expected at most Number\.MAX_SAFE_INTEGER, got 0xffffffffffffffff$/ },
  { what: "REQUEST range end before start", bytes: request({ elementStart: 10n, elementEnd: 2n }), code: "E_BAD_RANGE", message: /^Invalid element range: got \[10, 2\) with range flag set$/ },
  { what: "REQUEST range fields without the RANGE flag", bytes: request({ flags: 0x0002 }), code: "E_BAD_RANGE", message: /^Invalid element range: got \[2, 10\) with range flag clear$/ },
  { what: "REQUEST expectedGeneration without its flag", bytes: request({ flags: 0x0001 }), code: "E_RESERVED", message: /^Invalid expectedGeneration without its flag: reserved, expected 0, got 3$/ },
  { what: "REQUEST name not valid UTF-8", bytes: request({ name: new Uint8Array([0x80]) }), code: "E_BAD_TEXT", message: /^Invalid name: not valid UTF-8$/ },
  { what: "REQUEST params not valid UTF-8", bytes: request({ params: new Uint8Array([0x7b, 0xf8, 0x7d]) }), code: "E_BAD_TEXT", message: /^Invalid params: not valid UTF-8$/ },
  { what: "REQUEST params with a __proto__ key", bytes: request({ params: '{"__proto__":null}' }), code: "E_BAD_JSON", message: /^Invalid params: forbidden key "__proto__"$/ },
  { what: "REQUEST params with a nested constructor key", bytes: request({ params: '{"o":{"constructor":1}}' }), code: "E_BAD_JSON", message: /^Invalid params: forbidden key "constructor"$/ },
  { what: "REQUEST params with a duplicate key", bytes: request({ params: '{"n":1,"n":2}' }), code: "E_BAD_JSON", message: /^Invalid params: duplicate key "n"$/ },
  { what: "REQUEST params with a duplicate nested key", bytes: request({ params: '{"o":{"n":1,"n":2}}' }), code: "E_BAD_JSON", message: /^Invalid params: duplicate key "n"$/ },
  { what: "REQUEST params a JSON array", bytes: request({ params: "[]" }), code: "E_BAD_JSON", message: /^Invalid params: expected a JSON object, got an array$/ },
  { what: "REQUEST params nested 33 deep", bytes: request({ params: nestedObjects(33) }), code: "E_BAD_JSON", message: /^Invalid params: nesting too deep: expected at most 32 levels$/ },
  { what: "REQUEST resumeByteOffset 2^53", bytes: set64(REQUEST, 40, TWO_53), code: "E_BAD_RANGE", message: /^Invalid resumeByteOffset: expected at most Number\.MAX_SAFE_INTEGER, got 0x0020000000000000$/ },
  { what: "REQUEST creditByteLength 2^64-1", bytes: set64(REQUEST, 48, U64_MAX), code: "E_TOO_LARGE", message: /^Invalid creditByteLength: expected at most Number\.MAX_SAFE_INTEGER, got 0xffffffffffffffff$/ },

  // DATA (D1..D5).
  { what: "DATA cut by one byte", bytes: cut(DATA, 23), code: "E_SHORT_MESSAGE", message: /^Invalid DATA: expected 24 bytes, got 23$/ },
  { what: "DATA with a trailing byte", bytes: plus(DATA, 0), code: "E_BAD_LENGTH", message: /^Invalid DATA: expected 24 bytes, got 25$/ },
  { what: "DATA reserved u16 set", bytes: set16(DATA, 6, 0x0100), code: "E_RESERVED", message: /^Invalid DATA reserved: reserved, expected 0, got 256$/ },
  { what: "DATA payloadByteLength 0", bytes: set32(DATA, 12, 0), code: "E_BAD_LENGTH", message: /^Invalid DATA: expected payloadByteLength > 0, got 0$/ },
  { what: "DATA payloadByteLength 2^32-1 (default 64 MiB cap)", bytes: set32(DATA, 12, 0xffffffff), code: "E_TOO_LARGE", message: /^Chunk too large: expected at most 67108864 bytes, got 4294967295$/ },
  { what: "DATA payloadByteLength one over maxChunkByteLength", bytes: set32(DATA, 12, 1025), limits: { maxChunkByteLength: 1024 }, code: "E_TOO_LARGE", message: /^Chunk too large: expected at most 1024 bytes, got 1025$/ },
  { what: "DATA payloadByteLength 2^31 over maxChunkByteLength", bytes: set32(DATA, 12, 2 ** 31), limits: { maxChunkByteLength: 1024 }, code: "E_TOO_LARGE", message: /^Chunk too large: expected at most 1024 bytes, got 2147483648$/ },
  { what: "DATA byteOffset 2^53", bytes: set64(DATA, 16, TWO_53), code: "E_BAD_RANGE", message: /^Invalid byteOffset: expected at most Number\.MAX_SAFE_INTEGER, got 0x0020000000000000$/ },
  { what: "DATA byteOffset 2^64-1", bytes: set64(DATA, 16, U64_MAX), code: "E_BAD_RANGE", message: /^Invalid byteOffset: expected at most Number\.MAX_SAFE_INTEGER, got 0xffffffffffffffff$/ },

  // END (E1..E5).
  { what: "END cut by one byte", bytes: cut(END, 31), code: "E_SHORT_MESSAGE", message: /^Invalid END: expected 32 bytes, got 31$/ },
  { what: "END with a trailing byte", bytes: plus(END, 0), code: "E_BAD_LENGTH", message: /^Invalid END: expected 32 bytes, got 33$/ },
  { what: "END reserved byte 7 set", bytes: set8(END, 7, 1), code: "E_RESERVED", message: /^Invalid END reserved: reserved, expected 0, got 1$/ },
  { what: "END reserved u32 at 12 set", bytes: set32(END, 12, 2 ** 31), code: "E_RESERVED", message: /^Invalid END reserved: reserved, expected 0, got 2147483648$/ },
  { what: "END checksumAlgorithm 3", bytes: set8(END, 6, 3), code: "E_RESERVED", message: /^Invalid checksumAlgorithm: expected 0\.\.2, got 3$/ },
  { what: "END byteLength 2^53", bytes: set64(END, 16, TWO_53), code: "E_BAD_RANGE", message: /^Invalid byteLength: expected at most Number\.MAX_SAFE_INTEGER, got 0x0020000000000000$/ },
  { what: "END xxh32 checksum above 32 bits", bytes: set64(END, 24, 2n ** 32n), code: "E_RESERVED", message: /^Invalid END checksum: expected at most 0xffffffff for xxh32, got 0x100000000$/ },
  { what: "END non-zero checksum for none", bytes: set64(set8(END, 6, 0), 24, 1n), code: "E_RESERVED", message: /^Invalid END checksum: expected at most 0x0 for none, got 0x1$/ },
  { what: "END checksum 2^64-1", bytes: set64(END, 24, U64_MAX), code: "E_RESERVED", message: /^Invalid checksum: expected at most Number\.MAX_SAFE_INTEGER, got 0xffffffffffffffff$/ },

  // CREDIT (C1..C4) and CANCEL (X1, X2).
  { what: "CREDIT cut by one byte", bytes: cut(CREDIT, 23), code: "E_SHORT_MESSAGE", message: /^Invalid CREDIT: expected 24 bytes, got 23$/ },
  { what: "CREDIT with a trailing byte", bytes: plus(CREDIT, 0), code: "E_BAD_LENGTH", message: /^Invalid CREDIT: expected 24 bytes, got 25$/ },
  { what: "CREDIT reserved u16 at 6 set", bytes: set16(CREDIT, 6, 1), code: "E_RESERVED", message: /^Invalid CREDIT reserved: reserved, expected 0, got 1$/ },
  { what: "CREDIT reserved u32 at 12 set", bytes: set32(CREDIT, 12, 0xffffffff), code: "E_RESERVED", message: /^Invalid CREDIT reserved: reserved, expected 0, got 4294967295$/ },
  { what: "CREDIT grant 0", bytes: set64(CREDIT, 16, 0n), code: "E_BAD_LENGTH", message: /^Invalid CREDIT: expected grantByteLength > 0, got 0$/ },
  { what: "CREDIT grant 2^64-1", bytes: set64(CREDIT, 16, U64_MAX), code: "E_TOO_LARGE", message: /^Invalid grantByteLength: expected at most Number\.MAX_SAFE_INTEGER, got 0xffffffffffffffff$/ },
  { what: "CANCEL cut by one byte", bytes: cut(CANCEL, 15), code: "E_SHORT_MESSAGE", message: /^Invalid CANCEL: expected 16 bytes, got 15$/ },
  { what: "CANCEL with a trailing byte", bytes: plus(CANCEL, 0), code: "E_BAD_LENGTH", message: /^Invalid CANCEL: expected 16 bytes, got 17$/ },
  { what: "CANCEL reserved u16 at 6 set", bytes: set16(CANCEL, 6, 0x8000), code: "E_RESERVED", message: /^Invalid CANCEL reserved: reserved, expected 0, got 32768$/ },
  { what: "CANCEL reserved u32 at 12 set", bytes: set32(CANCEL, 12, 7), code: "E_RESERVED", message: /^Invalid CANCEL reserved: reserved, expected 0, got 7$/ },

  // ERROR (F1..F6).
  { what: "ERROR fixed part cut by one byte", bytes: cut(ERROR, 15), code: "E_SHORT_MESSAGE", message: /^Invalid ERROR: expected 16 bytes, got 15$/ },
  { what: "ERROR reserved byte 7 set", bytes: set8(ERROR, 7, 1), code: "E_RESERVED", message: /^Invalid ERROR reserved: reserved, expected 0, got 1$/ },
  { what: "ERROR code length 0", bytes: set8(ERROR, 6, 0), code: "E_BAD_LENGTH", message: /^Invalid ERROR: expected code 1\.\.64 and message <= 4096 bytes, got 0 and 7$/ },
  { what: "ERROR code length 65 (bytes present)", bytes: error({ code: "E".repeat(65) }), code: "E_BAD_LENGTH", message: /^Invalid ERROR: expected code 1\.\.64 and message <= 4096 bytes, got 65 and 7$/ },
  { what: "ERROR message length 4097 (bytes present)", bytes: error({ message: "m".repeat(4097) }), code: "E_BAD_LENGTH", message: /^Invalid ERROR: expected code 1\.\.64 and message <= 4096 bytes, got 14 and 4097$/ },
  { what: "ERROR message length 2^32-1", bytes: set32(ERROR, 12, 0xffffffff), code: "E_BAD_LENGTH", message: /^Invalid ERROR: expected code 1\.\.64 and message <= 4096 bytes, got 14 and 4294967295$/ },
  { what: "ERROR lengths one past the message", bytes: set32(ERROR, 12, 8), code: "E_SHORT_MESSAGE", message: /^Invalid ERROR: expected 38 bytes, got 37$/ },
  { what: "ERROR with a trailing byte", bytes: plus(ERROR, 0x21), code: "E_BAD_LENGTH", message: /^Invalid ERROR: expected 37 bytes, got 38$/ },
  { what: "ERROR code in lower case", bytes: error({ code: "e_unknown_name" }), code: "E_BAD_TEXT", message: /^Invalid error code: expected \[A-Z0-9_\]\+, got "e_unknown_name"$/ },
  { what: "ERROR code with a space", bytes: error({ code: "E_BAD REQUEST" }), code: "E_BAD_TEXT", message: /^Invalid error code: expected \[A-Z0-9_\]\+, got "E_BAD REQUEST"$/ },
  { what: "ERROR code not valid UTF-8", bytes: error({ code: new Uint8Array([0x45, 0xc3]) }), code: "E_BAD_TEXT", message: /^Invalid error code: not valid UTF-8$/ },
  { what: "ERROR message not valid UTF-8", bytes: error({ message: new Uint8Array([0x6e, 0x6f, 0xed, 0xbf, 0xbf]) }), code: "E_BAD_TEXT", message: /^Invalid error message: not valid UTF-8$/ },
];

const fresh = (row: Row): Uint8Array => (typeof row.bytes === "function" ? row.bytes() : row.bytes.slice());

/** A copy of `bytes` at byteOffset 3 of a larger buffer full of garbage. */
function atOddOffset(bytes: Uint8Array): Uint8Array {
  const buffer = new Uint8Array(bytes.byteLength + 9).fill(0x5a);
  buffer.set(bytes, 3);
  return buffer.subarray(3, 3 + bytes.byteLength);
}

function decodeError(bytes: Uint8Array, limits?: DecodeLimits): unknown {
  try {
    decodeMessage(bytes, limits);
  } catch (err) {
    return err;
  }
  return null;
}

function expectProtocolError(err: unknown, code: ProtocolErrorCode, message: RegExp): void {
  expect(err).toBeInstanceOf(ProtocolError);
  expect((err as ProtocolError).code).toBe(code);
  expect((err as ProtocolError).message).toMatch(message);
  expect((err as ProtocolError).name).toBe("ProtocolError");
}

describe("the valid fixtures", () => {
  it("are what the encoders produce, and decode", () => {
    expect(
      encodeArrayHeader({
        streamId: 7,
        dtype: "float64",
        shape: [3, 4],
        totalByteLength: 96,
        rangeByteStart: 0,
        rangeByteEnd: 96,
        firstByteOffset: 0,
        generation: 42,
        checksumAlgorithm: "xxh32",
        name: "temps",
        meta: { unit: "K" },
      }),
    ).toEqual(HEADER);
    expect(header()).toEqual(HEADER);
    expect(
      encodeRequest({
        streamId: 5,
        name: "temps",
        params: { n: 10 },
        chunkByteLength: 1024,
        range: { elementStart: 2, elementEnd: 10 },
        resumeByteOffset: 0,
        creditByteLength: 4096,
        expectedGeneration: 3,
        checksum: "crc32c",
      }),
    ).toEqual(REQUEST);
    expect(request()).toEqual(REQUEST);
    expect(encodeData(7, 16, 32)).toEqual(DATA);
    expect(encodeEnd({ streamId: 7, byteLength: 96, checksumAlgorithm: "xxh32", checksum: 0xdeadbeef })).toEqual(END);
    expect(encodeCredit(5, 65536)).toEqual(CREDIT);
    expect(encodeCancel(5)).toEqual(CANCEL);
    expect(encodeError(7, "E_UNKNOWN_NAME", "no such")).toEqual(ERROR);
    expect(error({})).toEqual(ERROR);
    for (const bytes of [HEADER, REQUEST, DATA, END, CREDIT, CANCEL, ERROR])
      expect(() => decodeMessage(bytes)).not.toThrow();
  });
});

describe("decodeMessage refuses malformed control messages", () => {
  it("has at least 40 rows, with distinct descriptions", () => {
    expect(ROWS.length).toBeGreaterThanOrEqual(40);
    expect(new Set(ROWS.map((r) => r.what)).size).toBe(ROWS.length);
  });

  it.each(ROWS)("$what: $code", (row) => {
    expectProtocolError(decodeError(fresh(row), row.limits), row.code, row.message);
  });

  it.each(ROWS)("$what: $code at an odd byteOffset inside garbage", (row) => {
    const bytes = fresh(row);
    // The 256 MiB row already is an odd-offset view; copying it would only cost time.
    const view = bytes.byteLength > MiB ? bytes : atOddOffset(bytes);
    expectProtocolError(decodeError(view, row.limits), row.code, row.message);
  });

  it("refuses an over-cap message after reading nothing but its byteLength", () => {
    // A stand-in whose every property but byteLength throws: the cap must be checked first.
    const touched: PropertyKey[] = [];
    const liar = new Proxy(new Uint8Array(16), {
      get(_target, key) {
        if (key === "byteLength") return 2 ** 40;
        touched.push(key);
        throw new Error(`read ${String(key)} before checking the length`);
      },
    });
    expectProtocolError(
      decodeError(liar),
      "E_HEADER_TOO_LARGE",
      /^Control message too large: expected at most 65536 bytes, got 1099511627776$/,
    );
    expect(touched).toEqual([]);
  });
});

describe("values at each limit are accepted", () => {
  const AT_LIMIT: [string, Uint8Array, DecodeLimits?][] = [
    ["a name of 1024 bytes", header({ name: "n".repeat(1024) })],
    ["a REQUEST name of 1024 bytes", request({ name: "é".repeat(512) })],
    ["32 dimensions", header({ shape: Array(32).fill(1n), total: 8n })],
    ["meta nested 32 deep", header({ meta: nestedObjects(32) })],
    ["params nested 32 deep", request({ params: `{"a":${"[".repeat(31)}${"]".repeat(31)}}` })],
    ["a dim of 2^53 - 1 (uint8)", header({ dtype: 2, shape: [MAX_SAFE], total: MAX_SAFE, rangeEnd: 0n })],
    [
      "product(shape) * itemsize = 2^53 - 8 (float64)",
      header({ shape: [2n ** 50n - 1n], total: 2n ** 53n - 8n, rangeEnd: 8n }),
    ],
    ["an array of exactly maxTotalByteLength", HEADER, { maxTotalByteLength: 96 }],
    ["a message of exactly maxControlByteLength", HEADER, { maxControlByteLength: 89 }],
    ["a payload of exactly maxChunkByteLength", set32(DATA, 12, 1024), { maxChunkByteLength: 1024 }],
    ["a payload of 2^32 - 1 under a 4 GiB cap", set32(DATA, 12, 0xffffffff), { maxChunkByteLength: 2 ** 32 }],
    ["an ERROR code of 64 bytes", error({ code: "E".repeat(64) })],
    ["an ERROR message of 4096 bytes", error({ message: "m".repeat(4096) })],
    ["an ERROR with an empty message", error({ message: "" })],
    ["a u64 of 2^53 - 1 (DATA byteOffset)", set64(DATA, 16, MAX_SAFE)],
    ["a CREDIT of 2^53 - 1", set64(CREDIT, 16, MAX_SAFE)],
    ["an END xxh32 checksum of 0xffffffff", set64(END, 24, 0xffffffffn)],
    ["a name that starts with a byte-order mark", header({ name: "\ufefftemps" })],
  ];

  it.each(AT_LIMIT)("%s", (_what, bytes, limits) => {
    expect(decodeError(bytes, limits)).toBeNull();
    expect(decodeError(atOddOffset(bytes), limits)).toBeNull();
  });

  it("keeps a leading byte-order mark in a name", () => {
    expect((decodeMessage(header({ name: "\ufefftemps" })) as ArrayHeaderMessage).name).toBe("\ufefftemps");
  });
});

describe("truncation at every byte", () => {
  const BASES: [string, Uint8Array, number][] = [
    ["ARRAY_HEADER", HEADER, 56],
    ["PUT", header({ type: 0x04 }), 56],
    ["REQUEST", REQUEST, 64],
    ["DATA", DATA, 24],
    ["END", END, 32],
    ["CREDIT", CREDIT, 24],
    ["CANCEL", CANCEL, 16],
    ["ERROR", ERROR, 16],
  ];

  it.each(BASES)("refuses every proper prefix of a valid %s with E_SHORT_MESSAGE", (type, base, fixed) => {
    for (let n = 0; n < base.byteLength; n++) {
      const expected =
        n < 12
          ? new RegExp(`^Invalid message: expected at least 12 bytes, got ${n}$`)
          : new RegExp(`^Invalid ${type}: expected ${n < fixed ? fixed : base.byteLength} bytes, got ${n}$`);
      expectProtocolError(decodeError(base.subarray(0, n)), "E_SHORT_MESSAGE", expected);
      expectProtocolError(decodeError(atOddOffset(base.subarray(0, n))), "E_SHORT_MESSAGE", expected);
    }
    expect(decodeError(base)).toBeNull();
  });
});

describe("zero-size dimensions", () => {
  const EMPTY: [string, number, bigint[]][] = [
    ["[0] float64", 10, [0n]],
    ["[3, 0, 5] int16", 4, [3n, 0n, 5n]],
    ["[2^50, 0] float64 (numpy accepts it)", 10, [2n ** 50n, 0n]],
    ["[0, 2^53-1] uint8", 2, [0n, MAX_SAFE]],
    ["[2^53-1, 2^53-1, 0] bigint64", 11, [MAX_SAFE, MAX_SAFE, 0n]],
  ];

  it.each(EMPTY)("decodes shape %s as an empty array and assembles it", (_what, dtypeCode, shape) => {
    const bytes = header({ dtype: dtypeCode, shape, total: 0n });
    const m = decodeMessage(bytes) as ArrayHeaderMessage;
    expect(m.type).toBe("ARRAY_HEADER");
    expect(m.totalByteLength).toBe(0);
    expect(m.rangeByteEnd).toBe(0);
    expect(m.shape).toEqual(shape.map(Number));
    const assembler = new Assembler(m, undefined);
    const result = assembler.finish({
      type: "END",
      streamId: 7,
      byteLength: 0,
      checksumAlgorithm: "xxh32",
      checksum: xxh32(new Uint8Array(0)),
    });
    expect(result.array.length).toBe(0);
    expect(result.array.byteLength).toBe(0);
    expect(result.shape).toEqual(shape.map(Number));
  });

  it("reads ndim 0 as a scalar of one element", () => {
    const m = decodeMessage(header({ shape: [], total: 8n })) as ArrayHeaderMessage;
    expect(m.shape).toEqual([]);
    expect(m.totalByteLength).toBe(8);
  });

  it("the client resolves a zero-size stream with an empty array", async () => {
    const { outcome } = await fetchAgainst((id) => [
      header({ streamId: id, dtype: 4, shape: [3n, 0n, 5n], total: 0n }),
      encodeEnd({ streamId: id, byteLength: 0, checksumAlgorithm: "xxh32", checksum: xxh32(new Uint8Array(0)) }),
    ]);
    expect(outcome.status).toBe("fulfilled");
    const result = (outcome as PromiseFulfilledResult<ArrayResult>).value;
    expect(result.array).toBeInstanceOf(Int16Array);
    expect(result.array.length).toBe(0);
    expect(result.shape).toEqual([3, 0, 5]);
  });
});

describe("stream id fields", () => {
  const id = 0xffffffff;
  it.each([
    ["ARRAY_HEADER", set32(HEADER, 8, id)],
    ["REQUEST", set32(REQUEST, 8, id)],
    ["DATA", set32(DATA, 8, id)],
    ["END", set32(END, 8, id)],
    ["CREDIT", set32(CREDIT, 8, id)],
    ["CANCEL", set32(CANCEL, 8, id)],
    ["ERROR", set32(ERROR, 8, id)],
  ])("reads a %s streamId of 0xffffffff as the u32 4294967295", (_type, bytes) => {
    expect(decodeMessage(bytes).streamId).toBe(4294967295);
  });

  it("leaves streamId 0 to the receiver: the decoder accepts it (the server answers E_BAD_REQUEST)", () => {
    expect(decodeMessage(set32(REQUEST, 8, 0)).streamId).toBe(0);
    expect(decodeMessage(set32(ERROR, 8, 0)).streamId).toBe(0);
  });

  it("the client ignores a header, an END and an ERROR for a stream it does not know, and warns on ERROR 0", async () => {
    const source = new Float64Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    const bytes = new Uint8Array(source.buffer);
    const { outcome, warnings } = await fetchAgainst((sid) => [
      header({ streamId: sid + 1 }),
      encodeEnd({ streamId: 0, byteLength: 0, checksumAlgorithm: "none", checksum: 0 }),
      encodeError(sid + 1, "E_GONE", "not yours"),
      encodeError(0, "E_TEXT_FRAME", "connection-level"),
      encodeData(sid + 1, 0, 5), // a foreign payload: dropped, framing kept
      new Uint8Array(5),
      header({ streamId: sid }),
      encodeData(sid, 0, 96),
      bytes,
      encodeEnd({ streamId: sid, byteLength: 96, checksumAlgorithm: "xxh32", checksum: xxh32(bytes) }),
    ]);
    expect(outcome.status).toBe("fulfilled");
    expect((outcome as PromiseFulfilledResult<{ array: Float64Array }>).value.array).toEqual(source);
    expect(warnings).toEqual(["server: E_TEXT_FRAME: connection-level"]);
  });

  it("the client keeps its stream when a bad message names another stream id", async () => {
    const { outcome, warnings } = await fetchAgainst((sid) => [set8(set32(HEADER, 8, sid + 1), 6, 0)]);
    expect(outcome.status).toBe("rejected");
    expect((outcome as PromiseRejectedResult).reason).toMatchObject({ code: "E_CONNECTION_CLOSED" });
    expect(warnings).toEqual(["dropped a bad message: E_UNKNOWN_DTYPE: Unknown dtype code: expected 1..12, got 0"]);
  });
});

// ---------------------------------------------------------------------------------------------
// Through the real client.
// ---------------------------------------------------------------------------------------------

interface Outcome {
  outcome: PromiseSettledResult<ArrayResult>;
  warnings: string[];
  streamId: number;
}

/** Connects an ArrayClient to a fake server whose answer to the REQUEST is `replies(streamId)`. */
async function fetchAgainst(
  replies: (streamId: number) => ServerMessage[],
  connect: ConnectOptions = {},
  fetchOptions: FetchOptions = {},
): Promise<Outcome> {
  let streamId = -1;
  const warnings: string[] = [];
  const fake = fakeWebSocket({
    delivery: "view",
    onRequest: (req) => {
      streamId = req.streamId;
      return replies(req.streamId);
    },
  });
  const client = await ArrayClient.connect("ws://fake/arraywire", {
    ...connect,
    WebSocket: fake.WebSocket,
    onWarning: (m) => warnings.push(m),
  });
  const [outcome] = await Promise.allSettled([client.fetch("temps", { chunkByteLength: 64, ...fetchOptions })]);
  client.close();
  expect(fake.log.scriptErrors).toEqual([]);
  expect(fake.log.listenerErrors).toEqual([]);
  expect(fake.log.badSends).toEqual([]);
  return { outcome: outcome as Outcome["outcome"], warnings, streamId };
}

describe("the real ArrayClient fails the stream for every row", () => {
  let spy: AllocationSpy | null = null;
  beforeEach(() => {
    spy = null;
  });
  afterEach(() => {
    spy?.restore();
  });

  it.each(ROWS)("$what", async (row) => {
    const bytes = fresh(row);
    const connect: ConnectOptions = {
      maxControlByteLength: row.limits?.maxControlByteLength,
      maxChunkByteLength: row.limits?.maxChunkByteLength,
    };
    const fetchOptions: FetchOptions = { maxBytes: row.limits?.maxTotalByteLength };
    const arrayBuffersBefore = process.memoryUsage().arrayBuffers;
    // Record every allocation of at least the declared size (or 1 MiB, whichever is smaller).
    if (row.overCap !== undefined) spy = spyOnAllocations(Math.min(row.overCap, MiB));
    const { outcome, warnings, streamId } = await fetchAgainst(
      (id) => {
        // Name the client's stream, wherever the row's bytes are long enough to hold an id.
        if (bytes.byteLength >= 12) new DataView(bytes.buffer, bytes.byteOffset).setUint32(8, id, true);
        return [bytes];
      },
      connect,
      fetchOptions,
    );
    expect(outcome.status).toBe("rejected");
    const err = (outcome as PromiseRejectedResult).reason as StreamError;
    expect(err).toBeInstanceOf(StreamError);
    expect(err.streamId).toBe(streamId);
    if (bytes.byteLength < 12) {
      // No stream id to blame: the client warns and the stream ends with the connection.
      expect(err.code).toBe("E_CONNECTION_CLOSED");
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(new RegExp(`^dropped a bad message: ${row.code}: `));
      return;
    }
    expect(warnings).toEqual([]);
    expect(err.code).toBe(TOO_BIG_CODES.has(row.code) ? "E_TOO_LARGE" : "E_PROTOCOL");
    if (row.overCap !== undefined) {
      // The client decodes with no array cap and applies its own maxBytes: a StreamError of its own.
      expect(err.message).toMatch(
        new RegExp(`^Array too large: expected at most \\d+ bytes \\(maxBytes\\), got ${row.overCap}$`),
      );
      expect(spy?.big).toEqual([]);
      // Memory held by ArrayBuffers moves by a few KiB on its own: meaningful for big declarations only.
      if (row.overCap >= 64 * MiB) {
        expect(process.memoryUsage().arrayBuffers - arrayBuffersBefore).toBeLessThan(row.overCap / 2);
      }
    } else {
      expect(err.cause).toBeInstanceOf(ProtocolError);
      expect((err.cause as ProtocolError).code).toBe(row.code);
      expect(err.message).toMatch(row.message);
    }
  });

  it.each(ROWS.filter((r) => r.overCap !== undefined))(
    "decodeMessage allocates nothing near the size of: $what",
    (row) => {
      const bytes = fresh(row);
      spy = spyOnAllocations(Math.min(row.overCap ?? 0, 1024));
      expectProtocolError(decodeError(bytes, row.limits), row.code, row.message);
      expect(spy.big).toEqual([]);
    },
  );
});

describe("every supported dtype", () => {
  it.each(DTYPES.filter(isDtypeSupported))("%s: the header fixture with that dtype decodes", (dtype: Dtype) => {
    const itemsize = BigInt(DTYPE_BYTES_PER_ELEMENT[dtype]);
    const code = DTYPES.indexOf(dtype) + 1;
    const m = decodeMessage(header({ dtype: code, total: 12n * itemsize })) as ArrayHeaderMessage;
    expect(m.dtype).toBe(dtype);
  });
});
