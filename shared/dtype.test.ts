import { afterEach, describe, expect, it, vi } from "vitest";
import {
  assertLittleEndianHost,
  DTYPE_BYTES_PER_ELEMENT,
  DTYPE_CODES,
  DTYPES,
  type Dtype,
  dtypeFromCode,
  dtypeOf,
  isDtypeSupported,
  typedArrayConstructor,
} from "./dtype.ts";
import { ProtocolError } from "./errors.ts";

/** Float16Array where the runtime has it (Node 24+, recent browsers); undefined on Node 20. */
const Float16ArrayCtor = (globalThis as Record<string, unknown>).Float16Array as
  | (new (
      length: number,
    ) => ArrayBufferView)
  | undefined;

/** The wire table from docs/PROTOCOL.md, typed out by hand: codes never change. */
const WIRE_TABLE: readonly [dtype: Dtype, code: number, bytesPerElement: number][] = [
  ["int8", 1, 1],
  ["uint8", 2, 1],
  ["uint8clamped", 3, 1],
  ["int16", 4, 2],
  ["uint16", 5, 2],
  ["int32", 6, 4],
  ["uint32", 7, 4],
  ["float16", 8, 2],
  ["float32", 9, 4],
  ["float64", 10, 8],
  ["bigint64", 11, 8],
  ["biguint64", 12, 8],
];

/** Every constructor Node 20 has, with the dtype it must map to. */
const BUILTIN_CONSTRUCTORS: readonly [ctor: new (length: number) => ArrayBufferView, dtype: Dtype][] = [
  [Int8Array, "int8"],
  [Uint8Array, "uint8"],
  [Uint8ClampedArray, "uint8clamped"],
  [Int16Array, "int16"],
  [Uint16Array, "uint16"],
  [Int32Array, "int32"],
  [Uint32Array, "uint32"],
  [Float32Array, "float32"],
  [Float64Array, "float64"],
  [BigInt64Array, "bigint64"],
  [BigUint64Array, "biguint64"],
];

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error("expected the call to throw");
}

function expectProtocolError(fn: () => unknown, code: string, message: string): void {
  expect(fn).toThrow(ProtocolError);
  const error = catchError(fn);
  expect(error).toBeInstanceOf(ProtocolError);
  expect(error).toHaveProperty("name", "ProtocolError");
  expect(error).toHaveProperty("code", code);
  expect(error).toHaveProperty("message", message);
}

function expectTypeError(fn: () => unknown, message: string): void {
  const error = catchError(fn);
  expect(error).toBeInstanceOf(TypeError);
  expect(error).toHaveProperty("message", message);
}

/** [constructor name, constructor, dtype] rows for it.each. */
const CONSTRUCTOR_ROWS = BUILTIN_CONSTRUCTORS.map(([ctor, dtype]) => [ctor.name, ctor, dtype] as const);

afterEach(() => {
  vi.unstubAllGlobals();
});

describe("dtype tables", () => {
  it("assigns every dtype its fixed wire code", () => {
    expect(DTYPE_CODES).toEqual(Object.fromEntries(WIRE_TABLE.map(([dtype, code]) => [dtype, code])));
  });

  it("lists every dtype once, in wire-code order", () => {
    expect(DTYPES).toEqual(WIRE_TABLE.map(([dtype]) => dtype));
  });

  it("gives every dtype its element size in bytes", () => {
    expect(DTYPE_BYTES_PER_ELEMENT).toEqual(
      Object.fromEntries(WIRE_TABLE.map(([dtype, , bytesPerElement]) => [dtype, bytesPerElement])),
    );
  });

  it("agrees with BYTES_PER_ELEMENT of every constructor the runtime has", () => {
    for (const [ctor, dtype] of BUILTIN_CONSTRUCTORS) {
      expect(DTYPE_BYTES_PER_ELEMENT[dtype], dtype).toBe(
        (ctor as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT,
      );
    }
  });
});

describe("dtypeFromCode", () => {
  it.each(WIRE_TABLE.map(([dtype, code]) => [code, dtype] as const))("maps wire code %i back to %s", (code, dtype) => {
    expect(dtypeFromCode(code)).toBe(dtype);
  });

  it.each([0, 13, 255, -1, 1.5, Number.NaN])("rejects unknown code %d with E_UNKNOWN_DTYPE", (code) => {
    expectProtocolError(
      () => dtypeFromCode(code),
      "E_UNKNOWN_DTYPE",
      `Unknown dtype code: expected 1..12, got ${code}`,
    );
  });
});

describe("dtypeOf", () => {
  it.each(CONSTRUCTOR_ROWS)("names a %s instance %s", (_, ctor, dtype) => {
    expect(dtypeOf(new ctor(3))).toBe(dtype);
  });

  it.each(CONSTRUCTOR_ROWS)("names an empty %s subarray at an offset by its constructor", (_, ctor, dtype) => {
    const array = new ctor(4) as unknown as { subarray(begin: number, end: number): ArrayBufferView };
    expect(dtypeOf(array.subarray(1, 1))).toBe(dtype);
  });

  it.runIf(Float16ArrayCtor !== undefined)("names a Float16Array instance float16 where the runtime has it", () => {
    expect(dtypeOf(new (Float16ArrayCtor as new (length: number) => ArrayBufferView)(2))).toBe("float16");
  });

  it("names a view over a SharedArrayBuffer by its constructor", () => {
    expect(dtypeOf(new Int32Array(new SharedArrayBuffer(16)))).toBe("int32");
  });

  it("names an instance of a typed array subclass by the typed array it extends", () => {
    // Node's Buffer is such a subclass (of Uint8Array); ws hands those to the server.
    class Samples extends Float64Array {}
    class Bytes extends Uint8Array {}
    expect(dtypeOf(new Samples(2))).toBe("float64");
    expect(dtypeOf(new Bytes(2))).toBe("uint8");
  });

  it("rejects a DataView with a TypeError", () => {
    expectTypeError(() => dtypeOf(new DataView(new ArrayBuffer(8))), "Expected a typed array, got DataView");
  });

  it("rejects a plain array with a TypeError", () => {
    expectTypeError(() => dtypeOf([1, 2] as unknown as ArrayBufferView), "Expected a typed array, got Array");
  });

  it("rejects an ArrayBuffer with a TypeError", () => {
    expectTypeError(
      () => dtypeOf(new ArrayBuffer(8) as unknown as ArrayBufferView),
      "Expected a typed array, got ArrayBuffer",
    );
  });

  it("rejects an object that only claims a typed array constructor name", () => {
    const impostor = {
      constructor: { name: "Float64Array" },
      buffer: new ArrayBuffer(8),
      byteOffset: 0,
      byteLength: 8,
    };
    expect(() => dtypeOf(impostor as unknown as ArrayBufferView)).toThrow(TypeError);
  });

  it("rejects an object without a constructor with a TypeError naming its type", () => {
    expectTypeError(() => dtypeOf(Object.create(null) as ArrayBufferView), "Expected a typed array, got object");
  });
});

describe("isDtypeSupported", () => {
  it.each(BUILTIN_CONSTRUCTORS.map(([, dtype]) => dtype))("reports %s as supported", (dtype) => {
    expect(isDtypeSupported(dtype)).toBe(true);
  });

  it("reports float16 as supported exactly when the runtime has Float16Array", () => {
    expect(isDtypeSupported("float16")).toBe(Float16ArrayCtor !== undefined);
  });

  it("reports float16 as unsupported when Float16Array is missing", () => {
    vi.stubGlobal("Float16Array", undefined);
    expect(isDtypeSupported("float16")).toBe(false);
  });

  it("reports float16 as supported when Float16Array is present", () => {
    class FakeFloat16Array {}
    vi.stubGlobal("Float16Array", FakeFloat16Array);
    expect(isDtypeSupported("float16")).toBe(true);
  });
});

describe("typedArrayConstructor", () => {
  it.each(CONSTRUCTOR_ROWS)("returns %s for its dtype", (_, ctor, dtype) => {
    expect(typedArrayConstructor(dtype)).toBe(ctor);
  });

  it.skipIf(Float16ArrayCtor !== undefined)(
    "throws E_UNSUPPORTED_DTYPE for float16 when the runtime lacks Float16Array",
    () => {
      expectProtocolError(
        () => typedArrayConstructor("float16"),
        "E_UNSUPPORTED_DTYPE",
        "Unsupported dtype: float16 needs Float16Array, which this runtime does not have",
      );
    },
  );

  it("throws E_UNSUPPORTED_DTYPE for float16 when Float16Array is stubbed away", () => {
    vi.stubGlobal("Float16Array", undefined);
    expectProtocolError(
      () => typedArrayConstructor("float16"),
      "E_UNSUPPORTED_DTYPE",
      "Unsupported dtype: float16 needs Float16Array, which this runtime does not have",
    );
  });

  it("returns the runtime's Float16Array for float16 when it has one", () => {
    class FakeFloat16Array {}
    vi.stubGlobal("Float16Array", FakeFloat16Array);
    expect(typedArrayConstructor("float16")).toBe(FakeFloat16Array);
  });
});

describe("assertLittleEndianHost", () => {
  it("passes exactly when the host stores a u32's low byte first", () => {
    const littleEndian = new Uint8Array(new Uint32Array([0x01020304]).buffer)[0] === 0x04;
    if (littleEndian) {
      expect(() => assertLittleEndianHost()).not.toThrow();
    } else {
      expect(() => assertLittleEndianHost()).toThrow(
        "arraywire needs a little-endian host: payload bytes are little-endian",
      );
    }
  });
});
