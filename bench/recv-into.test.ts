import { createServer, type Server } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRawTcpServer } from "./peer-servers.ts";
import { recvInto } from "./recv-into.ts";

/** 100,003 float64 values (800,024 bytes): no window or write size used below divides it. */
const ELEMENT_COUNT = 100_003;
const BYTE_LENGTH = ELEMENT_COUNT * 8;

function arange(n: number): Float64Array {
  const a = new Float64Array(n);
  for (let i = 0; i < n; i++) a[i] = i;
  return a;
}

function firstMismatch(bytes: Uint8Array): number {
  const values = new Float64Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 8);
  for (let i = 0; i < values.length; i++) if (values[i] !== i) return i;
  return -1;
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port)),
  );
}

/** A peer that answers any request with `bytes` and ends. */
async function rawPeer(bytes: Uint8Array): Promise<{ port: number; server: Server }> {
  const server = createServer((socket) => {
    socket.on("error", () => {});
    socket.once("data", () => socket.end(bytes));
  });
  return { port: await listen(server), server };
}

function lengthPrefix(byteLength: number): Uint8Array {
  const prefix = new Uint8Array(8);
  new DataView(prefix.buffer).setBigUint64(0, BigInt(byteLength), true);
  return prefix;
}

describe("recvInto (the bare Node recv_into loop)", () => {
  let server: Server;
  let port: number;
  beforeAll(async () => {
    server = createRawTcpServer(new Map([[ELEMENT_COUNT, arange(ELEMENT_COUNT)]]));
    port = await listen(server);
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  for (const windowByteLength of [0, 4096, 65_537]) {
    for (const writeByteLength of [4096, 65_544, 1024 * 1024]) {
      it(`fills a fresh target with every element (window ${windowByteLength}, writes ${writeByteLength})`, async () => {
        const bytes = await recvInto({ port, elementCount: ELEMENT_COUNT, writeByteLength, windowByteLength });
        expect(bytes.byteLength).toBe(BYTE_LENGTH);
        expect(firstMismatch(bytes)).toBe(-1);
      });
    }
  }

  it("fills a reused target in place and writes nothing past the announced length", async () => {
    const into = new Uint8Array(BYTE_LENGTH + 16).fill(0xee);
    const bytes = await recvInto({ port, elementCount: ELEMENT_COUNT, writeByteLength: 4096, into });
    expect(bytes.buffer).toBe(into.buffer);
    expect(bytes.byteOffset).toBe(0);
    expect(bytes.byteLength).toBe(BYTE_LENGTH);
    expect(firstMismatch(bytes)).toBe(-1);
    expect([...into.subarray(BYTE_LENGTH)]).toEqual(new Array(16).fill(0xee));
  });

  it("fills a target that starts in the middle of its buffer", async () => {
    const backing = new Uint8Array(BYTE_LENGTH + 64).fill(0xee);
    const into = backing.subarray(32, 32 + BYTE_LENGTH);
    const bytes = await recvInto({ port, elementCount: ELEMENT_COUNT, writeByteLength: 65_544, into });
    expect(bytes.byteOffset).toBe(32);
    expect(firstMismatch(bytes)).toBe(-1);
    expect([...backing.subarray(0, 32)]).toEqual(new Array(32).fill(0xee));
    expect([...backing.subarray(32 + BYTE_LENGTH)]).toEqual(new Array(32).fill(0xee));
  });

  it("rejects a target smaller than the announced length", async () => {
    const into = new Uint8Array(BYTE_LENGTH - 8);
    await expect(recvInto({ port, elementCount: ELEMENT_COUNT, writeByteLength: 4096, into })).rejects.toThrow(
      `expected a target of at least ${BYTE_LENGTH} bytes, got ${BYTE_LENGTH - 8}`,
    );
  });

  it("rejects a peer that ends before the announced length", async () => {
    const body = new Uint8Array(8 + 500);
    body.set(lengthPrefix(1000));
    const peer = await rawPeer(body);
    try {
      await expect(recvInto({ port: peer.port, elementCount: 1, writeByteLength: 4096 })).rejects.toThrow(
        "expected 1000 bytes, got 500 before the end",
      );
    } finally {
      peer.server.close();
    }
  });

  it("rejects a peer that ends inside the length prefix", async () => {
    const peer = await rawPeer(new Uint8Array(3));
    try {
      await expect(recvInto({ port: peer.port, elementCount: 1, writeByteLength: 4096 })).rejects.toThrow(
        "expected 8 length bytes, got 3 before the end",
      );
    } finally {
      peer.server.close();
    }
  });

  it("rejects a peer that sends more than it announced", async () => {
    const body = new Uint8Array(8 + 32);
    body.set(lengthPrefix(16));
    const peer = await rawPeer(body);
    try {
      await expect(recvInto({ port: peer.port, elementCount: 2, writeByteLength: 4096 })).rejects.toThrow(
        /expected 16 bytes, got \d+ more/,
      );
    } finally {
      peer.server.close();
    }
  });

  it("never writes past the announced length, even when the peer sends more and the target has room", async () => {
    const body = new Uint8Array(8 + 32).fill(7);
    body.set(lengthPrefix(16));
    const peer = await rawPeer(body);
    const into = new Uint8Array(64).fill(0xee);
    try {
      await expect(recvInto({ port: peer.port, elementCount: 2, writeByteLength: 4096, into })).rejects.toThrow(
        /expected 16 bytes, got \d+ more/,
      );
      expect([...into.subarray(0, 16)]).toEqual(new Array(16).fill(7));
      expect([...into.subarray(16)]).toEqual(new Array(48).fill(0xee));
    } finally {
      peer.server.close();
    }
  });

  it("accepts an empty array (zero announced bytes)", async () => {
    const peer = await rawPeer(lengthPrefix(0));
    try {
      const bytes = await recvInto({ port: peer.port, elementCount: 0, writeByteLength: 4096 });
      expect(bytes.byteLength).toBe(0);
    } finally {
      peer.server.close();
    }
  });
});
