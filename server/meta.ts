/**
 * Checks of what goes into an ARRAY_HEADER from the server's side: `meta` must be JSON that the
 * protocol's strict parser accepts (shared/json.ts: no `__proto__` / `constructor` / `prototype`
 * keys, at most MAX_JSON_DEPTH levels, and, since JSON.stringify would silently change them, no
 * BigInt, undefined, functions, symbols, NaN or Infinity), and the whole header must fit the
 * clients' default control-message cap. Checked when an array is published (a TypeError at the
 * caller) and when a source opens one (E_INTERNAL for the client, a line in the log).
 */
import {
  DEFAULT_MAX_CONTROL_BYTES,
  type Dtype,
  encodeArrayHeader,
  type JsonObject,
  MAX_JSON_DEPTH,
} from "../shared/index.ts";

/** Keys the protocol's JSON parser refuses anywhere (prototype pollution). */
const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(["__proto__", "constructor", "prototype"]);

function checkValue(value: unknown, path: string, depth: number): void {
  switch (typeof value) {
    case "string":
    case "boolean":
      return;
    case "number":
      if (!Number.isFinite(value)) {
        throw new TypeError(`Invalid meta: ${path} is ${value}; JSON has no NaN or Infinity`);
      }
      return;
    case "object": {
      if (value === null) return;
      if (depth >= MAX_JSON_DEPTH) {
        throw new TypeError(`Invalid meta: nesting too deep at ${path}: expected at most ${MAX_JSON_DEPTH} levels`);
      }
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) checkValue(value[i], `${path}[${i}]`, depth + 1);
        return;
      }
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) {
        throw new TypeError(
          `Invalid meta: ${path} is a ${value.constructor?.name ?? "non-plain object"}; expected plain objects only`,
        );
      }
      for (const key of Object.keys(value)) {
        if (FORBIDDEN_KEYS.has(key))
          throw new TypeError(`Invalid meta: forbidden key ${JSON.stringify(key)} at ${path}`);
        checkValue((value as Record<string, unknown>)[key], `${path}.${key}`, depth + 1);
      }
      return;
    }
    default:
      throw new TypeError(`Invalid meta: ${path} is a ${typeof value}; expected JSON values only`);
  }
}

/**
 * `meta` as it will be sent (null for none).
 * @throws {TypeError} for anything that is not a plain JSON object the protocol accepts.
 */
export function checkMeta(meta: unknown): JsonObject | null {
  if (meta === undefined || meta === null) return null;
  if (typeof meta !== "object" || Array.isArray(meta)) {
    throw new TypeError(
      `Invalid meta: expected a plain JSON object, got ${Array.isArray(meta) ? "an array" : typeof meta}`,
    );
  }
  checkValue(meta, "meta", 0);
  return meta as JsonObject;
}

/**
 * Checks that an ARRAY_HEADER for `name`, `dtype`, `shape` and `meta` fits the clients' default
 * cap (the header is encoded once to measure it; offsets do not change its length).
 * @throws {TypeError} when it does not.
 */
export function checkHeaderFits(name: string, dtype: Dtype, shape: readonly number[], meta: JsonObject | null): void {
  const { byteLength } = encodeArrayHeader({
    streamId: 1,
    dtype,
    shape: [...shape],
    totalByteLength: 0,
    rangeByteStart: 0,
    rangeByteEnd: 0,
    firstByteOffset: 0,
    generation: 1,
    checksumAlgorithm: "none",
    name,
    meta,
  });
  if (byteLength > DEFAULT_MAX_CONTROL_BYTES) {
    throw new TypeError(
      `Header of ${JSON.stringify(name.slice(0, 64))} too large: expected at most ${DEFAULT_MAX_CONTROL_BYTES} bytes (clients' default cap), got ${byteLength}; make meta smaller`,
    );
  }
}
