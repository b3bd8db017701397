/**
 * The bare Node recv_into loop, the Node ceiling: a `net.Socket` whose `onread.buffer` function
 * hands out the next window of the target, so the kernel writes the raw byte stream straight into
 * the target and userland copies nothing (Python's `sock.recv_into(memoryview(arr)[offset:])`).
 * It talks to the bench's raw TCP peer (peer-servers.ts): request line `<n> <write>\n`, answer u64
 * LE byteLength + the bytes. The 8 length bytes are read into their own small buffer first, so no
 * read ever spans the length and the array. Once the target is full it hands out a 64 KiB scratch
 * buffer: a zero-length window makes libuv fail the read with ENOBUFS, and a byte landing in the
 * scratch means the peer sent more than it announced.
 */
import { connect } from "node:net";

const LENGTH_BYTE_LENGTH = 8;
const SCRATCH_BYTE_LENGTH = 64 * 1024;

/** One recv_into transfer. */
export interface RecvIntoOptions {
  port: number;
  host?: string;
  /** What the request line names: the element count, and the server's write size in bytes. */
  elementCount: number;
  writeByteLength: number;
  /** Bytes offered to one read; 0 (the default) offers the whole rest of the target. */
  windowByteLength?: number;
  /** The target to fill (at least the announced length); undefined: a new Uint8Array of the announced length. */
  into?: Uint8Array;
}

/**
 * Receives the array's bytes into the target; resolves with the filled view once the peer ends.
 * @throws {Error} when the peer ends early, sends more than it announced, or the target is too small.
 */
export function recvInto(options: RecvIntoOptions): Promise<Uint8Array> {
  const { port, host = "127.0.0.1", elementCount, writeByteLength, windowByteLength = 0 } = options;
  return new Promise((resolve, reject) => {
    const lengthBytes = new Uint8Array(LENGTH_BYTE_LENGTH);
    const scratch = new Uint8Array(SCRATCH_BYTE_LENGTH);
    let lengthReceived = 0;
    let byteLength = -1;
    let target: Uint8Array | undefined;
    let offset = 0;
    let failure: Error | undefined;
    const fail = (err: Error) => {
      failure ??= err;
      socket.destroy();
    };
    const nextBuffer = (): Uint8Array => {
      if (byteLength < 0) return lengthBytes.subarray(lengthReceived);
      if (!target || offset >= byteLength) return scratch;
      const end = windowByteLength > 0 ? Math.min(offset + windowByteLength, byteLength) : byteLength;
      return target.subarray(offset, end);
    };
    const onRead = (nread: number, buffer: Uint8Array): boolean => {
      if (byteLength < 0) {
        lengthReceived += nread;
        if (lengthReceived < LENGTH_BYTE_LENGTH) return true;
        const announced = new DataView(lengthBytes.buffer).getBigUint64(0, true);
        byteLength = Number(announced);
        if (options.into && options.into.byteLength < byteLength) {
          fail(
            new Error(`recv_into: expected a target of at least ${byteLength} bytes, got ${options.into.byteLength}`),
          );
          return false;
        }
        target = options.into ?? new Uint8Array(byteLength);
        return true;
      }
      if (buffer === scratch) {
        fail(new Error(`recv_into: expected ${byteLength} bytes, got ${nread} more`));
        return false;
      }
      offset += nread;
      return true;
    };
    const socket = connect({ port, host, noDelay: true, onread: { buffer: nextBuffer, callback: onRead } });
    socket.on("connect", () => socket.write(`${elementCount} ${writeByteLength}\n`));
    socket.on("end", () => socket.destroy());
    socket.on("error", fail);
    socket.on("close", () => {
      if (failure) reject(failure);
      else if (byteLength < 0) {
        reject(
          new Error(`recv_into: expected ${LENGTH_BYTE_LENGTH} length bytes, got ${lengthReceived} before the end`),
        );
      } else if (offset !== byteLength || !target) {
        reject(new Error(`recv_into: expected ${byteLength} bytes, got ${offset} before the end`));
      } else resolve(target.subarray(0, byteLength));
    });
  });
}
