/**
 * HTTP ranges of an HTTP stream's body (RFC 9110 §14): the body (ARRAY_HEADER, the range's raw
 * bytes, END) is one representation, with a strong ETag, and `Range: bytes=...` selects bytes of
 * it. One range gets 206; several are ignored (200, the whole body, as §14.2 allows) unless none
 * is satisfiable (416); a Range that does not parse, or names another unit, is ignored (§14.2);
 * `If-Range` with anything but this representation's ETag (strong comparison, §13.1.5; dates
 * never match: there is no Last-Modified) makes the server ignore Range.
 */
import { type JsonObject, xxh32 } from "../shared/index.ts";
import { canonicalKey } from "./open-sources.ts";

/** What to send for a request's Range header. */
export type RangeChoice =
  | { kind: "full" }
  /** Body bytes [start, end) (end exclusive; RFC 9110 writes `start-(end - 1)`). */
  | { kind: "partial"; start: number; end: number }
  | { kind: "unsatisfiable" };

/** A decimal of 1+ digits; longer than 15 digits is past any body length (Infinity). */
function position(text: string): number {
  return text.length > 15 ? Number.POSITIVE_INFINITY : Number(text);
}

/** One byte-range-spec as [start, end) within `length`, null when unsatisfiable, undefined when invalid. */
function rangeOf(spec: string, length: number): [number, number] | null | undefined {
  const m = /^(\d*)-(\d*)$/.exec(spec);
  if (!m || (m[1] === "" && m[2] === "")) return undefined;
  const [, firstText = "", lastText = ""] = m;
  if (firstText === "") {
    // suffix-range: the last n bytes; "-0" is unsatisfiable.
    const suffix = position(lastText);
    return suffix === 0 ? null : [Math.max(0, length - suffix), length];
  }
  const first = position(firstText);
  const last = lastText === "" ? Number.POSITIVE_INFINITY : position(lastText);
  if (last < first) return undefined; // invalid (§14.1.1)
  if (first >= length) return null;
  return [first, Math.min(last, length - 1) + 1];
}

/**
 * What to send for `range` (the Range header, undefined for none) of a body of `length` bytes.
 * Never throws: a malformed header is ignored.
 */
export function chooseRange(range: string | undefined, length: number): RangeChoice {
  if (range === undefined) return { kind: "full" };
  const eq = range.indexOf("=");
  if (eq < 0 || range.slice(0, eq).trim().toLowerCase() !== "bytes") return { kind: "full" };
  // range-set = 1#range-spec: commas with optional whitespace, empty elements allowed.
  const specs = range
    .slice(eq + 1)
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  if (specs.length === 0) return { kind: "full" };
  const ranges: ([number, number] | null)[] = [];
  for (const spec of specs) {
    const r = rangeOf(spec, length);
    if (r === undefined) return { kind: "full" };
    ranges.push(r);
  }
  const satisfiable = ranges.filter((r): r is [number, number] => r !== null);
  if (satisfiable.length === 0) return { kind: "unsatisfiable" };
  if (ranges.length > 1) return { kind: "full" }; // multipart/byteranges is not offered
  const [start, end] = satisfiable[0] as [number, number];
  return { kind: "partial", start, end };
}

/**
 * True when Range applies: no If-Range, or an If-Range that is exactly `etag` (a strong
 * comparison: a weak tag `W/"..."` or an HTTP-date never matches).
 */
export function ifRangeHolds(ifRange: string | undefined, etag: string): boolean {
  return ifRange === undefined || ifRange.trim() === etag;
}

/** What identifies a representation besides the generation: the request's own fields. */
export interface RepresentationKey {
  name: string;
  params: JsonObject | null;
  range: { elementStart: number; elementEnd: number } | null;
  checksum: string;
}

/**
 * The strong ETag of a whole (not resumed) HTTP stream body: `"aw1-<generation>-<request>"`,
 * 8 hex digits each, the second an XXH32 of the name, the canonical params (key order does not
 * matter), the element range and the checksum algorithm. Every server that gives the array the
 * same generation sends the same bytes, and the same ETag.
 */
export function representationTag(key: RepresentationKey, generation: number): string {
  const range = key.range === null ? "" : `${key.range.elementStart}-${key.range.elementEnd}`;
  const text = `${key.name}\0${canonicalKey(key.params)}\0${range}\0${key.checksum}`;
  const hex = (n: number) => (n >>> 0).toString(16).padStart(8, "0");
  return `"aw1-${hex(generation)}-${hex(xxh32(new TextEncoder().encode(text)))}"`;
}
