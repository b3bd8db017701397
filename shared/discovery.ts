/**
 * Discovery (docs/PROTOCOL.md §18): what a server publishes, as JSON over HTTP. `GET <path>?list`
 * answers `{"arrays": [ArrayInfo, ...]}` and `GET <path>?stat&name=<name>` one ArrayInfo. The
 * type is the wire format; {@link checkArrayInfo} is how a client reads one from an untrusted
 * server.
 */
import { DTYPES, type Dtype } from "./dtype.ts";
import { ProtocolError } from "./errors.ts";
import type { JsonObject } from "./json.ts";
import { MAX_NDIM } from "./protocol.ts";

/** What a name publishes: a typed array, a source (generator, file...), or a live array. */
export type ArrayKind = "array" | "source" | "live";

/** One published name, as listed (fields the server does not know without opening are absent). */
export interface ArrayInfo {
  name: string;
  kind: ArrayKind;
  /** True for a live array (it grows; subscribe to follow it). */
  live: boolean;
  /** Changes when the name is republished; what a resume names. */
  generation: number;
  dtype?: Dtype;
  /** The whole shape (a live array's current length first). */
  shape?: number[];
  /** Bytes of the whole array: product(shape) x itemsize. */
  byteLength?: number;
  meta?: JsonObject | null;
  /** The params a source reads, as the source describes them (free-form JSON). */
  params?: JsonObject;
  /** Live arrays: the most rows they can hold, and whether they were closed. */
  maxLength?: number;
  closed?: boolean;
}

const KINDS: ReadonlySet<string> = new Set(["array", "source", "live"]);

function isCount(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Checks one ArrayInfo from a server's JSON (unknown fields are dropped, never trusted).
 * @throws {@link ProtocolError} E_BAD_JSON for a field of the wrong type.
 */
export function checkArrayInfo(value: unknown): ArrayInfo {
  const bad = (what: string) => new ProtocolError("E_BAD_JSON", `Invalid ArrayInfo: ${what}`);
  if (!isObject(value)) throw bad("expected an object");
  const { name, kind, live, generation, dtype, shape, byteLength, meta, params, maxLength, closed } = value;
  if (typeof name !== "string" || name === "") throw bad("expected a non-empty name");
  if (typeof kind !== "string" || !KINDS.has(kind)) throw bad(`unknown kind ${JSON.stringify(kind)}`);
  if (typeof live !== "boolean") throw bad("expected live to be a boolean");
  if (!isCount(generation)) throw bad("expected generation to be a non-negative integer");
  const info: ArrayInfo = { name, kind: kind as ArrayKind, live, generation };
  if (dtype !== undefined) {
    if (!DTYPES.includes(dtype as Dtype)) throw bad(`unknown dtype ${JSON.stringify(dtype)}`);
    info.dtype = dtype as Dtype;
  }
  if (shape !== undefined) {
    if (!Array.isArray(shape) || shape.length > MAX_NDIM || !shape.every(isCount)) {
      throw bad("expected shape to be at most 32 non-negative integers");
    }
    info.shape = [...(shape as number[])];
  }
  if (byteLength !== undefined) {
    if (!isCount(byteLength)) throw bad("expected byteLength to be a non-negative integer");
    info.byteLength = byteLength;
  }
  if (meta !== undefined) {
    if (meta !== null && !isObject(meta)) throw bad("expected meta to be an object or null");
    info.meta = meta;
  }
  if (params !== undefined) {
    if (!isObject(params)) throw bad("expected params to be an object");
    info.params = params;
  }
  if (maxLength !== undefined) {
    if (!isCount(maxLength)) throw bad("expected maxLength to be a non-negative integer");
    info.maxLength = maxLength;
  }
  if (closed !== undefined) {
    if (typeof closed !== "boolean") throw bad("expected closed to be a boolean");
    info.closed = closed;
  }
  return info;
}
