/**
 * Keeps docs/PROTOCOL.md (the normative spec) and docs/SERVER.md (the reference implementation's
 * behaviour) honest: the worked hex example must be exactly what the encoders produce (and decode
 * back to the documented values), and the layout, dtype, message type, flag, checksum algorithm,
 * HTTP query and constants tables must agree with protocol.ts, the check values with the checksum
 * code, the error code lists with errors.ts, the two refusal tables with each other, and every link
 * between sections and documents must land on a heading. A doc that drifts from the code fails here.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { decodeChunkInto } from "./chunk-decode.ts";
import { crc32c } from "./crc32c.ts";
import { decodeMessage } from "./decode.ts";
import { checkArrayInfo } from "./discovery.ts";
import { DTYPE_BYTES_PER_ELEMENT, DTYPE_CODES, DTYPES } from "./dtype.ts";
import {
  encodeAccept,
  encodeArrayHeader,
  encodeCancel,
  encodeCredit,
  encodeData,
  encodeDataEncoded,
  encodeEnd,
  encodeError,
  encodeGrow,
  encodeRequest,
} from "./encode.ts";
import { MAX_JSON_DEPTH } from "./json.ts";
import type { ArrayHeaderMessage, DataEncodedMessage, Message, RequestMessage } from "./message-types.ts";
import * as protocol from "./protocol.ts";
import { shuffleBytes } from "./shuffle.ts";
import { encodePut } from "./upload-wire.ts";
import { xxh32 } from "./xxh32.ts";
import { loadZstd } from "./zstd.ts";
import { readZstdFrameHeader } from "./zstd-frame.ts";

const doc = readFileSync(new URL("../docs/PROTOCOL.md", import.meta.url), "utf8");
const serverDoc = readFileSync(new URL("../docs/SERVER.md", import.meta.url), "utf8");
const DOCS: Readonly<Record<string, string>> = { "PROTOCOL.md": doc, "SERVER.md": serverDoc };

// ---------------------------------------------------------------------------------------------
// Parsing the document.

/** One annotated line of a ```hex block: its bytes and the offset its comment claims. */
interface HexLine {
  bytes: number[];
  claimedOffset: number | null;
  text: string;
}

/** Every ```hex NAME block of the document, by name, as annotated lines. */
function hexBlocks(markdown: string): Map<string, HexLine[]> {
  const blocks = new Map<string, HexLine[]>();
  for (const match of markdown.matchAll(/^```hex ([A-Z0-9_]+)\n([\s\S]*?)^```$/gm)) {
    const name = match[1] as string;
    if (blocks.has(name)) throw new Error(`Duplicate hex block ${name} in docs/PROTOCOL.md`);
    const lines = (match[2] as string)
      .split("\n")
      .filter((line) => line.trim() !== "")
      .map((text): HexLine => {
        const hash = text.indexOf("#");
        const hex = (hash === -1 ? text : text.slice(0, hash)).trim();
        const comment = hash === -1 ? "" : text.slice(hash + 1);
        if (!/^([0-9a-f]{2}( [0-9a-f]{2})*)?$/.test(hex)) {
          throw new Error(`Hex block ${name}: not space-separated lowercase hex bytes: ${JSON.stringify(text)}`);
        }
        const offset = /^\s*(\d+)\s/.exec(comment);
        return {
          bytes: hex === "" ? [] : hex.split(" ").map((b) => Number.parseInt(b, 16)),
          claimedOffset: offset ? Number(offset[1]) : null,
          text,
        };
      });
    blocks.set(name, lines);
  }
  return blocks;
}

function bytesOf(lines: HexLine[]): Uint8Array {
  return Uint8Array.from(lines.flatMap((line) => line.bytes));
}

function toHex(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join(" ");
}

/** The cells of each row of the markdown table that follows `marker`, header and rule skipped. */
function tableAfter(markdown: string, marker: string): string[][] {
  const start = markdown.indexOf(marker);
  if (start === -1) throw new Error(`docs/PROTOCOL.md has no ${marker}`);
  const rows: string[][] = [];
  for (const line of markdown
    .slice(start + marker.length)
    .trimStart()
    .split("\n")) {
    if (!line.startsWith("|")) break;
    rows.push(
      line
        .slice(1, -1)
        .split("|")
        .map((cell) => cell.trim()),
    );
  }
  return rows.slice(2);
}

/** The trimmed cells of every table row in the document (any line that starts with "|"). */
function allTableRows(markdown: string): string[][] {
  return markdown
    .split("\n")
    .filter((line) => line.startsWith("|"))
    .map((line) =>
      line
        .slice(1, -1)
        .split("|")
        .map((cell) => cell.trim()),
    );
}

/** GitHub's anchor of a heading: lower case, punctuation dropped, each space a hyphen. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, "")
    .replace(/ /g, "-");
}

/** The anchors of every heading of a markdown document (outside code blocks). */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  let inCode = false;
  for (const line of markdown.split("\n")) {
    if (line.startsWith("```")) inCode = !inCode;
    const heading = /^#{1,6} (.+)$/.exec(line);
    if (!inCode && heading) anchors.add(slug(heading[1] as string));
  }
  return anchors;
}

/** The backticked E_ codes in the first cell of each row of the table after `marker`. */
function codesInTable(markdown: string, marker: string): string[] {
  return tableAfter(markdown, marker).flatMap((r) =>
    [...(r[0] ?? "").matchAll(/`(E_[A-Z0-9_]+)`/g)].map((m) => m[1] as string),
  );
}

/** The codes of one union type in errors.ts: the `| "E_..."` lines right after `export type Name =`. */
function declaredCodes(source: string, typeName: string): Set<string> {
  const lines = source.split("\n");
  const start = lines.findIndex((line) => line.startsWith(`export type ${typeName} =`));
  if (start === -1) throw new Error(`errors.ts declares no ${typeName}`);
  const codes = new Set<string>();
  for (const line of lines.slice(start + 1)) {
    if (!line.trim().startsWith("|")) break;
    const code = /^\s*\| "(E_[A-Z0-9_]+)"/.exec(line)?.[1];
    if (code) codes.add(code);
  }
  return codes;
}

// ---------------------------------------------------------------------------------------------
// The worked example, as the encoders see it.

const MiB = 1024 * 1024;
const VALUES = new Float64Array([0, 1, 2, 3]);
const ARRAY_BYTES = new Uint8Array(VALUES.buffer);
/** XXH32 of the four float64 values, as the document states it (the example's END carries it). */
const DOCUMENTED_XXH32 = 0x4094d828;
/** CRC-32C of the same values, which the document states for a client that asks for CRC-32C. */
const DOCUMENTED_CRC = 0xbf60274e;
/** CRC-32C of bytes [80, 160) of arange(1000) as float64, the range of the resume example. */
const DOCUMENTED_RESUME_CRC = 0x2b5211b4;

const REQUEST: RequestMessage = {
  type: "REQUEST",
  streamId: 1,
  name: "arange",
  params: { length: 4 },
  chunkByteLength: 16,
  range: null,
  resumeByteOffset: 0,
  creditByteLength: 16 * MiB,
  expectedGeneration: null,
  checksum: "xxh32",
};

const ARRAY_HEADER: ArrayHeaderMessage = {
  type: "ARRAY_HEADER",
  streamId: 1,
  dtype: "float64",
  shape: [4],
  totalByteLength: 32,
  rangeByteStart: 0,
  rangeByteEnd: 32,
  firstByteOffset: 0,
  // What the server's arange source gives { length: 4 } (server/generation.test.ts checks it).
  generation: 0xf2b1dbb3,
  checksumAlgorithm: "xxh32",
  name: "arange",
  // What server/sources.ts arange() puts in the header for start 0, step 1.
  meta: { source: "arange", start: 0, step: 1 },
};

const REQUEST_RESUME: RequestMessage = {
  type: "REQUEST",
  streamId: 3,
  name: "arange",
  params: { length: 1000 },
  chunkByteLength: 0,
  range: { elementStart: 10, elementEnd: 20 },
  resumeByteOffset: 16,
  creditByteLength: 0,
  // What the server's arange source gives { length: 1000 } (server/generation.test.ts checks it).
  expectedGeneration: 0xbaa4effc,
  checksum: "crc32c",
};

const DATA_ENCODED: DataEncodedMessage = {
  type: "DATA_ENCODED",
  streamId: 1,
  payloadByteLength: 21,
  byteOffset: 0,
  rawByteLength: 32,
  codec: "zstd",
  filter: "shuffle",
};

const ERROR_TEXT = 'Unknown array: "nope" is not published';

/** The upload example of section 16.6: four float32 values as "samples", with meta {"unit":"V"}. */
const UPLOAD_VALUES = new Float32Array([0.5, 1.5, -2, 3]);
const UPLOAD_BYTES = new Uint8Array(UPLOAD_VALUES.buffer);
/** XXH32 of those 16 bytes, as the document states it. */
const DOCUMENTED_UPLOAD_XXH32 = 0xdfd2e437;
const PUT: ArrayHeaderMessage = {
  type: "PUT",
  streamId: 5,
  dtype: "float32",
  shape: [4],
  totalByteLength: 16,
  rangeByteStart: 0,
  rangeByteEnd: 16,
  firstByteOffset: 0,
  generation: 0,
  checksumAlgorithm: "xxh32",
  name: "samples",
  meta: { meta: { unit: "V" } },
};
const ACCEPT = {
  type: "ACCEPT",
  streamId: 5,
  uploadId: 0x5eed1e55,
  firstByteOffset: 0,
  creditByteLength: 8 * MiB,
  maxPayloadByteLength: MiB,
} as const;
const REQUEST_SUBSCRIBE: RequestMessage = {
  type: "REQUEST",
  streamId: 1,
  name: "signal",
  params: null,
  chunkByteLength: 0,
  range: null,
  resumeByteOffset: 0,
  creditByteLength: 16 * MiB,
  expectedGeneration: null,
  checksum: "xxh32",
  subscribe: true,
};
/** Three rows of 1024 float64 of a live array with room for 100,000 rows. */
const GROW = {
  type: "GROW",
  streamId: 1,
  totalByteLength: 3 * 1024 * 8,
  maxTotalByteLength: 100_000 * 1024 * 8,
} as const;
const REQUEST_STAT: RequestMessage = {
  type: "REQUEST",
  streamId: 2,
  name: "arange",
  params: { length: 4 },
  chunkByteLength: 0,
  range: null,
  resumeByteOffset: 0,
  creditByteLength: 0,
  expectedGeneration: null,
  checksum: "none",
  headerOnly: true,
};

/** Each documented block: the bytes the encoders give, and the message they decode to (null: a payload). */
const EXPECTED: Record<string, { bytes: Uint8Array; decoded: Message | null }> = {
  REQUEST: { bytes: encodeRequest(REQUEST), decoded: REQUEST },
  ARRAY_HEADER: { bytes: encodeArrayHeader(ARRAY_HEADER), decoded: ARRAY_HEADER },
  DATA_1: {
    bytes: encodeData(1, 0, 16),
    decoded: { type: "DATA", streamId: 1, payloadByteLength: 16, byteOffset: 0 },
  },
  PAYLOAD_1: { bytes: ARRAY_BYTES.subarray(0, 16), decoded: null },
  DATA_2: {
    bytes: encodeData(1, 16, 16),
    decoded: { type: "DATA", streamId: 1, payloadByteLength: 16, byteOffset: 16 },
  },
  PAYLOAD_2: { bytes: ARRAY_BYTES.subarray(16, 32), decoded: null },
  END: {
    bytes: encodeEnd({ streamId: 1, byteLength: 32, checksumAlgorithm: "xxh32", checksum: xxh32(ARRAY_BYTES) }),
    decoded: { type: "END", streamId: 1, byteLength: 32, checksumAlgorithm: "xxh32", checksum: DOCUMENTED_XXH32 },
  },
  CREDIT: {
    bytes: encodeCredit(1, 4 * MiB),
    decoded: { type: "CREDIT", streamId: 1, grantByteLength: 4 * MiB },
  },
  CANCEL: { bytes: encodeCancel(1), decoded: { type: "CANCEL", streamId: 1 } },
  ERROR: {
    bytes: encodeError(2, "E_UNKNOWN_NAME", ERROR_TEXT),
    decoded: { type: "ERROR", streamId: 2, code: "E_UNKNOWN_NAME", message: ERROR_TEXT },
  },
  REQUEST_RESUME: { bytes: encodeRequest(REQUEST_RESUME), decoded: REQUEST_RESUME },
  DATA_ENCODED: { bytes: encodeDataEncoded(DATA_ENCODED), decoded: DATA_ENCODED },
  // A hand-written zstd frame (RLE block + raw block) of the shuffled ARRAY_BYTES: its decoding is
  // checked below with the shipped codec.
  PAYLOAD_ENCODED: {
    bytes: Uint8Array.from([
      0x28, 0xb5, 0x2f, 0xfd, 0x20, 0x20, 0xc2, 0x00, 0x00, 0x00, 0x41, 0x00, 0x00, 0x00, 0xf0, 0x00, 0x08, 0x00, 0x3f,
      0x40, 0x40,
    ]),
    decoded: null,
  },
  PUT: {
    bytes: encodePut({
      streamId: 5,
      name: "samples",
      dtype: "float32",
      shape: [4],
      checksumAlgorithm: "xxh32",
      uploadId: 0,
      meta: { unit: "V" },
      params: null,
    }),
    decoded: PUT,
  },
  ACCEPT: { bytes: encodeAccept(ACCEPT), decoded: ACCEPT },
  UPLOAD_DATA: {
    bytes: encodeData(5, 0, 16),
    decoded: { type: "DATA", streamId: 5, payloadByteLength: 16, byteOffset: 0 },
  },
  UPLOAD_END: {
    bytes: encodeEnd({ streamId: 5, byteLength: 16, checksumAlgorithm: "xxh32", checksum: xxh32(UPLOAD_BYTES) }),
    decoded: {
      type: "END",
      streamId: 5,
      byteLength: 16,
      checksumAlgorithm: "xxh32",
      checksum: DOCUMENTED_UPLOAD_XXH32,
    },
  },
  REQUEST_SUBSCRIBE: { bytes: encodeRequest(REQUEST_SUBSCRIBE), decoded: REQUEST_SUBSCRIBE },
  GROW: { bytes: encodeGrow(GROW), decoded: GROW },
  REQUEST_STAT: { bytes: encodeRequest(REQUEST_STAT), decoded: REQUEST_STAT },
};

const blocks = hexBlocks(doc);

describe("docs/PROTOCOL.md worked example", () => {
  it("has exactly the documented hex blocks, all of them in PROTOCOL.md", () => {
    expect([...blocks.keys()].sort()).toEqual(Object.keys(EXPECTED).sort());
    expect(serverDoc).not.toMatch(/^```hex/m);
  });

  it.each(Object.keys(EXPECTED))("shows the %s bytes the encoders produce", (name) => {
    const lines = blocks.get(name);
    const expected = EXPECTED[name];
    if (!lines || !expected) throw new Error(`missing ${name}`);
    expect(toHex(bytesOf(lines))).toBe(toHex(expected.bytes));
  });

  it.each(Object.keys(EXPECTED))("annotates every %s line with the offset of its first byte", (name) => {
    let offset = 0;
    for (const line of blocks.get(name) ?? []) {
      expect(line.claimedOffset, line.text).toBe(offset);
      offset += line.bytes.length;
    }
  });

  it.each(Object.entries(EXPECTED).filter(([, e]) => e.decoded !== null))(
    "decodes the documented %s bytes to the documented values",
    (name, expected) => {
      const bytes = bytesOf(blocks.get(name) ?? []);
      expect(decodeMessage(bytes)).toEqual(expected.decoded);
    },
  );

  it("shows a compressed payload that decodes and unshuffles to the same 32 bytes, checked before decoding", async () => {
    const payload = bytesOf(blocks.get("PAYLOAD_ENCODED") ?? []);
    const message = decodeMessage(bytesOf(blocks.get("DATA_ENCODED") ?? []));
    if (message.type !== "DATA_ENCODED") throw new Error(`DATA_ENCODED is a ${message.type}`);
    expect(payload.byteLength).toBe(message.payloadByteLength);
    expect(readZstdFrameHeader(payload)).toMatchObject({ contentSize: 32, windowSize: 32 });
    const target = new Uint8Array(32);
    decodeChunkInto(await loadZstd(), message, payload, target, 8);
    expect([...new Float64Array(target.buffer)]).toEqual([0, 1, 2, 3]);
    const shuffled = new Uint8Array(32);
    shuffleBytes(target, shuffled, 8);
    expect(doc).toContain("24 zero bytes");
    expect([...shuffled.subarray(24)]).toEqual([0, 0xf0, 0, 8, 0, 0x3f, 0x40, 0x40]);
  });

  it("carries the float64 values 0, 1, 2, 3 in its two payloads", () => {
    const payloads = new Uint8Array([
      ...bytesOf(blocks.get("PAYLOAD_1") ?? []),
      ...bytesOf(blocks.get("PAYLOAD_2") ?? []),
    ]);
    expect([...new Float64Array(payloads.buffer)]).toEqual([0, 1, 2, 3]);
  });

  it("ends with the XXH32 of the payloads, which the text states", () => {
    const payloads = new Uint8Array([
      ...bytesOf(blocks.get("PAYLOAD_1") ?? []),
      ...bytesOf(blocks.get("PAYLOAD_2") ?? []),
    ]);
    expect(xxh32(payloads)).toBe(DOCUMENTED_XXH32);
    expect(doc).toContain(`0x${DOCUMENTED_XXH32.toString(16).toUpperCase()}`);
  });

  it("states the CRC-32C the same payloads would carry, with its END bytes", () => {
    const payloads = new Uint8Array([
      ...bytesOf(blocks.get("PAYLOAD_1") ?? []),
      ...bytesOf(blocks.get("PAYLOAD_2") ?? []),
    ]);
    expect(crc32c(payloads)).toBe(DOCUMENTED_CRC);
    expect(doc).toContain(`0x${DOCUMENTED_CRC.toString(16).toUpperCase()}`);
    const end = encodeEnd({ streamId: 1, byteLength: 32, checksumAlgorithm: "crc32c", checksum: DOCUMENTED_CRC });
    expect(doc).toContain(`\`${toHex(end.subarray(24))}\``);
  });

  it("states the CRC-32C that ends the resume example, over the whole range [80, 160)", () => {
    const arange1000 = new Uint8Array(Float64Array.from({ length: 1000 }, (_, i) => i).buffer);
    expect(REQUEST_RESUME.range).toEqual({ elementStart: 10, elementEnd: 20 });
    expect(crc32c(arange1000.subarray(10 * 8, 20 * 8))).toBe(DOCUMENTED_RESUME_CRC);
    expect(doc).toContain(`0x${DOCUMENTED_RESUME_CRC.toString(16).toUpperCase()}`);
  });

  it("states the upload example's payload bytes and their XXH32", () => {
    const hex = toHex(UPLOAD_BYTES);
    expect(doc).toContain(`(\`${hex}\`)`);
    expect(xxh32(UPLOAD_BYTES)).toBe(DOCUMENTED_UPLOAD_XXH32);
    expect(doc).toContain(`0x${DOCUMENTED_UPLOAD_XXH32.toString(16).toUpperCase()}`);
  });

  it("states the byte length of every extension example it counts", () => {
    const prose = doc.replace(/\s+/g, " ");
    for (const [name, before] of [
      ["PUT", "on stream 5. PUT"],
      ["ACCEPT", "The server answers ACCEPT"],
      ["UPLOAD_DATA", "The client sends DATA"],
      ["UPLOAD_END", "then END"],
      ["REQUEST_SUBSCRIBE", "with room for 100,000 rows"],
      ["GROW", "a GROW"],
      ["REQUEST_STAT", "on stream 2"],
    ] as const) {
      const length = (EXPECTED[name] as { bytes: Uint8Array }).bytes.byteLength;
      expect(prose, name).toContain(`${before} (${length} bytes)`);
    }
  });

  it("uses the default checksum, XXH32, in the main exchange and CRC-32C in the resume request", () => {
    expect(decodeMessage(bytesOf(blocks.get("REQUEST") ?? []))).toMatchObject({ checksum: "xxh32" });
    expect(decodeMessage(bytesOf(blocks.get("ARRAY_HEADER") ?? []))).toMatchObject({ checksumAlgorithm: "xxh32" });
    expect(decodeMessage(bytesOf(blocks.get("END") ?? []))).toMatchObject({ checksumAlgorithm: "xxh32" });
    expect(decodeMessage(bytesOf(blocks.get("REQUEST_RESUME") ?? []))).toMatchObject({ checksum: "crc32c" });
  });

  it("announces payloads whose lengths and offsets tile the range from firstByteOffset", () => {
    let next = ARRAY_HEADER.firstByteOffset;
    for (const [data, payload] of [
      ["DATA_1", "PAYLOAD_1"],
      ["DATA_2", "PAYLOAD_2"],
    ] as const) {
      const message = decodeMessage(bytesOf(blocks.get(data) ?? []));
      if (message.type !== "DATA") throw new Error(`${data} is a ${message.type}`);
      expect(message.byteOffset).toBe(next);
      expect(bytesOf(blocks.get(payload) ?? []).byteLength).toBe(message.payloadByteLength);
      next += message.payloadByteLength;
    }
    expect(next).toBe(ARRAY_HEADER.rangeByteEnd);
  });
});

describe("docs/PROTOCOL.md tables", () => {
  /** Offsets the layout tables must show, by table and field name. */
  const FIELD_OFFSETS: Record<string, Record<string, number>> = {
    PREFIX: {
      magic: protocol.OFFSET_MAGIC,
      version: protocol.OFFSET_VERSION,
      type: protocol.OFFSET_TYPE,
      streamId: protocol.OFFSET_STREAM_ID,
    },
    REQUEST: {
      flags: protocol.OFFSET_REQUEST_FLAGS,
      codecs: protocol.OFFSET_REQUEST_CODECS,
      nameByteLength: protocol.OFFSET_REQUEST_NAME_BYTES,
      checksumAlgorithm: protocol.OFFSET_REQUEST_CHECKSUM_ALGORITHM,
      paramsByteLength: protocol.OFFSET_REQUEST_PARAMS_BYTES,
      chunkByteLength: protocol.OFFSET_REQUEST_CHUNK_BYTES,
      elementStart: protocol.OFFSET_REQUEST_ELEMENT_START,
      elementEnd: protocol.OFFSET_REQUEST_ELEMENT_END,
      resumeByteOffset: protocol.OFFSET_REQUEST_RESUME_BYTE_OFFSET,
      creditByteLength: protocol.OFFSET_REQUEST_CREDIT_BYTES,
      expectedGeneration: protocol.OFFSET_REQUEST_GENERATION,
      name: protocol.REQUEST_FIXED_BYTE_LENGTH,
    },
    CREDIT: { grantByteLength: protocol.OFFSET_CREDIT_GRANT_BYTES },
    CANCEL: {},
    ARRAY_HEADER: {
      dtype: protocol.OFFSET_DTYPE,
      ndim: protocol.OFFSET_NDIM,
      nameByteLength: protocol.OFFSET_HEADER_NAME_BYTES,
      checksumAlgorithm: protocol.OFFSET_HEADER_CHECKSUM_ALGORITHM,
      metaByteLength: protocol.OFFSET_HEADER_META_BYTES,
      generation: protocol.OFFSET_GENERATION,
      totalByteLength: protocol.OFFSET_TOTAL_BYTES,
      rangeByteStart: protocol.OFFSET_RANGE_BYTE_START,
      rangeByteEnd: protocol.OFFSET_RANGE_BYTE_END,
      firstByteOffset: protocol.OFFSET_FIRST_BYTE_OFFSET,
      shape: protocol.OFFSET_SHAPE,
    },
    DATA: {
      payloadByteLength: protocol.OFFSET_DATA_PAYLOAD_BYTES,
      byteOffset: protocol.OFFSET_DATA_BYTE_OFFSET,
    },
    DATA_ENCODED: {
      payloadByteLength: protocol.OFFSET_ENCODED_PAYLOAD_BYTES,
      byteOffset: protocol.OFFSET_ENCODED_BYTE_OFFSET,
      rawByteLength: protocol.OFFSET_ENCODED_RAW_BYTES,
      codec: protocol.OFFSET_ENCODED_CODEC,
      filter: protocol.OFFSET_ENCODED_FILTER,
    },
    END: {
      checksumAlgorithm: protocol.OFFSET_END_CHECKSUM_ALGORITHM,
      byteLength: protocol.OFFSET_END_BYTE_LENGTH,
      checksum: protocol.OFFSET_END_CHECKSUM,
    },
    ERROR: {
      codeByteLength: protocol.OFFSET_ERROR_CODE_BYTES,
      messageByteLength: protocol.OFFSET_ERROR_MESSAGE_BYTES,
    },
    GROW: {
      totalByteLength: protocol.OFFSET_GROW_TOTAL_BYTES,
      maxTotalByteLength: protocol.OFFSET_GROW_MAX_TOTAL_BYTES,
    },
    ACCEPT: {
      uploadId: protocol.OFFSET_ACCEPT_UPLOAD_ID,
      firstByteOffset: protocol.OFFSET_ACCEPT_FIRST_BYTE_OFFSET,
      creditByteLength: protocol.OFFSET_ACCEPT_CREDIT_BYTES,
      maxPayloadByteLength: protocol.OFFSET_ACCEPT_MAX_PAYLOAD_BYTES,
    },
  };
  /** Byte length of each message's fixed part: where the table's run of numeric offsets ends. */
  const FIXED_LENGTHS: Record<string, number> = {
    PREFIX: protocol.PREFIX_BYTE_LENGTH,
    REQUEST: protocol.REQUEST_FIXED_BYTE_LENGTH,
    CREDIT: protocol.CREDIT_BYTE_LENGTH,
    CANCEL: protocol.CANCEL_BYTE_LENGTH,
    ARRAY_HEADER: protocol.HEADER_FIXED_BYTE_LENGTH,
    DATA: protocol.DATA_BYTE_LENGTH,
    DATA_ENCODED: protocol.DATA_ENCODED_BYTE_LENGTH,
    END: protocol.END_BYTE_LENGTH,
    ERROR: protocol.ERROR_FIXED_BYTE_LENGTH,
    GROW: protocol.GROW_BYTE_LENGTH,
    ACCEPT: protocol.ACCEPT_BYTE_LENGTH,
  };

  it.each(Object.keys(FIXED_LENGTHS))("lays out %s with contiguous fields matching protocol.ts", (table) => {
    const rows = tableAfter(doc, `<!-- layout: ${table} -->`);
    let offset = 0;
    let fixedEnded = false;
    const seen: Record<string, number> = {};
    for (const [offsetCell, bytesCell, , field] of rows) {
      if (offsetCell === undefined || bytesCell === undefined || field === undefined) throw new Error("short row");
      if (/^\d+$/.test(offsetCell)) {
        expect(fixedEnded, `${table}: numeric offset ${offsetCell} after the variable part`).toBe(false);
        expect(Number(offsetCell), `${table}.${field}`).toBe(offset);
        seen[field] = Number(offsetCell);
        if (/^\d+$/.test(bytesCell)) offset += Number(bytesCell);
        else fixedEnded = true; // "8 × ndim" or "n": the fixed part ends here
      } else {
        fixedEnded = true;
      }
    }
    // The fixed part ends where the first variable-length field (if any) starts.
    expect(offset, `${table} fixed part`).toBe(FIXED_LENGTHS[table]);
    for (const [field, expected] of Object.entries(FIELD_OFFSETS[table] ?? {})) {
      expect(seen[field], `${table}.${field}`).toBe(expected);
    }
  });

  const rows = allTableRows(doc);

  it("lists every message type with its code", () => {
    for (const [name, code] of Object.entries(protocol.MESSAGE_TYPES)) {
      const hex = `0x${code.toString(16).padStart(2, "0")}`;
      expect(
        rows.filter((r) => r[0] === hex && r[1] === name),
        name,
      ).toHaveLength(1);
    }
  });

  it("lists every REQUEST flag with its bit, no other flag, and the rest as reserved", () => {
    const flags: Record<string, number> = {
      REQUEST_FLAG_RANGE: protocol.REQUEST_FLAG_RANGE,
      REQUEST_FLAG_GENERATION: protocol.REQUEST_FLAG_GENERATION,
      REQUEST_FLAG_HEADER_ONLY: protocol.REQUEST_FLAG_HEADER_ONLY,
      REQUEST_FLAG_SUBSCRIBE: protocol.REQUEST_FLAG_SUBSCRIBE,
    };
    // Every REQUEST_FLAG_* that protocol.ts exports is in `flags` (a new one must be documented).
    expect(
      Object.keys(protocol)
        .filter((k) => k.startsWith("REQUEST_FLAG_"))
        .sort(),
    ).toEqual(Object.keys(flags).sort());
    for (const [name, value] of Object.entries(flags)) {
      const bit = String(Math.log2(value));
      const hex = `0x${value.toString(16).padStart(4, "0")}`;
      expect(
        rows.filter((r) => r[0] === bit && r[1] === hex && r[2] === name),
        name,
      ).toHaveLength(1);
    }
    expect(protocol.REQUEST_FLAGS_KNOWN).toBe(Object.values(flags).reduce((a, b) => a | b, 0));
    // Every bit 0..15 is covered exactly once, in order: by its flag, or by a "reserved" row
    // (a bit, or a span "a..b").
    const flagRows = tableAfter(doc, "Flags (u16 at offset 6):");
    const byBit = new Map(Object.entries(flags).map(([name, value]) => [Math.log2(value), name]));
    let next = 0;
    for (const [bits, , name] of flagRows) {
      const [from, to] = (bits ?? "").split("..").map(Number) as [number, number | undefined];
      expect(from, `row ${bits}`).toBe(next);
      const last = to ?? from;
      for (let bit = from; bit <= last; bit++) expect(name, `bit ${bit}`).toBe(byBit.get(bit) ?? "reserved");
      next = last + 1;
    }
    expect(next).toBe(16);
  });

  it("lists every checksum algorithm with its code, and no others", () => {
    const table = tableAfter(doc, "<!-- checksum algorithms -->");
    expect(table.map((r) => [Number(r[0]), r[1]])).toEqual(
      Object.entries(protocol.CHECKSUM_ALGORITHMS).map(([n, c]) => [c, n]),
    );
    const maxCode = Math.max(...Object.values(protocol.CHECKSUM_ALGORITHMS));
    expect(doc).toContain(`Codes ${maxCode + 1}..255 are unknown`);
    // The layout tables describe the algorithm byte with the same codes.
    const spelled = Object.entries(protocol.CHECKSUM_ALGORITHMS)
      .map(([name, code]) => `${code} = ${name}`)
      .join(", ");
    expect(rows.filter((r) => r[3] === "checksumAlgorithm" && r[4]?.includes(spelled))).toHaveLength(3);
  });

  it("gives the XXH32 and CRC-32C check values the implementations compute", () => {
    const ascii = (text: string) => new TextEncoder().encode(text);
    for (const [text, value] of [
      ["", 0x02cc5d05],
      ["abc", 0x32d153ff],
      ["123456789", 0x937bad67],
    ] as const) {
      expect(xxh32(ascii(text)), JSON.stringify(text)).toBe(value);
      expect(doc, JSON.stringify(text)).toContain(`0x${value.toString(16).toUpperCase().padStart(8, "0")}`);
    }
    // The Python definition's constants are XXH32's five primes.
    for (const prime of ["0x9E3779B1", "0x85EBCA77", "0xC2B2AE3D", "0x27D4EB2F", "0x165667B1"]) {
      expect(doc).toContain(prime);
    }
  });

  it("lists the HTTP checksum values protocol.ts defines", () => {
    const query = new Map(tableAfter(doc, "<!-- http query -->").map((r) => [r[0], r[2]]));
    // Listed from the newest code down: `xxh32`, `crc32c` or `none`.
    const names = Object.keys(protocol.CHECKSUM_ALGORITHMS)
      .map((n) => `\`${n}\``)
      .reverse();
    expect(query.get("`checksum`")).toBe(`${names.slice(0, -1).join(", ")} or ${names.at(-1)}; absent = \`none\``);
    expect(doc).toContain(`Content-Type: ${protocol.HTTP_CONTENT_TYPE}`);
  });

  it("lists every dtype with its code and itemsize, and no others", () => {
    const dtypeRows = rows.filter((r) => /^\d+$/.test(r[0] ?? "") && /Array\b/.test(r[3] ?? ""));
    expect(dtypeRows.map((r) => r.slice(0, 3))).toEqual(
      DTYPES.map((dtype) => [String(DTYPE_CODES[dtype]), dtype, String(DTYPE_BYTES_PER_ELEMENT[dtype])]),
    );
  });

  it("states the constants protocol.ts and json.ts define", () => {
    const rows = new Map(tableAfter(doc, "<!-- constants -->").map(([name, value]) => [name, value]));
    const values: Record<string, number | string> = {
      MAGIC: protocol.MAGIC,
      PROTOCOL_VERSION: protocol.PROTOCOL_VERSION,
      PREFIX_BYTE_LENGTH: protocol.PREFIX_BYTE_LENGTH,
      REQUEST_FIXED_BYTE_LENGTH: protocol.REQUEST_FIXED_BYTE_LENGTH,
      CREDIT_BYTE_LENGTH: protocol.CREDIT_BYTE_LENGTH,
      CANCEL_BYTE_LENGTH: protocol.CANCEL_BYTE_LENGTH,
      HEADER_FIXED_BYTE_LENGTH: protocol.HEADER_FIXED_BYTE_LENGTH,
      SHAPE_DIM_BYTE_LENGTH: protocol.SHAPE_DIM_BYTE_LENGTH,
      DATA_BYTE_LENGTH: protocol.DATA_BYTE_LENGTH,
      END_BYTE_LENGTH: protocol.END_BYTE_LENGTH,
      ERROR_FIXED_BYTE_LENGTH: protocol.ERROR_FIXED_BYTE_LENGTH,
      GROW_BYTE_LENGTH: protocol.GROW_BYTE_LENGTH,
      ACCEPT_BYTE_LENGTH: protocol.ACCEPT_BYTE_LENGTH,
      MAX_NDIM: protocol.MAX_NDIM,
      MAX_NAME_BYTES: protocol.MAX_NAME_BYTES,
      MAX_ERROR_CODE_BYTES: protocol.MAX_ERROR_CODE_BYTES,
      MAX_ERROR_MESSAGE_BYTES: protocol.MAX_ERROR_MESSAGE_BYTES,
      MAX_JSON_DEPTH,
      DEFAULT_MAX_CONTROL_BYTES: protocol.DEFAULT_MAX_CONTROL_BYTES,
      DEFAULT_MAX_CHUNK_BYTES: protocol.DEFAULT_MAX_CHUNK_BYTES,
      DEFAULT_MAX_TOTAL_BYTES: protocol.DEFAULT_MAX_TOTAL_BYTES,
      HTTP_CONTENT_TYPE: protocol.HTTP_CONTENT_TYPE,
    };
    expect([...rows.keys()].sort()).toEqual(Object.keys(values).sort());
    for (const [name, value] of Object.entries(values)) {
      const cell = rows.get(name);
      expect(typeof value === "number" ? Number(cell) : cell, name).toBe(value);
    }
  });

  it("names every error code errors.ts declares, and neither document names a code it does not", () => {
    const source = readFileSync(new URL("./errors.ts", import.meta.url), "utf8");
    const declared = new Set([...source.matchAll(/\| "(E_[A-Z0-9_]+)"/g)].map((m) => m[1] as string));
    expect(declared.size).toBeGreaterThan(20);
    for (const code of declared) expect(doc, code).toContain(`\`${code}\``);
    for (const [name, markdown] of Object.entries(DOCS)) {
      const documented = new Set([...markdown.matchAll(/\bE_[A-Z0-9_]+\b/g)].map((m) => m[0]));
      expect(
        [...documented].filter((code) => !declared.has(code)),
        name,
      ).toEqual([]);
    }
  });

  it("lists exactly the ProtocolError codes errors.ts declares in section 9.1", () => {
    const source = readFileSync(new URL("./errors.ts", import.meta.url), "utf8");
    const listed = codesInTable(doc, "<!-- protocol error codes -->");
    expect(listed.sort()).toEqual([...declaredCodes(source, "ProtocolErrorCode")].sort());
  });

  it("accounts for every StreamError code: sent by a server (9.2) or produced by a client", () => {
    const source = readFileSync(new URL("./errors.ts", import.meta.url), "utf8");
    const declared = declaredCodes(source, "StreamErrorCode");
    const sent = codesInTable(doc, "<!-- server error codes -->");
    const localStart = doc.indexOf("**Codes a client produces locally**");
    expect(localStart).toBeGreaterThan(-1);
    const localParagraph = doc.slice(localStart, doc.indexOf("\n\n", localStart));
    const local = [...localParagraph.matchAll(/`(E_[A-Z0-9_]+)`/g)].map((m) => m[1] as string);
    const protocolCodes = declaredCodes(source, "ProtocolErrorCode");
    // 9.2 also lists the ProtocolError codes a server echoes (E_TEXT_FRAME, E_UNEXPECTED_MESSAGE, E_BAD_JSON).
    expect(sent.filter((code) => !declared.has(code) && !protocolCodes.has(code))).toEqual([]);
    expect([...declared].filter((code) => !sent.includes(code) && !local.includes(code))).toEqual([]);
    expect(new Set(sent).size, "a code listed twice in 9.2").toBe(sent.length);
  });

  it("gives each access refusal the same HTTP status in section 2.4 and in section 9.2", () => {
    const statusOf = new Map(
      tableAfter(doc, "<!-- server error codes -->").map((r) => [/`(E_[A-Z0-9_]+)`/.exec(r[0] ?? "")?.[1], r[1]]),
    );
    const refusals = tableAfter(doc, "<!-- access refusals -->");
    expect(refusals.length).toBeGreaterThanOrEqual(5);
    for (const row of refusals) {
      const code = /`(E_[A-Z0-9_]+)`/.exec(row[2] ?? "")?.[1];
      expect(code, row.join(" | ")).toBeDefined();
      expect(statusOf.get(code), code).toBe(row[1]);
    }
  });

  it.each(Object.keys(DOCS))("links only to headings that exist, in %s and across documents", (name) => {
    const markdown = DOCS[name] as string;
    const broken: string[] = [];
    for (const match of markdown.matchAll(/\]\(((?:PROTOCOL|SERVER)\.md)?(?:#([^)\s]+))?\)/g)) {
      const [link, file, anchor] = match;
      const target = file ?? name;
      if (!(target in DOCS)) broken.push(link);
      else if (anchor !== undefined && !anchorsOf(DOCS[target] as string).has(anchor)) broken.push(link);
    }
    expect(broken).toEqual([]);
  });

  it("names SERVER.md from PROTOCOL.md and keeps the reference server's check order there", () => {
    expect(doc).toContain("](SERVER.md)");
    const order = tableAfter(serverDoc, "| #   | condition").map((r) => r[0]);
    // Rows S1, S2, ... in order, none missing (the header row and rule are skipped by tableAfter).
    expect(order.length).toBeGreaterThan(10);
    expect(order).toEqual(order.map((_, i) => `S${i + 1}`));
  });

  it("lists exactly the ArrayInfo keys a client reads (section 18.1)", () => {
    const keys = tableAfter(doc, "<!-- array info -->").map((r) => (r[0] ?? "").replaceAll("`", ""));
    const full = checkArrayInfo({
      name: "a",
      kind: "live",
      live: true,
      generation: 1,
      dtype: "float64",
      shape: [1],
      byteLength: 8,
      meta: null,
      params: {},
      maxLength: 2,
      closed: false,
      unknown: "dropped",
    });
    expect(keys.sort()).toEqual(Object.keys(full).sort());
  });

  it("gives the CRC-32C check value the implementation computes", () => {
    expect(crc32c(new TextEncoder().encode("123456789"))).toBe(0xe3069283);
    expect(doc).toContain("0xE3069283");
    expect(doc).toContain("0x82F63B78");
  });
});
