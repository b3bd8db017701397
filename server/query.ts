/**
 * An HTTP stream request's query parameters read as a REQUEST message, so that the HTTP
 * transport goes through the same validation (plan.ts) as a WebSocket REQUEST.
 */
import {
  CHECKSUM_ALGORITHMS,
  type ChecksumAlgorithm,
  elementRangeProblem,
  nameLengthProblem,
  parseJsonObject,
  type RequestMessage,
  StreamError,
} from "../shared/index.ts";

/** A non-negative decimal integer; anything else (1.5, 1e3, -1, abc) stays the text it was. */
function decimal(text: string): number | string {
  return /^\d+$/.test(text) ? Number(text) : text;
}

function parseCount(query: URLSearchParams, key: string): number | undefined {
  const text = query.get(key);
  if (text === null) return undefined;
  const value = decimal(text);
  if (typeof value !== "number" || !Number.isSafeInteger(value)) {
    throw new StreamError(
      "E_BAD_REQUEST",
      `Invalid ${key}: expected a non-negative integer, got ${JSON.stringify(text)}`,
    );
  }
  return value;
}

/**
 * The element range, or null for the whole array.
 * @throws {@link StreamError} E_BAD_RANGE for one bound without the other, or bounds that are not
 *   non-negative safe integers with start <= end (the array's length is checked later, in plan.ts).
 */
function parseRange(query: URLSearchParams): RequestMessage["range"] {
  const startText = query.get("start");
  const endText = query.get("end");
  if (startText === null && endText === null) return null;
  const start = startText === null ? undefined : decimal(startText);
  const end = endText === null ? undefined : decimal(endText);
  const problem = elementRangeProblem(start, end);
  if (problem !== null) throw new StreamError("E_BAD_RANGE", problem);
  return { elementStart: start as number, elementEnd: end as number };
}

function parseChecksum(text: string | null): ChecksumAlgorithm {
  if (text === null) return "none";
  if (!Object.hasOwn(CHECKSUM_ALGORITHMS, text)) {
    throw new StreamError(
      "E_BAD_REQUEST",
      `Invalid checksum: expected one of ${Object.keys(CHECKSUM_ALGORITHMS).join(", ")}, got ${JSON.stringify(text)}`,
    );
  }
  return text as ChecksumAlgorithm;
}

/**
 * Reads a request from query parameters: `name` (required), `params` (JSON object), `start` and
 * `end` (element range), `resume` (byte offset in the range), `generation`, `checksum`
 * (xxh32, crc32c or none; default none), `compress` (zstd: a `Content-Encoding: zstd` body when the
 * request's Accept-Encoding allows it).
 * @throws {@link StreamError} E_BAD_REQUEST, E_BAD_RANGE, or a ProtocolError E_BAD_JSON for `params`.
 */
export function requestFromQuery(query: URLSearchParams): RequestMessage {
  const name = query.get("name");
  if (!name) throw new StreamError("E_BAD_REQUEST", "Invalid request: expected a name parameter");
  const problem = nameLengthProblem(new TextEncoder().encode(name).byteLength);
  if (problem !== null) throw new StreamError("E_BAD_REQUEST", problem);
  const params = query.get("params");
  const generation = parseCount(query, "generation");
  const compress = query.get("compress");
  if (compress !== null && compress !== "zstd") {
    throw new StreamError("E_BAD_REQUEST", `Invalid compress: expected "zstd", got ${JSON.stringify(compress)}`);
  }
  const request: RequestMessage = {
    type: "REQUEST",
    streamId: 1,
    name,
    params: params === null ? null : parseJsonObject(params, "params"),
    chunkByteLength: 0,
    range: parseRange(query),
    resumeByteOffset: parseCount(query, "resume") ?? 0,
    creditByteLength: 0,
    expectedGeneration: generation ?? null,
    checksum: parseChecksum(query.get("checksum")),
  };
  if (compress !== null) request.codecs = ["zstd"];
  return request;
}
