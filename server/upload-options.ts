/**
 * The `upload` option of ArrayServer (docs/PROTOCOL.md §16, docs/SERVER.md §10): the hook that
 * decides about each upload before any byte of it is read, what the server tells it, what it
 * answers, and the limits, with their defaults and checks.
 */
import type { IncomingMessage } from "node:http";
import type { ChecksumAlgorithm, Dtype, JsonObject, TypedArray } from "../shared/index.ts";

const MiB = 1024 * 1024;

/** What {@link UploadOptions.onUpload} is asked about: the PUT, and who sent it. */
export interface UploadRequest {
  /** The name the client wants the array under. */
  name: string;
  dtype: Dtype;
  shape: number[];
  /** Bytes of the whole array: product(shape) x itemsize. */
  byteLength: number;
  /** The upload's meta and params (PUT's upload object), or null. */
  meta: JsonObject | null;
  params: JsonObject | null;
  /** The checksum the upload will be verified with. */
  checksumAlgorithm: ChecksumAlgorithm;
  /** The WebSocket upgrade request (it passed the access checks and `authenticate`). */
  req: IncomingMessage;
  /** Aborted when the client cancels or goes away while the hook runs. */
  signal: AbortSignal;
}

/**
 * Where an accepted upload's bytes go. `into`: the server writes into this typed array (of the
 * upload's dtype, at least byteLength bytes; do not pass an array that is published, or readers
 * would see it change). `allocate: true`: the server allocates it, after reserving its bytes
 * against `maxUploadBytes`. With `publish: true` the verified array is published under the
 * upload's name (with its shape and meta), replacing what was there, only once its checksum matched.
 */
export type UploadDecision = ({ into: TypedArray } | { allocate: true }) & { publish?: boolean };

/** A verified upload, as {@link UploadOptions.onUploaded} gets it. */
export interface UploadResult {
  name: string;
  dtype: Dtype;
  shape: number[];
  byteLength: number;
  meta: JsonObject | null;
  params: JsonObject | null;
  /** The bytes, as a typed array of the dtype (the `into` array, or a view of its first bytes). */
  array: TypedArray;
  /** The checksum the client sent and the server computed over every byte. */
  checksumAlgorithm: ChecksumAlgorithm;
  checksum: number;
  /** Whether the array is about to be published under `name`. */
  published: boolean;
  /** The upgrade request of the connection that completed the upload. */
  req: IncomingMessage;
}

/** Options of uploads (ArrayServerOptions.upload). */
export interface UploadOptions {
  /**
   * Decides about an upload before any payload is read: resolve an {@link UploadDecision}, or
   * false to refuse (E_UPLOAD_REFUSED). Throw a StreamError with a code of your own ([A-Z0-9_])
   * to refuse with it; anything else thrown refuses with E_INTERNAL (logged). Not called again
   * when a cut upload resumes.
   */
  onUpload(request: UploadRequest): UploadDecision | false | Promise<UploadDecision | false>;
  /**
   * Called once an upload's checksum matched, before it is published and acknowledged. A throw
   * (or rejection) refuses it after all: nothing is published, and the client gets the thrown
   * StreamError's code, or E_INTERNAL.
   */
  onUploaded?(result: UploadResult): void | Promise<void>;
  /**
   * Bytes the server allocates for uploads at once (`allocate: true`, while they arrive and while
   * a cut one is kept for a resume); an upload that does not fit gets E_BUSY. Defaults to
   * 1_073_741_824 (1 GiB).
   */
  maxUploadBytes?: number;
  /** Largest array one upload may declare; more gets E_TOO_LARGE. Defaults to maxUploadBytes. */
  maxUploadByteLength?: number;
  /**
   * Largest payload message a client may send (the WebSocket's maxPayload while uploads are on).
   * Defaults to 1_048_576 (1 MiB).
   */
  maxPayloadByteLength?: number;
  /**
   * The credit window: payload bytes an uploader may send before the server grants more. The
   * server grants back what it has written, in steps of a quarter window. At least
   * maxPayloadByteLength. Defaults to 8_388_608 (8 MiB).
   */
  windowByteLength?: number;
  /** How long a cut upload is kept (its bytes still reserved) for a resume, in ms. Defaults to 60_000. */
  resumeTimeoutMs?: number;
}

/** Upload options resolved to their defaults. */
export interface UploadSettings {
  onUpload: UploadOptions["onUpload"];
  onUploaded: UploadOptions["onUploaded"];
  maxUploadBytes: number;
  maxUploadByteLength: number;
  maxPayloadByteLength: number;
  windowByteLength: number;
  resumeTimeoutMs: number;
}

function integer(name: string, value: number | undefined, fallback: number, min: number, max: number): number {
  const v = value ?? fallback;
  if (!Number.isSafeInteger(v) || v < min || v > max) {
    throw new RangeError(`Invalid upload.${name}: expected an integer in ${min}..${max}, got ${v}`);
  }
  return v;
}

/**
 * Applies defaults and checks every upload option.
 * @throws {TypeError} without an onUpload function; {RangeError} for a value out of range.
 */
export function resolveUploadSettings(options: UploadOptions): UploadSettings {
  if (typeof options?.onUpload !== "function") {
    throw new TypeError("Invalid upload: expected an onUpload(request) function");
  }
  if (options.onUploaded !== undefined && typeof options.onUploaded !== "function") {
    throw new TypeError("Invalid upload.onUploaded: expected a function");
  }
  const maxUploadBytes = integer("maxUploadBytes", options.maxUploadBytes, 1024 * MiB, 0, Number.MAX_SAFE_INTEGER);
  // ws coerces maxPayload to a 32-bit signed int: 2^31 and above would mean "no limit".
  const maxPayloadByteLength = integer("maxPayloadByteLength", options.maxPayloadByteLength, MiB, 1024, 2 ** 31 - 1);
  return {
    onUpload: options.onUpload,
    onUploaded: options.onUploaded,
    maxUploadBytes,
    maxUploadByteLength: integer(
      "maxUploadByteLength",
      options.maxUploadByteLength,
      maxUploadBytes,
      0,
      Number.MAX_SAFE_INTEGER,
    ),
    maxPayloadByteLength,
    windowByteLength: integer(
      "windowByteLength",
      options.windowByteLength,
      Math.max(8 * MiB, maxPayloadByteLength),
      maxPayloadByteLength,
      Number.MAX_SAFE_INTEGER,
    ),
    resumeTimeoutMs: integer("resumeTimeoutMs", options.resumeTimeoutMs, 60_000, 0, 2 ** 31 - 1),
  };
}
