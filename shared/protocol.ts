/**
 * arraywire wire protocol, version 1: byte layout and constants. docs/PROTOCOL.md is the prose
 * version of this table and changes in the same commit.
 *
 * Every WebSocket message is binary. A message is either a control message, which starts with the
 * 8-byte prefix below, or a payload message: raw array bytes with no prefix at all, which is only
 * ever the message right after a DATA message (WebSocket keeps message order). Payload messages
 * have no header so that the server can send a subarray view of the source array as-is (ws writes
 * [frame header, view] without copying; a glued header would force a copy of every chunk).
 *
 * All multi-byte fields are little-endian. u64 fields are read as two u32 halves and refused above
 * Number.MAX_SAFE_INTEGER. Strings are UTF-8; JSON parts are UTF-8 JSON objects.
 *
 * Common prefix (every control message):
 * | offset | bytes | type | field                                    |
 * |      0 |     4 | u32  | magic 0x52575241 (bytes "ARWR")          |
 * |      4 |     1 | u8   | version = 1                              |
 * |      5 |     1 | u8   | message type (MESSAGE_TYPES)             |
 * |      6 |     2 |      | per type                                 |
 * |      8 |     4 | u32  | streamId (0 = the connection, ERROR only) |
 *
 * REQUEST 0x01 (client -> server), 64 bytes + name + params:
 * |  6 | 2 | u16 | flags: REQUEST_FLAG_RANGE, _GENERATION, _HEADER_ONLY, _SUBSCRIBE |
 * | 12 | 2 | u16 | nameByteLength (1..MAX_NAME_BYTES)                      |
 * | 14 | 1 | u8  | checksumAlgorithm wanted in the END trailer (0 = none) |
 * | 15 | 1 | u8  | codecs the client decodes (REQUEST_CODEC_* bits; 0 = none) |
 * | 16 | 4 | u32 | paramsByteLength (JSON object, 0 = none)               |
 * | 20 | 4 | u32 | chunkByteLength wanted (0 = server default)            |
 * | 24 | 8 | u64 | elementStart (0 unless REQUEST_FLAG_RANGE)             |
 * | 32 | 8 | u64 | elementEnd, exclusive (0 unless REQUEST_FLAG_RANGE)    |
 * | 40 | 8 | u64 | resumeByteOffset, from the first byte of the range     |
 * | 48 | 8 | u64 | creditByteLength: initial window (0 = no credit flow)  |
 * | 56 | 4 | u32 | expectedGeneration (0 unless REQUEST_FLAG_GENERATION)  |
 * | 60 | 4 | u32 | reserved, 0                                            |
 * | 64 | n |     | name, then params                                      |
 *
 * CREDIT 0x02 (client -> server), 24 bytes: | 12 | 4 | reserved | 16 | 8 | u64 grantByteLength (> 0) |
 * CANCEL 0x03 (client -> server), 16 bytes: | 12 | 4 | reserved |
 *
 * ARRAY_HEADER 0x10 (server -> client) and PUT 0x04 (client -> server: an upload, whose JSON part
 * is {"meta", "params"} and whose generation is 0 or the upload id to resume),
 * 56 bytes + 8 * ndim + name + meta:
 * |  6 | 1 | u8  | dtype (DTYPE_CODES)                                    |
 * |  7 | 1 | u8  | ndim (0..MAX_NDIM)                                     |
 * | 12 | 2 | u16 | nameByteLength (1..MAX_NAME_BYTES)                     |
 * | 14 | 1 | u8  | checksumAlgorithm the END trailer will carry            |
 * | 15 | 1 | u8  | reserved, 0                                            |
 * | 16 | 4 | u32 | metaByteLength (JSON object, 0 = none)                 |
 * | 20 | 4 | u32 | generation of the published array (changes on republish) |
 * | 24 | 8 | u64 | totalByteLength = product(shape) * itemsize            |
 * | 32 | 8 | u64 | rangeByteStart (multiple of itemsize)                  |
 * | 40 | 8 | u64 | rangeByteEnd, exclusive (multiple of itemsize)         |
 * | 48 | 8 | u64 | firstByteOffset: first byte this stream sends (resume)  |
 * | 56 | 8*ndim | u64[] | shape                                            |
 * | .. | n |     | name, then meta                                         |
 *
 * DATA 0x11 (server -> client; client -> server in an upload), 24 bytes; the next message is the
 * payload:
 * | 12 | 4 | u32 | payloadByteLength (> 0)                                |
 * | 16 | 8 | u64 | byteOffset in the array of the payload's first byte    |
 *
 * DATA_ENCODED 0x14 (server -> client, only to a client that offered the codec), 32 bytes; the
 * next message is the encoded payload:
 * | 12 | 4 | u32 | payloadByteLength: encoded bytes (1..rawByteLength)    |
 * | 16 | 8 | u64 | byteOffset in the array of the chunk's first raw byte  |
 * | 24 | 4 | u32 | rawByteLength: decoded bytes (> 0, <= the chunk cap)   |
 * | 28 | 1 | u8  | codec (CHUNK_CODECS: 1 = zstd, one frame)              |
 * | 29 | 1 | u8  | filter (CHUNK_FILTERS: 0 = none, 1 = byte-shuffle)     |
 * | 30 | 2 | u16 | reserved, 0                                            |
 *
 * END 0x12 (both directions: the sender's trailer, and the server's acknowledgement of an upload), 32 bytes:
 * |  6 | 1 | u8  | checksumAlgorithm                                      |
 * |  7 | 1 | u8  | reserved, 0                                            |
 * | 12 | 4 | u32 | reserved, 0                                            |
 * | 16 | 8 | u64 | byteLength sent by this stream                         |
 * | 24 | 8 | u64 | checksum of bytes [rangeByteStart, rangeByteEnd): the 32-bit XXH32 or CRC-32C in the low half, 0 for none |
 *
 * ERROR 0x13 (either direction), 16 bytes + code + message:
 * |  6 | 1 | u8  | codeByteLength (1..MAX_ERROR_CODE_BYTES), ASCII         |
 * |  7 | 1 | u8  | reserved, 0                                            |
 * | 12 | 4 | u32 | messageByteLength (0..MAX_ERROR_MESSAGE_BYTES), UTF-8   |
 * | 16 | n |     | code, then message                                     |
 *
 * GROW 0x15 (server -> client, SUBSCRIBE streams), 32 bytes:
 * | 12 | 4 | u32 | reserved, 0                                            |
 * | 16 | 8 | u64 | totalByteLength: the array's byte length now            |
 * | 24 | 8 | u64 | maxTotalByteLength: the most it can ever hold            |
 *
 * ACCEPT 0x16 (server -> client, answers a PUT), 40 bytes:
 * | 12 | 4 | u32 | uploadId (> 0): names the upload for a resume           |
 * | 16 | 8 | u64 | firstByteOffset: the uploader sends from here            |
 * | 24 | 8 | u64 | creditByteLength: initial window (> 0)                   |
 * | 32 | 4 | u32 | maxPayloadByteLength: largest payload taken (> 0)        |
 * | 36 | 4 | u32 | reserved, 0                                            |
 *
 * CREDIT also travels server -> client in an upload (the server's window for the uploader).
 */

/** Every multi-byte field is little-endian. */
export const LE = true;

/** Bytes "ARWR" read as a little-endian u32. */
export const MAGIC = 0x52575241;
/** Protocol version this code speaks. */
export const PROTOCOL_VERSION = 1;

/** Message type codes (byte 5 of every control message). Codes never change meaning. */
export const MESSAGE_TYPES = {
  REQUEST: 0x01,
  CREDIT: 0x02,
  CANCEL: 0x03,
  PUT: 0x04,
  ARRAY_HEADER: 0x10,
  DATA: 0x11,
  END: 0x12,
  ERROR: 0x13,
  DATA_ENCODED: 0x14,
  GROW: 0x15,
  ACCEPT: 0x16,
} as const;

// Common prefix.
export const OFFSET_MAGIC = 0; // u32
export const OFFSET_VERSION = 4; // u8
export const OFFSET_TYPE = 5; // u8
export const OFFSET_STREAM_ID = 8; // u32
export const PREFIX_BYTE_LENGTH = 12;

// REQUEST.
export const OFFSET_REQUEST_FLAGS = 6; // u16
export const OFFSET_REQUEST_NAME_BYTES = 12; // u16
export const OFFSET_REQUEST_CHECKSUM_ALGORITHM = 14; // u8
export const OFFSET_REQUEST_CODECS = 15; // u8
export const OFFSET_REQUEST_PARAMS_BYTES = 16; // u32
export const OFFSET_REQUEST_CHUNK_BYTES = 20; // u32
export const OFFSET_REQUEST_ELEMENT_START = 24; // u64
export const OFFSET_REQUEST_ELEMENT_END = 32; // u64
export const OFFSET_REQUEST_RESUME_BYTE_OFFSET = 40; // u64
export const OFFSET_REQUEST_CREDIT_BYTES = 48; // u64
export const OFFSET_REQUEST_GENERATION = 56; // u32
export const OFFSET_REQUEST_RESERVED32 = 60; // u32
export const REQUEST_FIXED_BYTE_LENGTH = 64;
/** REQUEST flag: elementStart / elementEnd select a range of the flattened array. */
export const REQUEST_FLAG_RANGE = 1 << 0;
/** REQUEST flag: expectedGeneration must match the published array's (resume). */
export const REQUEST_FLAG_GENERATION = 1 << 1;
/**
 * REQUEST flag: answer with the ARRAY_HEADER alone (a stat): no DATA, no END; the stream ends with
 * the header.
 */
export const REQUEST_FLAG_HEADER_ONLY = 1 << 3;
/**
 * REQUEST flag: subscribe to a live array: the stream sends what exists, then every append
 * (announced by GROW), and ends with END only when the array is closed (or the RANGE end is reached).
 */
export const REQUEST_FLAG_SUBSCRIBE = 1 << 4;
export const REQUEST_FLAGS_KNOWN =
  REQUEST_FLAG_RANGE | REQUEST_FLAG_GENERATION | REQUEST_FLAG_HEADER_ONLY | REQUEST_FLAG_SUBSCRIBE;
/** REQUEST codecs bit: the client decodes DATA_ENCODED chunks with codec zstd. */
export const REQUEST_CODEC_ZSTD = 1 << 0;
export const REQUEST_CODECS_KNOWN = REQUEST_CODEC_ZSTD;

// CREDIT and CANCEL.
export const OFFSET_CREDIT_GRANT_BYTES = 16; // u64
export const CREDIT_BYTE_LENGTH = 24;
export const CANCEL_BYTE_LENGTH = 16;

// ARRAY_HEADER and PUT.
export const OFFSET_DTYPE = 6; // u8
export const OFFSET_NDIM = 7; // u8
export const OFFSET_HEADER_NAME_BYTES = 12; // u16
export const OFFSET_HEADER_CHECKSUM_ALGORITHM = 14; // u8
export const OFFSET_HEADER_RESERVED8 = 15; // u8
export const OFFSET_HEADER_META_BYTES = 16; // u32
export const OFFSET_GENERATION = 20; // u32
export const OFFSET_TOTAL_BYTES = 24; // u64
export const OFFSET_RANGE_BYTE_START = 32; // u64
export const OFFSET_RANGE_BYTE_END = 40; // u64
export const OFFSET_FIRST_BYTE_OFFSET = 48; // u64
export const OFFSET_SHAPE = 56; // u64 * ndim
export const HEADER_FIXED_BYTE_LENGTH = OFFSET_SHAPE;
export const SHAPE_DIM_BYTE_LENGTH = 8;

// DATA.
export const OFFSET_DATA_PAYLOAD_BYTES = 12; // u32
export const OFFSET_DATA_BYTE_OFFSET = 16; // u64
export const DATA_BYTE_LENGTH = 24;

// DATA_ENCODED.
export const OFFSET_ENCODED_PAYLOAD_BYTES = 12; // u32
export const OFFSET_ENCODED_BYTE_OFFSET = 16; // u64
export const OFFSET_ENCODED_RAW_BYTES = 24; // u32
export const OFFSET_ENCODED_CODEC = 28; // u8
export const OFFSET_ENCODED_FILTER = 29; // u8
export const OFFSET_ENCODED_RESERVED16 = 30; // u16
export const DATA_ENCODED_BYTE_LENGTH = 32;
/** Codec of a DATA_ENCODED payload (byte 28); 0 is never sent (a raw chunk goes as DATA). */
export const CHUNK_CODECS = { zstd: 1 } as const;
export type ChunkCodec = keyof typeof CHUNK_CODECS;
/** Filter applied before the codec (byte 29): byte-shuffle uses the dtype's itemsize. */
export const CHUNK_FILTERS = { none: 0, shuffle: 1 } as const;
export type ChunkFilter = keyof typeof CHUNK_FILTERS;
/**
 * Largest zstd window a DATA_ENCODED frame may declare: 8 MiB, what Chromium's
 * `Content-Encoding: zstd` decoder accepts (zstd levels up to 19 stay within it).
 */
export const MAX_ZSTD_WINDOW_BYTES = 8 * 1024 * 1024;

// END.
export const OFFSET_END_CHECKSUM_ALGORITHM = 6; // u8
export const OFFSET_END_RESERVED8 = 7; // u8
export const OFFSET_END_RESERVED32 = 12; // u32
export const OFFSET_END_BYTE_LENGTH = 16; // u64
export const OFFSET_END_CHECKSUM = 24; // u64
export const END_BYTE_LENGTH = 32;

// ERROR.
export const OFFSET_ERROR_CODE_BYTES = 6; // u8
export const OFFSET_ERROR_RESERVED8 = 7; // u8
export const OFFSET_ERROR_MESSAGE_BYTES = 12; // u32
export const ERROR_FIXED_BYTE_LENGTH = 16;

// GROW.
export const OFFSET_GROW_RESERVED32 = 12; // u32
export const OFFSET_GROW_TOTAL_BYTES = 16; // u64
export const OFFSET_GROW_MAX_TOTAL_BYTES = 24; // u64
export const GROW_BYTE_LENGTH = 32;

// ACCEPT.
export const OFFSET_ACCEPT_UPLOAD_ID = 12; // u32
export const OFFSET_ACCEPT_FIRST_BYTE_OFFSET = 16; // u64
export const OFFSET_ACCEPT_CREDIT_BYTES = 24; // u64
export const OFFSET_ACCEPT_MAX_PAYLOAD_BYTES = 32; // u32
export const OFFSET_ACCEPT_RESERVED32 = 36; // u32
export const ACCEPT_BYTE_LENGTH = 40;

/**
 * WebSocket subprotocol of the arraywire protocol. A client that offers subprotocols (a token
 * carried as "arraywire.token.<t>", say) offers this one too, and the server answers with it.
 */
export const SUBPROTOCOL = "arraywire";

/** Media type of an HTTP stream body (header, raw range, END) and of an HTTP error body (ERROR). */
export const HTTP_CONTENT_TYPE = "application/vnd.arraywire";

/**
 * Checksum algorithms of the END trailer, over bytes [rangeByteStart, rangeByteEnd): CRC-32C
 * (Castagnoli), or XXH32 (xxHash 32-bit, seed 0), about 4x faster in JavaScript. Both are
 * 32-bit values in the low half of the u64 checksum field.
 */
export const CHECKSUM_ALGORITHMS = { none: 0, crc32c: 1, xxh32: 2 } as const;
export type ChecksumAlgorithm = keyof typeof CHECKSUM_ALGORITHMS;

/** Most dimensions an array may have (numpy's limit is 64; 32 keeps headers small). */
export const MAX_NDIM = 32;
/** Longest name, in UTF-8 bytes. */
export const MAX_NAME_BYTES = 1024;
/** Longest error code, in ASCII bytes. */
export const MAX_ERROR_CODE_BYTES = 64;
/** Longest error message, in UTF-8 bytes. */
export const MAX_ERROR_MESSAGE_BYTES = 4096;
/** Default cap on one control message (REQUEST, ARRAY_HEADER, ERROR...), in bytes: 64 KiB. */
export const DEFAULT_MAX_CONTROL_BYTES = 64 * 1024;
/** Default cap on one payload message, in bytes: 64 MiB (ws's default maxPayload is 100 MiB). */
export const DEFAULT_MAX_CHUNK_BYTES = 64 * 1024 * 1024;
/** Default cap on the array bytes a receiver agrees to allocate: 2 GiB. */
export const DEFAULT_MAX_TOTAL_BYTES = 2 * 1024 * 1024 * 1024;
