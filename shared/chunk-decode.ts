/**
 * Decoding a DATA_ENCODED payload straight into the target: the frame header is checked first
 * (one zstd frame, no dictionary, content size present and equal to the declared raw length,
 * window within {@link MAX_ZSTD_WINDOW_BYTES}), so a lying or hostile payload is refused before
 * the decoder allocates anything; the decoder's output can never exceed that raw length, which
 * the receiver's chunk cap bounds (no decompression bomb). A shuffled chunk is unshuffled from
 * the decoder's output into the target window; an unshuffled one is copied in with one set.
 */
import { ProtocolError } from "./errors.ts";
import type { DataEncodedMessage } from "./message-types.ts";
import { MAX_ZSTD_WINDOW_BYTES } from "./protocol.ts";
import { unshuffleBytes } from "./shuffle.ts";
import type { ZstdCodec } from "./zstd.ts";
import { readZstdFrameHeader } from "./zstd-frame.ts";

/**
 * Checks an encoded payload against its DATA_ENCODED without decoding it.
 * @throws {@link ProtocolError} `E_BAD_LENGTH` for a payload or frame content size that is not the
 *   declared length, `E_BAD_ENCODING` for a frame that is not a plain zstd frame, `E_TOO_LARGE`
 *   for a window above 8 MiB.
 */
export function checkEncodedPayload(message: DataEncodedMessage, payload: Uint8Array): void {
  if (payload.byteLength !== message.payloadByteLength) {
    throw new ProtocolError(
      "E_BAD_LENGTH",
      `Invalid payload: expected ${message.payloadByteLength} bytes, got ${payload.byteLength}`,
    );
  }
  const frame = readZstdFrameHeader(payload);
  if (frame.dictionaryId !== 0) {
    throw new ProtocolError(
      "E_BAD_ENCODING",
      `Invalid zstd frame: expected no dictionary, got id ${frame.dictionaryId}`,
    );
  }
  if (frame.contentSize !== message.rawByteLength) {
    throw new ProtocolError(
      "E_BAD_LENGTH",
      `Invalid zstd frame: expected content size ${message.rawByteLength} (rawByteLength), got ${frame.contentSize ?? "none"}`,
    );
  }
  if (frame.windowSize > MAX_ZSTD_WINDOW_BYTES) {
    throw new ProtocolError(
      "E_TOO_LARGE",
      `Invalid zstd frame: expected a window of at most ${MAX_ZSTD_WINDOW_BYTES} bytes, got ${frame.windowSize}`,
    );
  }
}

/**
 * Decodes `payload` into `target` (exactly `message.rawByteLength` bytes, e.g. the window of the
 * preallocated array at the chunk's offset), unshuffling with `itemByteLength` when the chunk
 * is shuffled.
 * @throws {@link ProtocolError} what {@link checkEncodedPayload} throws, or `E_BAD_ENCODING` when
 *   the frame does not decode to exactly rawByteLength bytes.
 * @throws {RangeError} when `target` is not rawByteLength bytes (a caller bug).
 */
export function decodeChunkInto(
  zstd: ZstdCodec,
  message: DataEncodedMessage,
  payload: Uint8Array,
  target: Uint8Array,
  itemByteLength: number,
): void {
  if (target.byteLength !== message.rawByteLength) {
    throw new RangeError(`decodeChunkInto: expected a ${message.rawByteLength}-byte target, got ${target.byteLength}`);
  }
  checkEncodedPayload(message, payload);
  let decoded: Uint8Array;
  try {
    decoded = zstd.decompress(payload, message.rawByteLength);
  } catch (cause) {
    throw new ProtocolError("E_BAD_ENCODING", `Invalid zstd frame: ${(cause as Error).message}`, { cause });
  }
  if (decoded.byteLength !== message.rawByteLength) {
    throw new ProtocolError(
      "E_BAD_ENCODING",
      `Invalid zstd frame: expected ${message.rawByteLength} decoded bytes, got ${decoded.byteLength}`,
    );
  }
  if (message.filter === "shuffle") unshuffleBytes(decoded, target, itemByteLength);
  else target.set(decoded);
}
