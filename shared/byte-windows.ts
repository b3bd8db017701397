/**
 * Byte views of arrays past 4 GiB. Node 20's V8 caps a typed array at 2^32 elements
 * (`buffer.constants.MAX_LENGTH`) while its ArrayBuffers go further: a Float64Array of 2^29 + 1
 * elements (4 GiB + 8 bytes) exists, a Uint8Array over all of its bytes does not ("Invalid typed
 * array length"). So nothing here ever builds one Uint8Array over a whole array: bytes are viewed
 * window by window, each at most {@link MAX_BYTE_WINDOW_LENGTH} long, at byte offsets that are
 * plain Numbers (exact up to 2^53).
 */

/** Longest byte window handed out by {@link forEachByteWindow}: 1 GiB, far below every runtime's typed array cap. */
export const MAX_BYTE_WINDOW_LENGTH = 2 ** 30;

/**
 * A Uint8Array over bytes [byteStart, byteStart + byteLength) of `view`'s own window (never past
 * it). `byteLength` must be at most 2^32 on Node 20 (see the module comment).
 * @throws {RangeError} when the window does not lie inside `view`.
 */
export function byteWindow(view: ArrayBufferView, byteStart: number, byteLength: number): Uint8Array {
  if (
    !Number.isSafeInteger(byteStart) ||
    !Number.isSafeInteger(byteLength) ||
    byteStart < 0 ||
    byteLength < 0 ||
    byteStart + byteLength > view.byteLength
  ) {
    throw new RangeError(
      `byteWindow: expected a window inside the view's ${view.byteLength} bytes, got [${byteStart}, ${byteStart + byteLength})`,
    );
  }
  return new Uint8Array(view.buffer, view.byteOffset + byteStart, byteLength);
}

/**
 * Calls `each` with consecutive byte windows of `view` covering [byteStart, byteEnd), each at
 * most `maxByteLength` long (default {@link MAX_BYTE_WINDOW_LENGTH}), and the offset of each
 * window's first byte. Nothing is called for an empty range.
 * @throws {RangeError} for a range outside `view` or a maxByteLength that is not a positive integer.
 */
export function forEachByteWindow(
  view: ArrayBufferView,
  byteStart: number,
  byteEnd: number,
  each: (window: Uint8Array, byteOffset: number) => void,
  maxByteLength = MAX_BYTE_WINDOW_LENGTH,
): void {
  if (!Number.isSafeInteger(maxByteLength) || maxByteLength < 1) {
    throw new RangeError(`forEachByteWindow: expected a positive maxByteLength, got ${maxByteLength}`);
  }
  if (!(byteStart <= byteEnd)) {
    throw new RangeError(`forEachByteWindow: expected byteStart <= byteEnd, got [${byteStart}, ${byteEnd})`);
  }
  for (let offset = byteStart; offset < byteEnd; offset += maxByteLength) {
    each(byteWindow(view, offset, Math.min(maxByteLength, byteEnd - offset)), offset);
  }
}
