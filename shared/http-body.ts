/**
 * Framing of a stream sent as one byte sequence (the HTTP transport's response body): the
 * ARRAY_HEADER message, the range's raw bytes, then the END message. Unlike a WebSocket message,
 * a byte stream has no message boundaries, so the reader needs the header's length from its
 * fixed part before it can read the rest.
 */

import { ProtocolError } from "./errors.ts";
import {
  HEADER_FIXED_BYTE_LENGTH,
  LE,
  MESSAGE_TYPES,
  OFFSET_HEADER_META_BYTES,
  OFFSET_HEADER_NAME_BYTES,
  OFFSET_NDIM,
  OFFSET_SHAPE,
  SHAPE_DIM_BYTE_LENGTH,
} from "./protocol.ts";
import { readPrefix, viewOf } from "./wire.ts";

/**
 * Byte length of the whole ARRAY_HEADER whose first HEADER_FIXED_BYTE_LENGTH bytes are `fixed`,
 * checked against `maxControlByteLength` before anything more is read.
 * @throws {@link ProtocolError} E_SHORT_MESSAGE, E_BAD_MAGIC, E_BAD_VERSION, E_UNKNOWN_TYPE
 *   (not an ARRAY_HEADER) or E_HEADER_TOO_LARGE.
 */
export function headerByteLength(fixed: Uint8Array, maxControlByteLength: number): number {
  if (fixed.byteLength < HEADER_FIXED_BYTE_LENGTH) {
    throw new ProtocolError(
      "E_SHORT_MESSAGE",
      `Invalid ARRAY_HEADER: expected at least ${HEADER_FIXED_BYTE_LENGTH} bytes, got ${fixed.byteLength}`,
    );
  }
  const view = viewOf(fixed);
  const type = readPrefix(view);
  if (type !== MESSAGE_TYPES.ARRAY_HEADER) {
    throw new ProtocolError(
      "E_UNKNOWN_TYPE",
      `Invalid body: expected ARRAY_HEADER (0x10), got 0x${type.toString(16).padStart(2, "0")}`,
    );
  }
  const byteLength =
    OFFSET_SHAPE +
    view.getUint8(OFFSET_NDIM) * SHAPE_DIM_BYTE_LENGTH +
    view.getUint16(OFFSET_HEADER_NAME_BYTES, LE) +
    view.getUint32(OFFSET_HEADER_META_BYTES, LE);
  if (byteLength > maxControlByteLength) {
    throw new ProtocolError(
      "E_HEADER_TOO_LARGE",
      `Control message too large: expected at most ${maxControlByteLength} bytes, got ${byteLength}`,
    );
  }
  return byteLength;
}
