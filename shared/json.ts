/**
 * Strict JSON for the protocol's JSON parts (REQUEST params, ARRAY_HEADER meta).
 * JSON.parse alone accepts duplicate keys (last one wins) and `__proto__` keys, which let a peer
 * smuggle a value past a check that read the first one, or reach an object's prototype after a
 * careless merge. Both are refused here.
 */
import { ProtocolError } from "./errors.ts";

/** A JSON object as decoded from the wire: a plain object with no prototype keys. */
export type JsonObject = { [key: string]: JsonValue };
/** Any JSON value. */
export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;

/** Keys refused anywhere in a JSON part. */
const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(["__proto__", "constructor", "prototype"]);

/** Deepest nesting accepted, so a hostile part cannot exhaust the stack. */
export const MAX_JSON_DEPTH = 32;

/**
 * Parses `text` as a JSON object, refusing duplicate keys, `__proto__` / `constructor` /
 * `prototype` keys, nesting deeper than {@link MAX_JSON_DEPTH}, and any top level but an object.
 * @throws {@link ProtocolError} `E_BAD_JSON`.
 */
export function parseJsonObject(text: string, what: string): JsonObject {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new ProtocolError("E_BAD_JSON", `Invalid ${what}: not JSON (${(cause as Error).message})`, { cause });
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new ProtocolError("E_BAD_JSON", `Invalid ${what}: expected a JSON object, got ${describeValue(value)}`);
  }
  checkKeys(text, what);
  return value as JsonObject;
}

function describeValue(value: unknown): string {
  return value === null ? "null" : Array.isArray(value) ? "an array" : typeof value;
}

/**
 * Walks the (already valid) JSON text once, tracking the keys of each open object.
 * A string token directly followed by ':' is a key.
 */
function checkKeys(text: string, what: string): void {
  const stack: (Set<string> | null)[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text.charCodeAt(i);
    if (ch === 0x7b /* { */ || ch === 0x5b /* [ */) {
      stack.push(ch === 0x7b ? new Set() : null);
      if (stack.length > MAX_JSON_DEPTH) {
        throw new ProtocolError(
          "E_BAD_JSON",
          `Invalid ${what}: nesting too deep: expected at most ${MAX_JSON_DEPTH} levels`,
        );
      }
      i++;
    } else if (ch === 0x7d /* } */ || ch === 0x5d /* ] */) {
      stack.pop();
      i++;
    } else if (ch === 0x22 /* " */) {
      let j = i + 1;
      // Bounded by the length too, though JSON.parse already proved every string terminated.
      while (j < text.length && text.charCodeAt(j) !== 0x22) j += text.charCodeAt(j) === 0x5c /* \ */ ? 2 : 1;
      const end = j + 1;
      let k = end;
      while (k < text.length && /\s/.test(text[k] as string)) k++;
      const keys = stack[stack.length - 1];
      if (keys && text.charCodeAt(k) === 0x3a /* : */) {
        const key = JSON.parse(text.slice(i, end)) as string;
        if (FORBIDDEN_KEYS.has(key)) {
          throw new ProtocolError("E_BAD_JSON", `Invalid ${what}: forbidden key ${JSON.stringify(key)}`);
        }
        if (keys.has(key)) {
          throw new ProtocolError("E_BAD_JSON", `Invalid ${what}: duplicate key ${JSON.stringify(key)}`);
        }
        keys.add(key);
      }
      i = end;
    } else {
      i++;
    }
  }
}
