/**
 * A zstd frame written by hand around bytes that are not compressed (RFC 8878: raw blocks), so a
 * `Content-Encoding: zstd` body can carry a chunk that does not compress, or a control message,
 * without a compressor call and without copying: the result is the small headers plus views of
 * the content. The frame declares a 128 KiB window (blocks are at most 128 KiB) and a 4-byte
 * content size, so it stays within the 8 MiB window browsers accept whatever its length.
 */

/** Largest raw block: Block_Maximum_Size is min(window, 128 KiB). */
export const RAW_BLOCK_BYTE_LENGTH = 128 * 1024;

const FRAME_HEADER_BYTE_LENGTH = 10;

/**
 * The pieces of one frame holding `content` (headers, then views of `content`), to be written
 * in order.
 * @throws {RangeError} when `content` is 4 GiB or more (the content size field is 4 bytes).
 */
export function rawFramePieces(content: Uint8Array): Uint8Array[] {
  const n = content.byteLength;
  if (n >= 2 ** 32) throw new RangeError(`rawFramePieces: expected under 4 GiB, got ${n} bytes`);
  const blocks = Math.max(1, Math.ceil(n / RAW_BLOCK_BYTE_LENGTH));
  const head = new Uint8Array(FRAME_HEADER_BYTE_LENGTH + 3);
  const view = new DataView(head.buffer);
  view.setUint32(0, 0xfd2fb528, true); // magic
  head[4] = 0x80; // descriptor: 4-byte content size, not single segment, no checksum, no dictionary
  head[5] = 7 << 3; // window descriptor: 2^(10 + 7) = 128 KiB
  view.setUint32(6, n, true);
  const pieces: Uint8Array[] = [head];
  for (let b = 0; b < blocks; b++) {
    const start = b * RAW_BLOCK_BYTE_LENGTH;
    const piece = content.subarray(start, Math.min(n, start + RAW_BLOCK_BYTE_LENGTH));
    const last = b === blocks - 1 ? 1 : 0;
    const blockHeader = last | (piece.byteLength << 3); // block type 0: raw
    const h = b === 0 ? head.subarray(FRAME_HEADER_BYTE_LENGTH) : new Uint8Array(3);
    h[0] = blockHeader & 0xff;
    h[1] = (blockHeader >> 8) & 0xff;
    h[2] = (blockHeader >> 16) & 0xff;
    if (b > 0) pieces.push(h);
    if (piece.byteLength > 0) pieces.push(piece);
  }
  return pieces;
}
