/**
 * The PUT message of an upload (docs/PROTOCOL.md §16): an ARRAY_HEADER layout sent by the
 * client, whose range is the whole array, whose `generation` is 0 for a new upload or the upload
 * id to resume, and whose JSON part is the upload object `{"meta": {...}, "params": {...}}` (both
 * keys optional). These helpers build one and read the JSON part back, so both ends agree on it.
 */
import type { Dtype } from "./dtype.ts";
import { DTYPE_BYTES_PER_ELEMENT } from "./dtype.ts";
import { encodeArrayHeader } from "./encode.ts";
import { StreamError } from "./errors.ts";
import type { JsonObject } from "./json.ts";
import type { ArrayHeaderMessage } from "./message-types.ts";
import type { ChecksumAlgorithm } from "./protocol.ts";

/** Keys the upload object of a PUT may have. */
const PUT_KEYS: ReadonlySet<string> = new Set(["meta", "params"]);

/** What a PUT describes. */
export interface PutFields {
  streamId: number;
  name: string;
  dtype: Dtype;
  shape: readonly number[];
  /** The checksum the uploader's END will carry (never "none": servers refuse uploads without one). */
  checksumAlgorithm: ChecksumAlgorithm;
  /** 0 for a new upload; the ACCEPT's uploadId to resume one. */
  uploadId: number;
  meta: JsonObject | null;
  params: JsonObject | null;
}

/**
 * Encodes a PUT for `fields`: the range is the whole array and firstByteOffset is 0 (the server's
 * ACCEPT says where to start).
 * @throws {RangeError} / {TypeError} as encodeArrayHeader does, for a bad shape, name or dtype.
 */
export function encodePut(fields: PutFields): Uint8Array {
  let elementCount = 1;
  for (const dim of fields.shape) elementCount *= dim;
  const totalByteLength = elementCount * DTYPE_BYTES_PER_ELEMENT[fields.dtype];
  const body: JsonObject = {};
  if (fields.meta !== null) body.meta = fields.meta;
  if (fields.params !== null) body.params = fields.params;
  return encodeArrayHeader({
    type: "PUT",
    streamId: fields.streamId,
    dtype: fields.dtype,
    shape: [...fields.shape],
    totalByteLength,
    rangeByteStart: 0,
    rangeByteEnd: totalByteLength,
    firstByteOffset: 0,
    generation: fields.uploadId,
    checksumAlgorithm: fields.checksumAlgorithm,
    name: fields.name,
    meta: Object.keys(body).length === 0 ? null : body,
  });
}

/**
 * The meta and params of a decoded PUT's upload object, after the PUT-only checks: the range is
 * the whole array and firstByteOffset is 0 (StreamError E_BAD_RANGE otherwise), and the upload
 * object has no key but "meta" and "params", each an object or null (E_BAD_REQUEST otherwise).
 * @throws {@link StreamError} E_BAD_RANGE or E_BAD_REQUEST.
 */
export function readPutFields(put: ArrayHeaderMessage): { meta: JsonObject | null; params: JsonObject | null } {
  if (put.rangeByteStart !== 0 || put.rangeByteEnd !== put.totalByteLength || put.firstByteOffset !== 0) {
    throw new StreamError(
      "E_BAD_RANGE",
      `Invalid PUT: expected the whole array [0, ${put.totalByteLength}) from byte 0, got [${put.rangeByteStart}, ${put.rangeByteEnd}) from ${put.firstByteOffset}`,
      put.streamId,
    );
  }
  const body = put.meta ?? {};
  for (const key of Object.keys(body)) {
    if (!PUT_KEYS.has(key)) {
      throw new StreamError(
        "E_BAD_REQUEST",
        `Invalid PUT: expected an upload object with "meta" and "params" only, got key ${JSON.stringify(key)}`,
        put.streamId,
      );
    }
  }
  const part = (key: "meta" | "params"): JsonObject | null => {
    const value = body[key];
    if (value === undefined || value === null) return null;
    if (typeof value !== "object" || Array.isArray(value)) {
      throw new StreamError(
        "E_BAD_REQUEST",
        `Invalid PUT: expected "${key}" to be a JSON object, got ${Array.isArray(value) ? "an array" : typeof value}`,
        put.streamId,
      );
    }
    return value as JsonObject;
  };
  return { meta: part("meta"), params: part("params") };
}
