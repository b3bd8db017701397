/**
 * The typed, checked form of a fetch (issue 11 item 5): `dtype` narrows the result type and is
 * checked against the server's ARRAY_HEADER before anything is allocated, on both transports and
 * on ArrayClient.fetch; codes are a closed union (typos do not compile) and a code this library
 * does not know arrives as E_REMOTE with `remoteCode`. The `@ts-expect-error` lines are checked
 * by `tsc --noEmit` (npm test's typecheck): remove the library's narrowing and they fail it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ArrayServer } from "../server/index.ts";
import { ArrayClient, type ArrayResult, fetchArray, StreamError, type StreamErrorCode } from "./index.ts";
import { spyOnAllocations } from "./test-helpers.ts";

/** 4 Mi int32 elements: a 16 MiB target, larger than any chunk or receive buffer (4 MiB at most). */
const LENGTH = 4 << 20;
const TARGET_BYTES = LENGTH * 4;
let server: ArrayServer;
let url: string;

beforeAll(async () => {
  server = new ArrayServer({ log: () => {} });
  await server.listen();
  url = server.url;
  const ints = new Int32Array(LENGTH);
  for (let i = 0; i < LENGTH; i++) ints[i] = i - 7;
  server.publish("ints", ints);
  server.publish(
    "floats",
    Float64Array.from({ length: 1000 }, (_, i) => i / 4),
  );
  server.publish("own-code", {
    open: () => {
      throw new StreamError("E_NO_SUCH_FILE", "no file named ints.npy here");
    },
  });
});
afterAll(() => server.close());

describe.each(["ws", "http"] as const)("dtype over %s", (transport) => {
  it("resolves a typed result when the server's dtype is the one asked for", async () => {
    const result = await fetchArray(url, "floats", { dtype: "float64", transport, range: [10, 20] });
    const x: number = result.array[3] as number; // Float64Array: no bigint in the element type
    expect(result.array).toBeInstanceOf(Float64Array);
    expect(x).toBe(13 / 4);
    expect(result.dtype).toBe("float64");
  });

  it("fails with E_DTYPE_MISMATCH before allocating when the server's dtype differs", async () => {
    const spy = spyOnAllocations(TARGET_BYTES);
    try {
      const error = await fetchArray(url, "ints", { dtype: "float32", transport }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StreamError);
      expect(error).toMatchObject({
        code: "E_DTYPE_MISMATCH",
        message: 'Dtype mismatch for "ints": expected float32 (the dtype option), got int32 from the server',
      });
      // The 16 MiB target was never allocated (the server allocates nothing for a published array).
      expect(spy.big).toEqual([]);
    } finally {
      spy.restore();
    }
    // The same request without dtype allocates it: the spy does see this allocation.
    const spy2 = spyOnAllocations(TARGET_BYTES);
    try {
      const result = await fetchArray(url, "ints", { transport });
      expect(result.array[LENGTH - 1]).toBe(LENGTH - 8);
      expect(spy2.big.some((a) => a.byteLength === TARGET_BYTES)).toBe(true);
    } finally {
      spy2.restore();
    }
  });

  it("checks an int dtype too, over a range in the middle, and is not retried by resume", async () => {
    const result = await fetchArray(url, "ints", { dtype: "int32", transport, range: [100, 200], resume: true });
    expect(Array.from(result.array.subarray(0, 3))).toEqual([93, 94, 95]);
    await expect(fetchArray(url, "ints", { dtype: "int16", transport, resume: true })).rejects.toMatchObject({
      code: "E_DTYPE_MISMATCH",
    });
  });

  it("delivers an array source's own code as E_REMOTE with remoteCode", async () => {
    const error = (await fetchArray(url, "own-code", { transport }).catch((e: unknown) => e)) as StreamError;
    expect(error).toBeInstanceOf(StreamError);
    expect(error.code).toBe("E_REMOTE");
    expect(error.remoteCode).toBe("E_NO_SUCH_FILE");
    expect(error.message).toBe("no file named ints.npy here");
  });
});

describe("dtype on ArrayClient.fetch and with into", () => {
  it("narrows and checks on a shared connection", async () => {
    const client = await ArrayClient.connect(url);
    try {
      const ok = await client.fetch("ints", { dtype: "int32", range: [5, 9] });
      const typed: ArrayResult<Int32Array> = ok;
      expect(Array.from(typed.array)).toEqual([-2, -1, 0, 1]);
      await expect(client.fetch("ints", { dtype: "uint32" })).rejects.toMatchObject({ code: "E_DTYPE_MISMATCH" });
      // The connection still serves the next request.
      expect((await client.fetch("floats", { dtype: "float64", range: [4, 5] })).array[0]).toBe(1);
    } finally {
      client.close();
    }
  });

  it("refuses a dtype that is not into's dtype, or not a dtype at all, with a TypeError before any I/O", async () => {
    const into = new Int32Array(LENGTH);
    await expect(
      // @ts-expect-error: into is an Int32Array, so dtype can only be "int32"
      fetchArray(url, "ints", { dtype: "float64", into }),
    ).rejects.toThrow(new TypeError('Invalid dtype: expected the dtype of into (int32, a Int32Array), got "float64"'));
    await expect(
      // @ts-expect-error: not a dtype
      fetchArray(url, "ints", { dtype: "double" }),
    ).rejects.toThrow(TypeError);
    const result = await fetchArray(url, "ints", { dtype: "int32", into, range: [0, 2] });
    expect(result.array.buffer).toBe(into.buffer);
    expect(Array.from(into.subarray(0, 3))).toEqual([-7, -6, 0]);
  });

  it("types the result by into", async () => {
    const into = new Float64Array(1000);
    const result = await fetchArray(url, "floats", { into });
    const typed: Float64Array = result.array;
    expect(typed[8]).toBe(2);
  });
});

describe("StreamError codes", () => {
  it("keeps known codes and turns unknown ones into E_REMOTE, keeping the code as sent", () => {
    expect(new StreamError("E_BAD_RANGE", "m").code).toBe("E_BAD_RANGE");
    expect(new StreamError("E_BAD_RANGE", "m").remoteCode).toBeUndefined();
    expect(new StreamError("E_BAD_LENGTH", "m").code).toBe("E_BAD_LENGTH"); // a ProtocolError code a server echoes
    const remote = new StreamError("E_VENDOR_OVERLOAD", "m", 3);
    expect(remote).toMatchObject({ code: "E_REMOTE", remoteCode: "E_VENDOR_OVERLOAD", streamId: 3 });
    expect(remote.wireCode).toBe("E_VENDOR_OVERLOAD");
    expect(new StreamError("E_REMOTE", "m", 0, { remoteCode: "E_X" }).wireCode).toBe("E_X");
  });

  it("does not compile a comparison with a misspelt code", () => {
    const error = new StreamError("E_UNKNOWN_NAME", "m");
    // @ts-expect-error: "E_UNKNOWN_NAM" is not a StreamErrorCode
    expect(error.code === "E_UNKNOWN_NAM").toBe(false);
    // @ts-expect-error: a misspelt case label
    const label: StreamErrorCode = "E_FORBIDEN_ORIGIN";
    expect(label).toBe("E_FORBIDEN_ORIGIN");
    expect(error.code === "E_UNKNOWN_NAME").toBe(true);
  });
});
