/**
 * The reader's window planning, driven the way Node drives an `onread` socket, without a socket:
 * ask `buffer()` where the next read goes, write bytes there, call `callback(n, buffer)`, and
 * honour its answer (false: paused until resume()). Integration through real sockets is in
 * node-socket.test.ts; this checks the exact windows, which a socket's timing hides.
 */
import { EventEmitter } from "node:events";
import type { Socket } from "node:net";
import { describe, expect, it } from "vitest";
import { MAX_READ_BYTE_LENGTH, SocketReader } from "./node-socket-reader.ts";
import { concat, latin1, patternBytes, responseHead } from "./test-fixtures/test-helpers.ts";

/** A stand-in for net.Socket and libuv: `deliver` plays the reads; `paused` mirrors readStop. */
class FakeSocket extends EventEmitter {
  paused = false;
  destroyed = false;
  readonly reader: SocketReader;
  constructor(reader: SocketReader) {
    super();
    this.reader = reader;
    reader.attach(this as unknown as Socket, "connect");
  }
  resume(): this {
    this.paused = false;
    return this;
  }
  destroy(): this {
    this.destroyed = true;
    return this;
  }
  /** The buffer the next read would land in. */
  next(): Uint8Array {
    return this.reader.onread.buffer();
  }
  /** One read of (at most the next buffer's length of) `bytes`; returns how many bytes it took. */
  read(bytes: Uint8Array): number {
    expect(this.paused).toBe(false);
    const buffer = this.next();
    expect(buffer.byteLength).toBeGreaterThan(0); // a 0-byte buffer fails the read with ENOBUFS
    const n = Math.min(buffer.byteLength, bytes.byteLength);
    buffer.set(bytes.subarray(0, n));
    if (this.reader.onread.callback(n, buffer) === false) this.paused = true;
    return n;
  }
  /** Reads until `bytes` is used up (or the socket pauses or closes); returns the bytes taken. */
  deliver(bytes: Uint8Array): number {
    let taken = 0;
    while (taken < bytes.byteLength && !this.paused && !this.destroyed) taken += this.read(bytes.subarray(taken));
    return taken;
  }
}

const microtasks = () => new Promise((resolve) => setImmediate(resolve));

function start(bodyByteLength: number, readAheadByteLength?: number, onData?: () => void) {
  const reader = new SocketReader(readAheadByteLength, onData);
  const socket = new FakeSocket(reader);
  const head = responseHead("HTTP/1.1 200 OK", [`Content-Length: ${bodyByteLength}`]);
  expect(socket.deliver(head)).toBe(head.byteLength);
  return { reader, socket, body: patternBytes(Math.min(bodyByteLength, 1 << 20), 41) };
}

describe("SocketReader windows", () => {
  it("reads the head in 1 KiB windows", () => {
    const reader = new SocketReader();
    const socket = new FakeSocket(reader);
    expect(socket.next().byteLength).toBe(1024);
    socket.read(latin1("HTTP/1.1 200 OK\r\n"));
    expect(socket.next().byteLength).toBe(1024);
  });

  it("hands out the pending view, capped at the body bytes left, after one 1-byte read", async () => {
    const { reader, socket, body } = start(1000);
    const target = new Uint8Array(4000);
    const filled = reader.readInto(target.subarray(100));
    // Where the read after the head lands was chosen when the head came in, before this readInto:
    // 1 byte of scratch. The view follows at once.
    expect(socket.next().byteLength).toBe(1);
    expect(socket.read(body)).toBe(1);
    const window = socket.next();
    expect(window.buffer).toBe(target.buffer);
    expect(window.byteOffset).toBe(101);
    expect(window.byteLength).toBe(999); // not 3899: the body has 999 bytes left
    expect(socket.read(body.subarray(1))).toBe(999);
    expect(await filled).toEqual(body);
    expect(reader.stats).toMatchObject({ directByteLength: 999, copiedByteLength: 1 });
    expect(socket.destroyed).toBe(true); // the body is complete: the connection is closed
  });

  it("caps a window at 1 GiB, even over a larger view", async () => {
    const { reader, socket } = start(2 * MAX_READ_BYTE_LENGTH);
    const view = new Uint8Array(MAX_READ_BYTE_LENGTH + 4096); // untouched: no memory is committed
    void reader.readInto(view);
    socket.read(patternBytes(1)); // the 1-byte read after the head
    expect(socket.next().byteLength).toBe(MAX_READ_BYTE_LENGTH);
    socket.read(patternBytes(10));
    expect(socket.next().byteLength).toBe(MAX_READ_BYTE_LENGTH);
    expect(socket.next().byteOffset).toBe(11);
  });

  it("readSome offers the socket all of its view and resolves after a read straight into it", async () => {
    const { reader, socket, body } = start(300_000);
    const target = new Uint8Array(200_000).fill(7);
    const pending = reader.readSome(target.subarray(50_000, 150_000));
    // The 1-byte read planned when the head came in: copied into the view, which stays pending...
    expect(socket.read(body)).toBe(1);
    // ...so the next read lands in the rest of it: larger than node:http's 64 KiB reads.
    const window = socket.next();
    expect(window.buffer).toBe(target.buffer);
    expect(window.byteOffset).toBe(50_001);
    expect(window.byteLength).toBe(99_999);
    expect(socket.read(body.subarray(1, 70_001))).toBe(70_000);
    const got = await pending;
    expect([got.byteOffset, got.byteLength]).toEqual([50_000, 70_001]);
    expect(Buffer.compare(got, body.subarray(0, 70_001))).toBe(0);
    expect([target[49_999], target[120_000], target[120_001]]).toEqual([7, body[70_000], 7]);
    expect(reader.stats).toMatchObject({ directByteLength: 70_000, copiedByteLength: 1 });
  });

  it("readSome resolves with bytes copied from the read-ahead once no read follows this turn", async () => {
    const { reader, socket, body } = start(300_000);
    socket.read(body); // 1 byte, no read pending: read-ahead
    socket.read(body.subarray(1, 5001)); // then the rest of the read-ahead
    const got = await reader.readSome(new Uint8Array(100_000));
    expect(Buffer.compare(got, body.subarray(0, 5001))).toBe(0);
    expect(reader.stats).toMatchObject({ directByteLength: 0, copiedByteLength: 5001 });
  });

  it("readSome resolves empty after the end of the body, and with the last bytes at it", async () => {
    const { reader, socket, body } = start(10);
    const first = reader.readSome(new Uint8Array(64));
    expect(socket.read(body)).toBe(1);
    expect(socket.next().byteLength).toBe(9); // the view, capped at the body left
    expect(socket.read(body.subarray(1, 10))).toBe(9);
    expect(Buffer.compare(await first, body.subarray(0, 10))).toBe(0);
    expect((await reader.readSome(new Uint8Array(64))).byteLength).toBe(0);
    expect(() => reader.readSome(new Uint8Array(0))).toThrow(
      new RangeError("readSome: expected a view of at least 1 byte, got 0 bytes"),
    );
  });

  it("calls onData after each read that brought bytes, before a readInto is full", async () => {
    let calls = 0;
    const { reader, socket, body } = start(1000, undefined, () => calls++);
    expect(calls).toBe(1); // the head's read
    calls = 0;
    const filled = reader.readInto(new Uint8Array(1000));
    socket.read(body.subarray(0, 1));
    expect(calls).toBe(1);
    socket.read(body.subarray(1, 500));
    expect(calls).toBe(2);
    let settled = false;
    void filled.then(() => (settled = true));
    await microtasks();
    expect(settled).toBe(false);
    socket.read(body.subarray(500, 1000));
    expect(calls).toBe(3);
    expect(await filled).toEqual(body.subarray(0, 1000));
  });

  it("reads 1 byte when no view is pending, then the rest of the read-ahead, then pauses", async () => {
    const { reader, socket, body } = start(100_000, 4096);
    expect(socket.next().byteLength).toBe(1);
    expect(socket.read(body)).toBe(1);
    expect(socket.next().byteLength).toBe(4095);
    expect(socket.read(body.subarray(1))).toBe(4095);
    expect(socket.paused).toBe(true);
    expect(reader.stats.pauseCount).toBe(1);
    // A read resumes the socket: the queue is copied in, then a 1-byte read, then the view itself.
    const target = new Uint8Array(10_000);
    const filled = reader.readInto(target);
    expect(socket.paused).toBe(false);
    expect(socket.next().byteLength).toBe(1);
    socket.deliver(body.subarray(4096, 10_000));
    expect(await filled).toEqual(body.subarray(0, 10_000));
    expect(reader.stats).toMatchObject({ copiedByteLength: 4097, directByteLength: 10_000 - 4097 });
  });

  it("reads 1 byte at a window border when the next view is not pending yet, none when it is", async () => {
    const { reader, socket, body } = start(300);
    const target = new Uint8Array(300);
    const first = reader.readInto(target.subarray(0, 100));
    socket.read(body.subarray(0, 1)); // the 1-byte read after the head
    socket.read(body.subarray(1, 100));
    await first;
    expect(socket.next().byteLength).toBe(1); // nobody waits: a 1-byte read, copied later
    const second = reader.readInto(target.subarray(100, 200));
    const third = reader.readInto(target.subarray(200, 300));
    socket.read(body.subarray(100, 101));
    expect(socket.next().byteOffset).toBe(101); // then the pending view, past the copied byte
    socket.read(body.subarray(101, 200));
    expect(socket.next().byteOffset).toBe(200); // the third view was pending: no 1-byte read
    socket.read(body.subarray(200, 300));
    await Promise.all([second, third]);
    expect(target).toEqual(body);
    expect(reader.stats.copiedByteLength).toBe(2);
  });

  it("never hands out an empty buffer, whatever the order of reads and readInto calls", async () => {
    for (let seed = 1; seed <= 30; seed++) {
      let x = seed;
      const rand = (n: number) => {
        x = (Math.imul(x, 1103515245) + 12345) >>> 0;
        return x % n;
      };
      const byteLength = 1 + rand(50_000);
      const { reader, socket, body } = start(byteLength, 1 + rand(5000));
      const target = new Uint8Array(byteLength);
      let requested = 0;
      let delivered = 0;
      const reads: Promise<Uint8Array>[] = [];
      while (delivered < byteLength) {
        if (requested < byteLength && (rand(2) === 0 || socket.paused)) {
          const end = Math.min(byteLength, requested + 1 + rand(9000));
          reads.push(reader.readInto(target.subarray(requested, end)));
          requested = end;
        } else if (!socket.paused) {
          delivered += socket.read(body.subarray(delivered, delivered + 1 + rand(3000)));
        }
        if (rand(4) === 0) await microtasks();
      }
      await Promise.all(reads);
      expect(target).toEqual(body);
      expect(reader.stats.directByteLength + reader.stats.copiedByteLength).toBe(byteLength);
    }
  });

  it("takes the body bytes that arrive with the head from the head buffer", async () => {
    const reader = new SocketReader();
    const socket = new FakeSocket(reader);
    socket.read(concat(responseHead("HTTP/1.1 200 OK", ["Content-Length: 5"]), latin1("abcde")));
    const head = await reader.head;
    expect(head.status).toBe(200);
    expect(Buffer.from(await reader.readInto(new Uint8Array(5))).toString()).toBe("abcde");
    expect(reader.stats).toMatchObject({ copiedByteLength: 5, directByteLength: 0, readCount: 1 });
  });
});
