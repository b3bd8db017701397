/**
 * Mutation fuzzing of valid streams through the real ArrayClient. A fake WebSocket answers the
 * client's REQUEST with a valid stream (random dtype, shape, element range, chunking, checksum
 * xxh32 / crc32c / none, into or not) that was then mutated: bit flips and byte writes anywhere,
 * one message truncated or extended, messages deleted / duplicated / swapped, u8..u64 fields set
 * to extreme values (0, 1, 2^31, 2^32-1, 2^53, 2^64-1, old +- 1...), the header replaced by a
 * consistent one of another size (over maxBytes included), ERRORs, text frames and other streams'
 * messages injected, the connection cut early. A second, intact stream follows on the same
 * connection. For every case:
 * - the fetch settles (the fake closes its socket after its script; a hang fails the case);
 * - it resolves or rejects exactly as a reference receiver written from docs/PROTOCOL.md predicts,
 *   with the predicted StreamError code (never another exception type); a resolved array holds
 *   the payloads the client was sent, which are the source bytes whenever a checksum was verified;
 * - nothing larger than maxBytes is ever allocated (a spy on every typed array constructor);
 * - every message the client sends decodes, and it cancels exactly the streams it failed itself;
 * - the intact neighbour stream resolves unless the mutated one broke the framing, closed the
 *   connection, or named the neighbour's stream id.
 * The seed is fixed: FUZZ_SEED and FUZZ_RUNS override it and the number of cases (10,000).
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type ArrayHeaderMessage,
  type ChecksumAlgorithm,
  type DataMessage,
  DTYPE_BYTES_PER_ELEMENT,
  DTYPES,
  type Dtype,
  decodeMessage,
  encodeArrayHeader,
  encodeData,
  encodeEnd,
  encodeError,
  isDtypeSupported,
  isStreamErrorCode,
  ProtocolError,
  StreamError,
  TOO_BIG_CODES,
  type TypedArray,
  typedArrayConstructor,
} from "../shared/index.ts";
import type { ArrayResult } from "./assembler.ts";
import { ArrayClient, type FetchOptions } from "./connection.ts";
import {
  type AllocationSpy,
  bytesOf,
  checksumOf,
  type EncodedStream,
  encodeStream,
  fakeWebSocket,
  fillPseudoRandom,
  type ServerMessage,
  sameBytes,
  spyOnAllocations,
} from "./test-helpers.ts";

const SEED = Number(process.env.FUZZ_SEED ?? 0xf0221);
const RUNS = Number(process.env.FUZZ_RUNS ?? 10_000);
const MiB = 1024 * 1024;
/** The client's maxBytes in every case: nothing bigger may ever be allocated. */
const MAX_BYTES = 4 * MiB;
/** A case that has not settled by then hangs (the fake closes its socket long before). */
const CASE_TIMEOUT_MS = 2_000;
/** Most elements of a source array (8 KiB of float64). */
const MAX_ELEMENTS = 1024;
/** Most chunks of one stream; the chunk size is raised to stay under it. */
const MAX_CHUNKS = 24;

/** Codes the client produces itself. Server-sent ERROR codes are allowed on top. */
const LOCAL_CODES = new Set([
  "E_PROTOCOL",
  "E_TOO_LARGE",
  "E_CHECKSUM",
  "E_INCOMPLETE",
  "E_CONNECTION_CLOSED",
  "E_TARGET_MISMATCH",
]);
/** Codes that come with a CANCEL from the client (it failed the stream on its own). */
const CANCELLING_CODES = new Set(["E_PROTOCOL", "E_TOO_LARGE", "E_CHECKSUM", "E_INCOMPLETE", "E_TARGET_MISMATCH"]);
/** Codes an injected ERROR carries: the server's, and one the client cannot know. */
const SERVER_CODES = ["E_GONE", "E_SHUTDOWN", "E_TIMEOUT", "E_INTERNAL", "E_VENDOR_OVERLOAD_7"];

// ---------------------------------------------------------------------------------------------
// Mutations.
// ---------------------------------------------------------------------------------------------

type Kind = "header" | "data" | "payload" | "end" | "injected";
type Where = Kind | "any";
interface Wire {
  bytes: ServerMessage;
  kind: Kind;
}

type Inject =
  | "foreignPair"
  | "foreignHeader"
  | "foreignEnd"
  | "foreignError"
  | "connectionError"
  | "streamError"
  | "text";
/** Injections that a correct client must shrug off: the stream still resolves with the source. */
const BENIGN_INJECTS: ReadonlySet<Inject> = new Set([
  "foreignPair",
  "foreignHeader",
  "foreignEnd",
  "foreignError",
  "connectionError",
]);

type Mutation =
  | { op: "flip"; where: Where; pick: number; bits: number[] }
  | { op: "setByte"; where: Where; pick: number; at: number; value: number }
  | { op: "truncate"; where: Where; pick: number; keep: number }
  | { op: "extend"; where: Where; pick: number; extra: number[] }
  | { op: "delete"; pick: number }
  | { op: "duplicate"; pick: number; to: number }
  | { op: "swap"; a: number; b: number }
  | { op: "field"; where: Where; pick: number; field: number; value: number }
  | { op: "resize"; byteLength: number }
  | { op: "inject"; what: Inject; at: number; code: number }
  | { op: "cut"; keep: number };

/** [offset, size] of the u8..u64 fields of each message kind (layout in protocol.ts). */
const FIELDS: Record<"header" | "data" | "end", [number, 1 | 2 | 4 | 8][]> = {
  header: [
    [6, 1], // dtype
    [7, 1], // ndim
    [8, 4], // streamId
    [12, 2], // nameByteLength
    [14, 1], // checksumAlgorithm
    [15, 1], // reserved
    [16, 4], // metaByteLength
    [20, 4], // generation
    [24, 8], // totalByteLength
    [32, 8], // rangeByteStart
    [40, 8], // rangeByteEnd
    [48, 8], // firstByteOffset
    [56, 8], // shape[0]
    [64, 8], // shape[1]
  ],
  data: [
    [6, 2], // reserved
    [8, 4], // streamId
    [12, 4], // payloadByteLength
    [16, 8], // byteOffset
  ],
  end: [
    [6, 1], // checksumAlgorithm
    [7, 1], // reserved
    [8, 4], // streamId
    [12, 4], // reserved
    [16, 8], // byteLength
    [24, 8], // checksum
  ],
};

/** Extreme values per field size; the last two choices are "the old value + 1" and "- 1". */
const EXTREMES: Record<1 | 2 | 4 | 8, bigint[]> = {
  1: [0n, 1n, 2n, 0x7fn, 0x80n, 0xffn, 32n, 33n],
  2: [0n, 1n, 1024n, 1025n, 0x7fffn, 0x8000n, 0xffffn],
  4: [0n, 1n, 2n ** 31n - 1n, 2n ** 31n, 2n ** 32n - 1n],
  8: [0n, 1n, 2n ** 31n, 2n ** 32n - 1n, 2n ** 32n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 63n, 2n ** 64n - 1n],
};

function readField(view: DataView, offset: number, size: 1 | 2 | 4 | 8): bigint {
  if (size === 1) return BigInt(view.getUint8(offset));
  if (size === 2) return BigInt(view.getUint16(offset, true));
  if (size === 4) return BigInt(view.getUint32(offset, true));
  return view.getBigUint64(offset, true);
}

function writeField(view: DataView, offset: number, size: 1 | 2 | 4 | 8, value: bigint): void {
  const wrapped = BigInt.asUintN(size * 8, value);
  if (size === 1) view.setUint8(offset, Number(wrapped));
  else if (size === 2) view.setUint16(offset, Number(wrapped), true);
  else if (size === 4) view.setUint32(offset, Number(wrapped), true);
  else view.setBigUint64(offset, wrapped, true);
}

/** Index of the message a mutation targets: one of `where`'s kind if any, else any message. */
function target(wire: Wire[], where: Where, pick: number): number {
  const candidates = wire.flatMap((w, i) => (where === "any" || w.kind === where ? [i] : []));
  const from = candidates.length > 0 ? candidates : wire.map((_, i) => i);
  return from[pick % from.length] as number;
}

/** A private copy of a binary message (payloads are views of the source until then). */
function ownBytes(wire: Wire[], i: number): Uint8Array | null {
  const w = wire[i] as Wire;
  if (typeof w.bytes === "string") return null;
  const copy = w.bytes.slice();
  wire[i] = { ...w, bytes: copy };
  return copy;
}

/** Positions where a message can go without splitting a DATA from its payload. */
function boundaries(wire: Wire[]): number[] {
  return [0, ...wire.flatMap((w, i) => (w.kind === "data" ? [] : [i + 1]))];
}

interface Built {
  stream: EncodedStream;
  header: ArrayHeaderMessage;
  wire: Wire[];
}

function applyMutation(built: Built, m: Mutation, sid: number): void {
  const { wire } = built;
  if (wire.length === 0 && m.op !== "inject") return;
  switch (m.op) {
    case "flip": {
      const bytes = ownBytes(wire, target(wire, m.where, m.pick));
      if (!bytes || bytes.byteLength === 0) return;
      for (const bit of m.bits) {
        const at = bit % (bytes.byteLength * 8);
        bytes[at >> 3] = (bytes[at >> 3] as number) ^ (1 << (at & 7));
      }
      return;
    }
    case "setByte": {
      const bytes = ownBytes(wire, target(wire, m.where, m.pick));
      if (bytes && bytes.byteLength > 0) bytes[m.at % bytes.byteLength] = m.value;
      return;
    }
    case "truncate": {
      const i = target(wire, m.where, m.pick);
      const w = wire[i] as Wire;
      if (typeof w.bytes !== "string") wire[i] = { ...w, bytes: w.bytes.slice(0, m.keep % w.bytes.byteLength) };
      return;
    }
    case "extend": {
      const i = target(wire, m.where, m.pick);
      const w = wire[i] as Wire;
      if (typeof w.bytes !== "string") wire[i] = { ...w, bytes: new Uint8Array([...w.bytes, ...m.extra]) };
      return;
    }
    case "delete":
      wire.splice(m.pick % wire.length, 1);
      return;
    case "duplicate": {
      const w = wire[m.pick % wire.length] as Wire;
      wire.splice(m.to % (wire.length + 1), 0, { ...w });
      return;
    }
    case "swap": {
      const a = m.a % wire.length;
      const b = m.b % wire.length;
      [wire[a], wire[b]] = [wire[b] as Wire, wire[a] as Wire];
      return;
    }
    case "field": {
      const i = target(wire, m.where, m.pick);
      const w = wire[i] as Wire;
      const bytes = ownBytes(wire, i);
      if (!bytes) return;
      const table: [number, 1 | 2 | 4 | 8][] =
        w.kind === "header" || w.kind === "data" || w.kind === "end"
          ? FIELDS[w.kind]
          : [
              [m.field % Math.max(1, bytes.byteLength - 3), 4],
              [m.field % Math.max(1, bytes.byteLength - 7), 8],
            ];
      const [offset, size] = table[m.field % table.length] as [number, 1 | 2 | 4 | 8];
      if (offset + size > bytes.byteLength) return;
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const values = EXTREMES[size];
      const choice = m.value % (values.length + 2);
      const old = readField(view, offset, size);
      writeField(
        view,
        offset,
        size,
        choice < values.length ? (values[choice] as bigint) : choice === values.length ? old + 1n : old - 1n,
      );
      return;
    }
    case "resize": {
      // A consistent header (it decodes) for an array of about `byteLength` bytes.
      const i = wire.findIndex((w) => w.kind === "header");
      if (i < 0) return;
      const h = built.header;
      const itemsize = DTYPE_BYTES_PER_ELEMENT[h.dtype];
      const elements = Math.floor(m.byteLength / itemsize);
      wire[i] = {
        kind: "header",
        bytes: encodeArrayHeader({
          ...h,
          shape: [elements],
          totalByteLength: elements * itemsize,
          rangeByteStart: 0,
          rangeByteEnd: elements * itemsize,
          firstByteOffset: 0,
        }),
      };
      return;
    }
    case "inject": {
      const other = sid + 100 + (m.code % 7); // never the neighbour stream's id
      const code = SERVER_CODES[m.code % SERVER_CODES.length] as string;
      let messages: Wire[];
      switch (m.what) {
        case "foreignPair":
          messages = [
            { kind: "injected", bytes: encodeData(other, 0, 3) },
            { kind: "injected", bytes: new Uint8Array([0x41, 0x52, 0x57]) }, // looks like a prefix: must not be sniffed
          ];
          break;
        case "foreignHeader":
          messages = [{ kind: "injected", bytes: encodeArrayHeader({ ...built.header, streamId: other }) }];
          break;
        case "foreignEnd":
          messages = [
            {
              kind: "injected",
              bytes: encodeEnd({ streamId: other, byteLength: 0, checksumAlgorithm: "none", checksum: 0 }),
            },
          ];
          break;
        case "foreignError":
          messages = [{ kind: "injected", bytes: encodeError(other, code, "another stream") }];
          break;
        case "connectionError":
          messages = [{ kind: "injected", bytes: encodeError(0, code, "the connection") }];
          break;
        case "streamError":
          messages = [{ kind: "injected", bytes: encodeError(sid, code, "this stream failed") }];
          break;
        case "text":
          messages = [{ kind: "injected", bytes: "not a binary frame" }];
          break;
      }
      // Benign messages go between pairs; harmful ones anywhere (even between DATA and payload).
      const places = BENIGN_INJECTS.has(m.what) ? boundaries(wire) : wire.map((_, i) => i).concat(wire.length);
      wire.splice(places[m.at % places.length] as number, 0, ...messages);
      return;
    }
    case "cut":
      wire.length = m.keep % (wire.length + 1);
      return;
  }
}

const isBenign = (m: Mutation) => m.op === "inject" && BENIGN_INJECTS.has(m.what);

// ---------------------------------------------------------------------------------------------
// Arbitraries.
// ---------------------------------------------------------------------------------------------

const whereArb = fc.constantFrom<Where>("header", "data", "payload", "end", "any");
const pick = fc.nat();
const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      op: fc.constant("flip"),
      where: whereArb,
      pick,
      bits: fc.array(fc.nat(), { minLength: 1, maxLength: 3 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant("setByte"),
      where: whereArb,
      pick,
      at: fc.nat(),
      value: fc.integer({ min: 0, max: 255 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("truncate"), where: whereArb, pick, keep: fc.nat() }) },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant("extend"),
      where: whereArb,
      pick,
      extra: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 16 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("delete"), pick }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("duplicate"), pick, to: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("swap"), a: fc.nat(), b: fc.nat() }) },
  {
    weight: 6,
    arbitrary: fc.record({ op: fc.constant("field"), where: whereArb, pick, field: fc.nat(), value: fc.nat() }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant("resize"),
      byteLength: fc.constantFrom(
        0,
        8,
        MAX_BYTES - 8,
        MAX_BYTES,
        MAX_BYTES + 8,
        2 * MAX_BYTES,
        2 ** 31,
        2 ** 40,
        2 ** 53 - 8,
      ),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant("inject"),
      what: fc.constantFrom<Inject>(
        "foreignPair",
        "foreignHeader",
        "foreignEnd",
        "foreignError",
        "connectionError",
        "streamError",
        "text",
      ),
      at: fc.nat(),
      code: fc.nat(),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("cut"), keep: fc.nat() }) },
) as fc.Arbitrary<Mutation>;

interface Case {
  dtype: Dtype;
  dims: number[];
  seed: number;
  range: [number, number] | null;
  chunk: number;
  checksum: ChecksumAlgorithm;
  credit: "default" | "off" | "chunk" | "double";
  into: "none" | "exact" | "larger";
  delivery: "arraybuffer" | "view";
  mutations: Mutation[];
}

const caseArb: fc.Arbitrary<Case> = fc.record({
  dtype: fc.constantFrom(...DTYPES),
  dims: fc.array(
    fc.oneof({ weight: 1, arbitrary: fc.constant(0) }, { weight: 9, arbitrary: fc.integer({ min: 1, max: 12 }) }),
    { maxLength: 4 },
  ),
  seed: fc.integer(),
  range: fc.option(fc.tuple(fc.nat(), fc.nat()), { nil: null }),
  chunk: fc.integer({ min: 1, max: 2048 }),
  checksum: fc.constantFrom<ChecksumAlgorithm>("xxh32", "crc32c", "none"),
  credit: fc.constantFrom<Case["credit"]>("default", "off", "chunk", "double"),
  into: fc.constantFrom<Case["into"]>("none", "none", "exact", "larger"),
  delivery: fc.constantFrom<Case["delivery"]>("arraybuffer", "view"),
  mutations: fc.oneof(
    { weight: 1, arbitrary: fc.constant<Mutation[]>([]) },
    { weight: 40, arbitrary: fc.array(mutationArb, { minLength: 1, maxLength: 3 }) },
  ),
});

/** Shape clamped to MAX_ELEMENTS, element range, and chunk size of a case. */
function plan(c: Case) {
  const itemsize = DTYPE_BYTES_PER_ELEMENT[c.dtype];
  let product = 1;
  const shape = c.dims.map((d) => {
    const dim = product === 0 ? d : Math.min(d, Math.floor(MAX_ELEMENTS / product));
    product *= dim;
    return dim;
  });
  const elements = product;
  let range: [number, number] | null = null;
  if (c.range) {
    const start = c.range[0] % (elements + 1);
    range = [start, start + (c.range[1] % (elements - start + 1))];
  }
  const rangeElements = range ? range[1] - range[0] : elements;
  const chunk = Math.max(c.chunk, Math.ceil((rangeElements * itemsize) / MAX_CHUNKS));
  return { itemsize, shape, elements, range, rangeElements, chunk };
}

// ---------------------------------------------------------------------------------------------
// A reference receiver, written from docs/PROTOCOL.md (sections 3.3, 3.4, 5.6..5.10, 9): what
// must become of the stream, given the messages the client was sent.
// ---------------------------------------------------------------------------------------------

interface Expectation {
  /** "resolved", "pending" (the connection closes first: E_CONNECTION_CLOSED) or the StreamError code. */
  outcome: string;
  /** Why, for failure messages. */
  why: string;
  header: ArrayHeaderMessage | null;
  /** The range as the stream's payloads filled it. */
  placed: Uint8Array | null;
  /** A text frame went by (the client then fails every stream, cause E_TEXT_FRAME). */
  text: boolean;
  /** False when the last message leaves the receiver expecting a payload. */
  framed: boolean;
}

/** True when the header's range is the one requested (or the whole array when none was). */
function isRangeAsked(h: ArrayHeaderMessage, requested: [number, number] | null): boolean {
  const itemsize = DTYPE_BYTES_PER_ELEMENT[h.dtype];
  const start = requested ? requested[0] * itemsize : 0;
  const end = requested ? requested[1] * itemsize : h.totalByteLength;
  return h.rangeByteStart === start && h.rangeByteEnd === end;
}

/** The code a client fails a stream with for a ProtocolError code. */
const codeFor = (protocolCode: string) => (TOO_BIG_CODES.has(protocolCode as never) ? "E_TOO_LARGE" : "E_PROTOCOL");

function expectation(
  messages: ServerMessage[],
  sid: number,
  into: TypedArray | undefined,
  wanted: "none" | "crc32c" | "xxh32",
  requested: [number, number] | null,
): Expectation {
  const result: Expectation = { outcome: "pending", why: "", header: null, placed: null, text: false, framed: true };
  let announced: DataMessage | "skip" | null = null;
  let next = 0;
  const settle = (outcome: string, why: string) => {
    if (result.outcome === "pending") Object.assign(result, { outcome, why });
  };
  for (const m of messages) {
    if (typeof m === "string") {
      result.text = true;
      settle("E_PROTOCOL", "text frame");
      break;
    }
    const open = result.outcome === "pending";
    if (announced !== null) {
      // Position alone makes this a payload (section 2.2: never sniff).
      const data = announced;
      announced = null;
      if (data === "skip" || data.streamId !== sid || !open) continue;
      const h = result.header;
      if (!h || !result.placed) settle("E_PROTOCOL", "DATA before ARRAY_HEADER");
      else if (m.byteLength !== data.payloadByteLength) settle("E_PROTOCOL", "payload length differs from its DATA");
      else if (data.byteOffset !== next || next + m.byteLength > h.rangeByteEnd)
        settle("E_PROTOCOL", "payload out of order");
      else {
        result.placed.set(m, next - h.rangeByteStart);
        next += m.byteLength;
      }
      continue;
    }
    let message: ReturnType<typeof decodeMessage>;
    try {
      message = decodeMessage(m, { maxTotalByteLength: Number.MAX_SAFE_INTEGER });
    } catch (err) {
      const code = (err as ProtocolError).code;
      // A DATA that fails to decode still has its payload coming (section 5.8).
      if (m.byteLength >= 12 && m[5] === 0x11 && code !== "E_BAD_MAGIC" && code !== "E_BAD_VERSION") announced = "skip";
      // It fails the stream named at bytes 8..11 (section 9.1), even with a bad magic.
      if (open && m.byteLength >= 12 && new DataView(m.buffer, m.byteOffset + 8, 4).getUint32(0, true) === sid) {
        settle(codeFor(code), `bad message: ${code}`);
      }
      continue;
    }
    if (message.type === "DATA") {
      announced = message;
      continue;
    }
    if (message.streamId !== sid || !open) continue;
    if (message.type === "ERROR") {
      settle(message.code, "ERROR from the server");
    } else if (message.type === "ARRAY_HEADER") {
      const h = message;
      const byteLength = h.rangeByteEnd - h.rangeByteStart;
      if (result.header) settle("E_PROTOCOL", "second ARRAY_HEADER");
      else if (byteLength > MAX_BYTES) settle("E_TOO_LARGE", "over maxBytes");
      else if (h.name !== "fuzz") settle("E_PROTOCOL", "a header naming another array");
      else if (wanted !== "none" && h.checksumAlgorithm === "none") settle("E_CHECKSUM", "no checksum announced");
      else if (!isRangeAsked(h, requested)) settle("E_PROTOCOL", "a header for another range than the one asked for");
      else if (!isDtypeSupported(h.dtype)) settle("E_PROTOCOL", "unsupported dtype");
      else if (into && into.constructor !== typedArrayConstructor(h.dtype)) settle("E_TARGET_MISMATCH", "into dtype");
      else if (into && into.byteLength < byteLength) settle("E_TARGET_MISMATCH", "into too small");
      else if (h.firstByteOffset !== h.rangeByteStart) settle("E_PROTOCOL", "firstByteOffset without a resume");
      else {
        result.header = h;
        result.placed = new Uint8Array(byteLength);
        next = h.firstByteOffset;
      }
    } else if (message.type === "END") {
      const h = result.header;
      if (!h || !result.placed) settle("E_PROTOCOL", "END before ARRAY_HEADER");
      else if (next !== h.rangeByteEnd || message.byteLength !== h.rangeByteEnd - h.firstByteOffset) {
        settle("E_INCOMPLETE", "END before the last byte, or a wrong byteLength");
      } else if (
        h.checksumAlgorithm !== "none" &&
        (message.checksumAlgorithm !== h.checksumAlgorithm ||
          message.checksum !== checksumOf(h.checksumAlgorithm, result.placed))
      ) {
        settle("E_CHECKSUM", "checksum mismatch");
      } else settle("resolved", "END");
    } else {
      settle("E_PROTOCOL", `${message.type} from a server`);
    }
  }
  result.framed = announced === null;
  return result;
}

// ---------------------------------------------------------------------------------------------
// One case.
// ---------------------------------------------------------------------------------------------

/** The intact stream that shares each case's connection. */
const NEIGHBOUR = {
  streamId: 0,
  dtype: "float64" as const,
  shape: [3],
  source: new Uint8Array(new Float64Array([Math.PI, -0, Number.NaN]).buffer),
  range: null,
  chunkByteLength: 8,
  checksum: "xxh32" as const,
  name: "neighbour",
  meta: null,
  generation: 9,
};

const stats = {
  cases: 0,
  resolved: 0,
  neighbourFailed: 0,
  codes: new Map<string, number>(),
  ops: new Map<string, number>(),
};

function withTimeout<T>(promise: Promise<T>, ms: number, what: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`hang: no outcome within ${ms} ms: ${what()}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

let spy: AllocationSpy;

async function runCase(c: Case): Promise<void> {
  const p = plan(c);
  const supported = isDtypeSupported(c.dtype);
  const source = fillPseudoRandom(new Uint8Array(p.elements * p.itemsize), c.seed);
  let sid = -1;
  let neighbourSid = -1;
  let built: Built | null = null;
  let delivered: ServerMessage[] = [];
  let neighbourMessages: ServerMessage[] = [];
  const warnings: string[] = [];

  const fake = fakeWebSocket({
    delivery: c.delivery,
    onRequest: (req) => {
      if (req.name === "neighbour") {
        neighbourSid = req.streamId;
        neighbourMessages = encodeStream({ ...NEIGHBOUR, streamId: req.streamId }).messages;
        return neighbourMessages;
      }
      sid = req.streamId;
      const stream = encodeStream({
        streamId: req.streamId,
        dtype: c.dtype,
        shape: p.shape,
        source,
        range: req.range,
        chunkByteLength: req.chunkByteLength,
        checksum: req.checksum,
        name: "fuzz",
        meta: { seed: c.seed },
        generation: c.seed >>> 0,
      });
      const header = decodeMessage(stream.header) as ArrayHeaderMessage;
      const kinds: Kind[] = ["header", ...stream.chunks.flatMap((): Kind[] => ["data", "payload"]), "end"];
      built = { stream, header, wire: stream.messages.map((bytes, i) => ({ bytes, kind: kinds[i] as Kind })) };
      for (const m of c.mutations) applyMutation(built, m, req.streamId);
      delivered = built.wire.map((w) => w.bytes);
      return delivered;
    },
  });

  spy.reset();
  const client = await ArrayClient.connect("ws://fuzz.invalid/arraywire", {
    WebSocket: fake.WebSocket,
    onWarning: (m) => warnings.push(m),
  });
  let into: TypedArray | undefined;
  if (supported && c.into !== "none") {
    const ctor = typedArrayConstructor(c.dtype);
    into = new ctor(p.rangeElements + (c.into === "larger" ? 3 : 0));
  }
  const options: FetchOptions = {
    maxBytes: MAX_BYTES,
    chunkByteLength: p.chunk,
    creditByteLength: { default: undefined, off: 0, chunk: p.chunk, double: 2 * p.chunk }[c.credit],
    verify: c.checksum === "xxh32" ? true : c.checksum === "crc32c" ? "crc32c" : false,
    range: p.range ?? undefined,
    into,
  };
  let settled: PromiseSettledResult<ArrayResult>;
  let neighbour: PromiseSettledResult<ArrayResult>;
  try {
    // A second, intact stream on the same connection, answered after the mutated one.
    const fetches = [
      client.fetch("fuzz", options),
      client.fetch("neighbour", { maxBytes: MAX_BYTES, chunkByteLength: 8 }),
    ];
    [settled, neighbour] = (await withTimeout(Promise.allSettled(fetches), CASE_TIMEOUT_MS, () =>
      JSON.stringify(c),
    )) as [PromiseSettledResult<ArrayResult>, PromiseSettledResult<ArrayResult>];
  } finally {
    client.close();
  }

  // Nothing escaped, nothing over maxBytes, every message the client sent is valid.
  expect(fake.log.scriptErrors).toEqual([]);
  expect(fake.log.listenerErrors).toEqual([]);
  expect(fake.log.badSends).toEqual([]);
  expect(spy.big).toEqual([]);
  expect(warnings.length).toBeLessThanOrEqual(10); // the client's own cap on warnings
  expect(built).not.toBeNull();
  const b = built as unknown as Built;
  const sent = fake.log.sent.map((bytes) => decodeMessage(bytes));
  expect(sent[0]).toMatchObject({ type: "REQUEST", streamId: sid, checksum: c.checksum, chunkByteLength: p.chunk });
  expect(sent[1]).toMatchObject({ type: "REQUEST", streamId: neighbourSid, name: "neighbour" });
  for (const m of sent.slice(2)) {
    expect(["CREDIT", "CANCEL"]).toContain(m.type);
    expect([sid, neighbourSid]).toContain(m.streamId);
  }
  const cancels = sent.filter((m) => m.type === "CANCEL" && m.streamId === sid).length;
  // The client reads the mutated stream's messages, then the neighbour's, on one connection.
  const expected = expectation([...delivered, ...neighbourMessages], sid, into, c.checksum, p.range);
  const alone = expectation(delivered, sid, into, c.checksum, p.range);
  const mustResolve = supported && c.mutations.every(isBenign);
  if (mustResolve) expect(expected.outcome).toBe("resolved"); // the reference receiver agrees

  // A broken stream must not break its neighbour, unless it broke the framing, closed the
  // connection (a text frame), or one of its messages names the neighbour's id.
  const namesNeighbour = delivered.some(
    (m) =>
      typeof m !== "string" &&
      m.byteLength >= 12 &&
      new DataView(m.buffer, m.byteOffset + 8, 4).getUint32(0, true) === neighbourSid,
  );
  if (neighbour.status === "fulfilled") {
    expect(sameBytes(bytesOf(neighbour.value.array), NEIGHBOUR.source)).toBe(true);
  } else {
    const reason = neighbour.reason as StreamError;
    expect(reason).toBeInstanceOf(StreamError);
    // (A mutated message that names the neighbour can be an ERROR carrying any code.)
    if (!namesNeighbour) expect(LOCAL_CODES).toContain(reason.code);
    expect(alone.framed && !alone.text && !namesNeighbour).toBe(false);
  }

  stats.cases++;
  stats.neighbourFailed += neighbour.status === "rejected" ? 1 : 0;
  for (const m of c.mutations) stats.ops.set(m.op, (stats.ops.get(m.op) ?? 0) + 1);

  if (settled.status === "fulfilled") {
    stats.resolved++;
    expect(expected.outcome, expected.why).toBe("resolved");
    const result = settled.value;
    const got = bytesOf(result.array);
    const header = expected.header as ArrayHeaderMessage;
    // The client holds exactly the payloads it was sent...
    expect(sameBytes(got, expected.placed as Uint8Array)).toBe(true);
    // ...which are the source's whenever a checksum was verified (or nothing harmful happened).
    if (header.checksumAlgorithm !== "none" || mustResolve) expect(sameBytes(got, b.stream.expected)).toBe(true);
    const whole = header.rangeByteStart === 0 && header.rangeByteEnd === header.totalByteLength;
    expect(result).toMatchObject({
      dtype: header.dtype,
      name: header.name,
      meta: header.meta,
      generation: header.generation,
    });
    const itemsize = DTYPE_BYTES_PER_ELEMENT[header.dtype];
    expect(result.shape).toEqual(whole ? header.shape : [got.byteLength / itemsize]);
    expect(result.arrayShape).toEqual(header.shape);
    expect(result.range).toEqual([header.rangeByteStart / itemsize, header.rangeByteEnd / itemsize]);
    if (p.range) expect(result.range).toEqual(p.range);
    if (into) expect(result.array.buffer).toBe(into.buffer);
    expect(cancels).toBe(0);
    return;
  }

  const err = settled.reason as StreamError;
  stats.codes.set(err?.code, (stats.codes.get(err?.code) ?? 0) + 1);
  expect(err).toBeInstanceOf(StreamError);
  expect(err.streamId).toBe(sid);
  expect(typeof err.message).toBe("string");
  // Exactly the code the reference receiver predicts (which is a local code or the server's); a
  // server code the library does not know arrives as E_REMOTE, with the code itself in remoteCode.
  const wireCode = expected.outcome === "pending" ? "E_CONNECTION_CLOSED" : expected.outcome;
  expect(err.wireCode, `${expected.why}; client said: ${err.message}`).toBe(wireCode);
  expect(err.code).toBe(isStreamErrorCode(wireCode) ? wireCode : "E_REMOTE");
  expect(mustResolve).toBe(false);
  if (!supported && c.mutations.length === 0) expect((err.cause as ProtocolError).code).toBe("E_UNSUPPORTED_DTYPE");
  if (c.mutations.length === 1 && c.mutations[0]?.op === "resize" && c.mutations[0].byteLength > MAX_BYTES) {
    expect(err.code).toBe("E_TOO_LARGE");
  }
  if (err.code === "E_PROTOCOL") {
    expect(err.cause).toBeInstanceOf(ProtocolError);
    if (expected.why === "text frame") expect((err.cause as ProtocolError).code).toBe("E_TEXT_FRAME");
  }
  if (err.code === "E_TOO_LARGE" && err.cause !== undefined) {
    expect(TOO_BIG_CODES.has((err.cause as ProtocolError).code)).toBe(true);
  }
  // The client cancels a stream it failed on its own, exactly once; not one the server ended,
  // nor one the connection took down.
  const ownFailure =
    CANCELLING_CODES.has(err.code) && expected.why !== "ERROR from the server" && expected.why !== "text frame";
  expect(cancels).toBe(ownFailure ? 1 : 0);
}

describe("mutation fuzzing of valid streams through the real ArrayClient", () => {
  beforeAll(() => {
    spy = spyOnAllocations(MAX_BYTES + 1);
  });
  afterAll(() => {
    spy.restore();
  });

  it("the allocation spy sees what the client allocates (control)", async () => {
    // Without this the "nothing over maxBytes" check could pass by seeing nothing at all.
    const c: Case = {
      dtype: "float64",
      dims: [4],
      seed: 1,
      range: null,
      chunk: 32,
      checksum: "none",
      credit: "default",
      into: "none",
      delivery: "view",
      mutations: [{ op: "resize", byteLength: MAX_BYTES }],
    };
    const strict = spyOnAllocations(MAX_BYTES);
    try {
      await runCase(c);
      expect(strict.big).toContainEqual({ what: "Float64Array", byteLength: MAX_BYTES });
    } finally {
      strict.restore();
    }
  });

  it(`settles ${RUNS} mutated streams with the source bytes or a known StreamError (seed ${SEED})`, async () => {
    try {
      await fc.assert(
        fc.asyncProperty(caseArb, (c) => runCase(c)),
        { seed: SEED, numRuns: RUNS, endOnFailure: false },
      );
    } catch (err) {
      console.error(`fuzz failed: rerun with FUZZ_SEED=${SEED} FUZZ_RUNS=${RUNS}`);
      throw err;
    }
    if (process.env.FUZZ_VERBOSE)
      console.log(JSON.stringify({ ...stats, codes: [...stats.codes], ops: [...stats.ops] }));
    // The run exercised what it claims to.
    expect(stats.cases).toBeGreaterThanOrEqual(RUNS);
    for (const op of [
      "flip",
      "setByte",
      "truncate",
      "extend",
      "delete",
      "duplicate",
      "swap",
      "field",
      "resize",
      "inject",
      "cut",
    ]) {
      expect(stats.ops.get(op) ?? 0, op).toBeGreaterThan(0);
    }
    if (RUNS >= 1000) {
      expect(stats.resolved).toBeGreaterThan(RUNS / 50);
      for (const code of LOCAL_CODES) expect(stats.codes.get(code) ?? 0, code).toBeGreaterThan(0);
    }
  });
});
