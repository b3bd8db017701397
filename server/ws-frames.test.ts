import { randomBytes } from "node:crypto";
import { connect, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fetchArray } from "../client/index.ts";
import { ArrayServer, arange } from "./index.ts";

/** A client frame: FIN/RSV bits, opcode, masked unless told otherwise, optional forged length. */
function frame(
  opcode: number,
  payload: Uint8Array = new Uint8Array(0),
  options: { fin?: boolean; rsv?: number; mask?: boolean; length64?: bigint } = {},
): Buffer {
  const { fin = true, rsv = 0, mask = true } = options;
  const head: number[] = [(fin ? 0x80 : 0) | (rsv << 4) | opcode];
  const maskBit = mask ? 0x80 : 0;
  if (options.length64 !== undefined) {
    head.push(maskBit | 127);
    const len = Buffer.alloc(8);
    len.writeBigUInt64BE(options.length64);
    head.push(...len);
  } else if (payload.byteLength < 126) head.push(maskBit | payload.byteLength);
  else if (payload.byteLength < 65536) head.push(maskBit | 126, payload.byteLength >> 8, payload.byteLength & 0xff);
  else throw new Error("test frames stay small");
  if (!mask) return Buffer.concat([Buffer.from(head), payload]);
  const key = randomBytes(4);
  const masked = Buffer.from(payload.map((b, i) => b ^ (key[i % 4] as number)));
  return Buffer.concat([Buffer.from(head), key, masked]);
}

const closePayload = (code: number, reason = new Uint8Array(0)) => {
  const b = Buffer.alloc(2 + reason.byteLength);
  b.writeUInt16BE(code);
  b.set(reason, 2);
  return b;
};

/** Opens a raw upgraded socket; resolves once the 101 has been read. */
function handshake(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => {
      socket.write(
        "GET /arraywire HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
          `Sec-WebSocket-Key: ${randomBytes(16).toString("base64")}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
    });
    let head = Buffer.alloc(0);
    const onData = (d: Buffer) => {
      head = Buffer.concat([head, d]);
      if (head.includes("\r\n\r\n")) {
        socket.off("data", onData);
        if (!head.toString().startsWith("HTTP/1.1 101")) reject(new Error(head.toString()));
        else resolve(socket);
      }
    };
    socket.on("data", onData);
    socket.on("error", reject);
  });
}

/** Sends `bytes` and resolves with the close code of the server's close frame (0 if none). */
async function closeCodeAfter(port: number, bytes: Buffer[]): Promise<number> {
  const socket = await handshake(port);
  return new Promise((resolve) => {
    let data = Buffer.alloc(0);
    socket.on("data", (d: Buffer) => {
      data = Buffer.concat([data, d]);
    });
    socket.on("close", () => {
      // Find the server's close frame: opcode 0x8, unmasked, payload starts with the code.
      const i = data.indexOf(0x88);
      resolve(i >= 0 && data.length >= i + 4 ? data.readUInt16BE(i + 2) : 0);
    });
    socket.on("error", () => {});
    for (const b of bytes) socket.write(b);
  });
}

const MALFORMED: [string, Buffer[], number][] = [
  ["RSV1 set without an extension", [frame(0x2, new Uint8Array(4), { rsv: 4 })], 1002],
  ["RSV2 set", [frame(0x2, new Uint8Array(4), { rsv: 2 })], 1002],
  ["RSV3 set", [frame(0x2, new Uint8Array(4), { rsv: 1 })], 1002],
  ["a reserved data opcode (0x3)", [frame(0x3, new Uint8Array(1))], 1002],
  ["a reserved control opcode (0xB)", [frame(0xb)], 1002],
  ["an unmasked client frame", [frame(0x2, new Uint8Array(4), { mask: false })], 1002],
  ["a control frame over 125 bytes", [frame(0x9, new Uint8Array(126))], 1002],
  ["a fragmented control frame", [frame(0x9, new Uint8Array(1), { fin: false })], 1002],
  ["a text frame with invalid UTF-8", [frame(0x1, Uint8Array.from([0xce, 0xba, 0xe1, 0xbd]))], 1007],
  ["a close frame with an invalid code (1004)", [frame(0x8, closePayload(1004))], 1002],
  ["a close frame with a 1-byte payload", [frame(0x8, new Uint8Array([0x03]))], 1002],
  ["a 64-bit length above 2^53 - 1", [frame(0x2, undefined, { length64: 2n ** 53n })], 1009],
  ["a continuation frame with nothing to continue", [frame(0x0, new Uint8Array(2))], 1002],
  ["a close reason that is not UTF-8", [frame(0x8, closePayload(1000, Uint8Array.from([0xff])))], 1007],
  ["a binary frame over maxPayload", [frame(0x2, new Uint8Array(5000))], 1009],
  [
    "a message in 300 fragments (over maxFragments)",
    [
      frame(0x2, new Uint8Array(1), { fin: false }),
      ...Array.from({ length: 299 }, (_, i) => frame(0x0, new Uint8Array(1), { fin: i === 298 })),
    ],
    1008,
  ],
];

describe("malformed WebSocket frames", () => {
  let server: ArrayServer;
  let port: number;

  beforeAll(async () => {
    server = new ArrayServer({ port: 0, maxControlByteLength: 4096, log: () => {} });
    port = (await server.listen()).port;
    server.publish("arange", arange());
  });

  afterAll(async () => {
    await server.close();
  });

  it.each(MALFORMED)(
    "answers %s with close %i and still serves a normal client right after",
    async (_, bytes, code) => {
      expect(await closeCodeAfter(port, bytes)).toBe(code);
      const result = await fetchArray(server.url, "arange", { params: { length: 1000 } });
      expect((result.array as Float64Array)[999]).toBe(999);
    },
  );

  it("accepts a well-formed frame sequence through the same raw path (the harness itself works)", async () => {
    expect(await closeCodeAfter(port, [frame(0x8, closePayload(1000))])).toBe(1000);
  });
});
