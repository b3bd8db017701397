/**
 * Reads the header of a zstd frame (RFC 8878, section 3.1.1) without decoding anything, so a
 * receiver can refuse a DATA_ENCODED payload whose declared content size is not the chunk's raw
 * length, or whose window is larger than {@link MAX_ZSTD_WINDOW_BYTES}, before the decoder
 * allocates or writes a byte. Layout: magic (4 bytes, 0xFD2FB528 little-endian), frame header
 * descriptor (1), window descriptor (1, absent for single-segment frames), dictionary id (0, 1,
 * 2 or 4 bytes), frame content size (0, 1, 2, 4 or 8 bytes).
 */
import { ProtocolError } from "./errors.ts";
import { LE } from "./protocol.ts";
import { viewOf } from "./wire.ts";

/** Magic number of a zstd frame, read as a little-endian u32 (bytes 28 b5 2f fd). */
export const ZSTD_MAGIC = 0xfd2fb528;

/** What a zstd frame header declares. */
export interface ZstdFrameHeader {
  /** Decoded size the frame declares, or null when the header leaves it out. */
  contentSize: number | null;
  /** Bytes of history the decoder must keep (the content size for single-segment frames). */
  windowSize: number;
  /** Dictionary id, 0 for none. */
  dictionaryId: number;
  /** Bytes of the frame header (magic included). */
  headerByteLength: number;
}

const DICTIONARY_ID_BYTES = [0, 1, 2, 4] as const;

/**
 * Parses the frame header at the start of `bytes`.
 * @throws {@link ProtocolError} `E_BAD_ENCODING` for a wrong magic, a set reserved bit, or a
 *   header cut short; `E_TOO_LARGE` for a content size above Number.MAX_SAFE_INTEGER.
 */
export function readZstdFrameHeader(bytes: Uint8Array): ZstdFrameHeader {
  if (bytes.byteLength < 6) {
    throw new ProtocolError("E_BAD_ENCODING", `Invalid zstd frame: expected at least 6 bytes, got ${bytes.byteLength}`);
  }
  const view = viewOf(bytes);
  const magic = view.getUint32(0, LE);
  if (magic !== ZSTD_MAGIC) {
    throw new ProtocolError(
      "E_BAD_ENCODING",
      `Invalid zstd frame: expected magic 0x${ZSTD_MAGIC.toString(16)}, got 0x${magic.toString(16).padStart(8, "0")}`,
    );
  }
  const descriptor = view.getUint8(4);
  if ((descriptor & 0x08) !== 0) {
    throw new ProtocolError(
      "E_BAD_ENCODING",
      "Invalid zstd frame: reserved bit 3 of the frame header descriptor is set",
    );
  }
  const contentSizeFlag = descriptor >> 6;
  const singleSegment = (descriptor & 0x20) !== 0;
  const dictionaryIdBytes = DICTIONARY_ID_BYTES[descriptor & 0x03] as number;
  const contentSizeBytes = [singleSegment ? 1 : 0, 2, 4, 8][contentSizeFlag] as number;
  let at = 5;
  let windowSize = 0;
  if (!singleSegment) {
    const windowDescriptor = view.getUint8(at++);
    const windowLog = 10 + (windowDescriptor >> 3);
    const windowBase = 2 ** windowLog;
    windowSize = windowBase + (windowBase / 8) * (windowDescriptor & 0x07);
  }
  const headerByteLength = at + dictionaryIdBytes + contentSizeBytes;
  if (bytes.byteLength < headerByteLength) {
    throw new ProtocolError(
      "E_BAD_ENCODING",
      `Invalid zstd frame: expected a ${headerByteLength}-byte header, got ${bytes.byteLength} bytes`,
    );
  }
  let dictionaryId = 0;
  for (let i = 0; i < dictionaryIdBytes; i++) dictionaryId += view.getUint8(at + i) * 2 ** (8 * i);
  at += dictionaryIdBytes;
  let contentSize: number | null = null;
  if (contentSizeBytes === 1) contentSize = view.getUint8(at);
  else if (contentSizeBytes === 2) contentSize = view.getUint16(at, LE) + 256;
  else if (contentSizeBytes === 4) contentSize = view.getUint32(at, LE);
  else if (contentSizeBytes === 8) {
    const high = view.getUint32(at + 4, LE);
    if (high > 0x1fffff) {
      throw new ProtocolError("E_TOO_LARGE", "Invalid zstd frame: content size above Number.MAX_SAFE_INTEGER");
    }
    contentSize = high * 2 ** 32 + view.getUint32(at, LE);
  }
  if (singleSegment) windowSize = contentSize as number;
  return { contentSize, windowSize, dictionaryId, headerByteLength };
}
