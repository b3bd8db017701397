/**
 * Resizable ArrayBuffers (ES2024: `new ArrayBuffer(n, { maxByteLength })`, in Chromium and Node
 * 20), typed here because the project's lib is ES2023. A subscription receives into one: growing
 * it never moves or copies what is there, and typed arrays built without a length follow it
 * ("length-tracking"). Measured in Chromium 156: a BYOB read into a resizable buffer is refused
 * ("must not be resizable"), and transfer() of one copies (553 ms per GB, against 1.6 ms for a
 * fixed buffer); so subscriptions use the WebSocket transport, which copies each message into
 * the buffer with one set(), and hand the buffer over as it is, never transferred.
 */

/** An ArrayBuffer that can grow in place up to maxByteLength. */
export interface ResizableArrayBuffer extends ArrayBuffer {
  readonly maxByteLength: number;
  readonly resizable: boolean;
  resize(byteLength: number): void;
}

type ResizableConstructor = new (byteLength: number, options: { maxByteLength: number }) => ArrayBuffer;

/**
 * A resizable buffer of `byteLength` bytes that can grow to `maxByteLength`.
 * @throws {TypeError} where the runtime has no resizable ArrayBuffer; {RangeError} when it cannot
 *   reserve maxByteLength.
 */
export function createResizableBuffer(byteLength: number, maxByteLength: number): ResizableArrayBuffer {
  const buffer = new (ArrayBuffer as unknown as ResizableConstructor)(byteLength, { maxByteLength });
  if (!isResizableBuffer(buffer)) {
    throw new TypeError("This runtime has no resizable ArrayBuffer (ES2024): subscriptions need one");
  }
  return buffer;
}

/** True for a resizable ArrayBuffer. */
export function isResizableBuffer(value: unknown): value is ResizableArrayBuffer {
  return value instanceof ArrayBuffer && (value as Partial<ResizableArrayBuffer>).resizable === true;
}
