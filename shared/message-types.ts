/**
 * The decoded shape of every control message: what encode.ts writes and decode.ts returns. The
 * byte layout is in protocol.ts and docs/PROTOCOL.md; these objects carry the fields, named after
 * their units, with u64 fields as Numbers (decoding refuses anything above
 * Number.MAX_SAFE_INTEGER).
 */
import type { Dtype } from "./dtype.ts";
import type { JsonObject } from "./json.ts";
import type { ChecksumAlgorithm, ChunkCodec, ChunkFilter } from "./protocol.ts";

/** A client's request for one array. */
export interface RequestMessage {
  type: "REQUEST";
  streamId: number;
  name: string;
  /** Source parameters (for generated arrays such as `arange`), or null. */
  params: JsonObject | null;
  /** Wanted chunk size in bytes; 0 = the server's default. */
  chunkByteLength: number;
  /** Element range [start, end) of the flattened array, or null for all of it. */
  range: { elementStart: number; elementEnd: number } | null;
  /** Resume point, in bytes from the first byte of the range. */
  resumeByteOffset: number;
  /** Initial credit window in bytes; 0 turns credit flow control off. */
  creditByteLength: number;
  /** Generation the resumed stream was started on, or null. */
  expectedGeneration: number | null;
  /** Checksum the END trailer should carry ("none" for none). */
  checksum: ChecksumAlgorithm;
  /**
   * Codecs the client decodes (REQUEST byte 15): the server may then send DATA_ENCODED chunks.
   * Absent or empty: none (every chunk comes as DATA); decoding leaves it out when none is offered.
   */
  codecs?: readonly ChunkCodec[];
  /** REQUEST_FLAG_HEADER_ONLY: answer with the ARRAY_HEADER alone (a stat). Decoded only when set. */
  headerOnly?: boolean;
  /** REQUEST_FLAG_SUBSCRIBE: a live subscription (GROW announces appends). Decoded only when set. */
  subscribe?: boolean;
}

/** More bytes the client is ready for on one stream. */
export interface CreditMessage {
  type: "CREDIT";
  streamId: number;
  grantByteLength: number;
}

/** The client no longer wants a stream. */
export interface CancelMessage {
  type: "CANCEL";
  streamId: number;
}

/** Describes the array (and the part of it) a stream carries; sent before any DATA. */
export interface ArrayHeaderMessage {
  type: "ARRAY_HEADER" | "PUT";
  streamId: number;
  dtype: Dtype;
  shape: number[];
  /** Byte length of the whole array: product(shape) * itemsize. */
  totalByteLength: number;
  /** First byte of the range this stream covers (multiple of itemsize). */
  rangeByteStart: number;
  /** End of the range, exclusive (multiple of itemsize). */
  rangeByteEnd: number;
  /** First byte this stream sends: rangeByteStart unless resuming. */
  firstByteOffset: number;
  /** Generation of the published array; a resume must name it. */
  generation: number;
  checksumAlgorithm: ChecksumAlgorithm;
  name: string;
  meta: JsonObject | null;
}

/** Announces the payload message that follows it. */
export interface DataMessage {
  type: "DATA";
  streamId: number;
  payloadByteLength: number;
  /** Offset in the array of the payload's first byte. */
  byteOffset: number;
}

/** Announces an encoded payload message that follows it: `rawByteLength` array bytes once decoded. */
export interface DataEncodedMessage {
  type: "DATA_ENCODED";
  streamId: number;
  /** Encoded bytes in the next message (1..rawByteLength). */
  payloadByteLength: number;
  /** Offset in the array of the chunk's first raw byte. */
  byteOffset: number;
  /** Array bytes the payload decodes to. */
  rawByteLength: number;
  codec: ChunkCodec;
  /** "shuffle": the decoded bytes are byte-shuffled with the dtype's itemsize (unshuffle them). */
  filter: ChunkFilter;
}

/** Trailer: the stream sent every byte of its range. */
export interface EndMessage {
  type: "END";
  streamId: number;
  /** Bytes this stream sent (rangeByteEnd - firstByteOffset). */
  byteLength: number;
  checksumAlgorithm: ChecksumAlgorithm;
  /** Checksum of the whole range; 0 when checksumAlgorithm is "none". */
  checksum: number;
}

/** A stream (streamId > 0) or the connection (streamId 0) failed. */
export interface ErrorMessage {
  type: "ERROR";
  streamId: number;
  code: string;
  message: string;
}

/** A live array grew (SUBSCRIBE streams): the bytes up to totalByteLength follow as DATA. */
export interface GrowMessage {
  type: "GROW";
  streamId: number;
  /** Byte length of the whole array now. */
  totalByteLength: number;
  /** The most the array can ever hold, in bytes; the same in every GROW of a stream. */
  maxTotalByteLength: number;
}

/** The server accepts an upload (answers a PUT): where to start, and the first credit. */
export interface AcceptMessage {
  type: "ACCEPT";
  streamId: number;
  /** Names the upload for a resume (PUT generation); never 0. */
  uploadId: number;
  /** First byte the uploader sends: 0, or the bytes the server holds of a resumed upload. */
  firstByteOffset: number;
  /** Payload bytes the uploader may send before the next CREDIT. */
  creditByteLength: number;
  /** Largest payload message the server accepts. */
  maxPayloadByteLength: number;
}

/** Any control message. */
export type Message =
  | RequestMessage
  | CreditMessage
  | CancelMessage
  | ArrayHeaderMessage
  | DataMessage
  | DataEncodedMessage
  | EndMessage
  | ErrorMessage
  | GrowMessage
  | AcceptMessage;

/** Caps a receiver applies while decoding. */
export interface DecodeLimits {
  /** Longest control message accepted, checked before any field is read. Defaults to 65_536 (64 KiB). */
  maxControlByteLength?: number;
  /** Largest array range the receiver agrees to allocate. Defaults to 2_147_483_648 (2 GiB). */
  maxTotalByteLength?: number;
  /** Largest payload one DATA (or raw length one DATA_ENCODED) may announce. Defaults to 67_108_864 (64 MiB). */
  maxChunkByteLength?: number;
}
