/**
 * HTTP/1.1 heads for the Node socket reader: the request head it writes and the response head it
 * parses (RFC 9112). Strict on purpose: a response head that could be read two ways (duplicate
 * Content-Length, Content-Length next to Transfer-Encoding, obs-fold, bare LF) is refused rather
 * than guessed at, as a response-splitting or smuggling attempt would look exactly like that.
 */
import { NodeSocketError } from "./node-socket-error.ts";

/** Longest response head accepted, status line to the blank line included: 64 KiB. */
export const MAX_HEAD_BYTE_LENGTH = 64 * 1024;

/** RFC 9110 token: a header name. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** A header value the request may carry: HTAB, SP, VCHAR, obs-text (so no CR, LF, NUL or DEL). */
const REQUEST_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
/** Headers the reader writes itself; a caller's copy would contradict them. */
const RESERVED_REQUEST_HEADERS = new Set(["connection", "content-length", "transfer-encoding", "upgrade"]);

const STATUS_LINE = /^HTTP\/1\.[01] ([1-9][0-9]{2})(?: [\t\x20-\x7e\x80-\xff]*)?$/;
const HEADER_LINE = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[\t ]*([\t\x20-\x7e\x80-\xff]*?)[\t ]*$/;
const DIGITS = /^[0-9]{1,16}$/;

/** How the response delimits its body (RFC 9112 section 6.3). */
export type BodyFraming =
  | { kind: "none" } // 1xx, 204, 304: no body
  | { kind: "length"; byteLength: number } // Content-Length
  | { kind: "chunked" } // Transfer-Encoding: chunked
  | { kind: "close" }; // neither: the body ends when the server closes the connection

/** A parsed response head. */
export interface ResponseHead {
  status: number;
  /** Lower-case names; a repeated header's values joined with ", ". */
  headers: Record<string, string>;
  framing: BodyFraming;
}

/**
 * The request head of a GET for `url`, with the caller's headers between Host and
 * `Connection: close` (the reader reads one response per connection). A caller's `Host` header
 * replaces the URL's (as node:http allows: a virtual host reached by address).
 * @throws {TypeError} for a header name that is not a token, a value with CR, LF, NUL or another
 *   control character (header injection), or a header the reader sets itself (Connection,
 *   Content-Length, Transfer-Encoding, Upgrade), or Host given twice.
 */
export function encodeRequestHead(url: URL, headers: Record<string, string> = {}): Uint8Array {
  const hosts = Object.keys(headers).filter((name) => name.toLowerCase() === "host");
  if (hosts.length > 1) throw new TypeError(`Request header Host: expected it once, got ${hosts.join(", ")}`);
  const lines = [`GET ${url.pathname || "/"}${url.search} HTTP/1.1`];
  if (hosts.length === 0) lines.push(`Host: ${url.host}`);
  for (const [name, value] of Object.entries(headers)) {
    if (!TOKEN.test(name)) throw new TypeError(`Request header name: expected a token, got ${JSON.stringify(name)}`);
    if (typeof value !== "string" || !REQUEST_VALUE.test(value)) {
      throw new TypeError(
        `Request header ${name}: expected a value without control characters (CR, LF, NUL), got ${JSON.stringify(value)}`,
      );
    }
    if (RESERVED_REQUEST_HEADERS.has(name.toLowerCase())) {
      throw new TypeError(`Request header ${name}: expected a header the reader does not set itself, got ${name}`);
    }
    lines.push(`${name}: ${value}`);
  }
  lines.push("Connection: close", "", "");
  return new Uint8Array(Buffer.from(lines.join("\r\n"), "latin1"));
}

/** Index just past the first CRLF CRLF in `bytes` at or after `from`, or -1. */
export function findHeadEnd(bytes: Uint8Array, from: number): number {
  for (let i = Math.max(0, from); i + 3 < bytes.byteLength; i++) {
    if (bytes[i] === 13 && bytes[i + 1] === 10 && bytes[i + 2] === 13) return i + 4;
  }
  return -1;
}

function badHead(what: string): NodeSocketError {
  return new NodeSocketError("EBADHEAD", `Invalid response head: ${what}`);
}

/**
 * Parses a response head: `bytes` is the head up to and including its blank line.
 * @throws {@link NodeSocketError} EBADHEAD for a malformed status line or header line, a bare LF,
 *   an obs-fold, a duplicate or non-numeric Content-Length, Content-Length with Transfer-Encoding,
 *   a transfer coding other than chunked, or a content coding other than identity.
 */
export function parseResponseHead(bytes: Uint8Array): ResponseHead {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1");
  if (!text.endsWith("\r\n\r\n")) throw badHead("expected it to end with an empty line (CRLF CRLF)");
  const lines = text.slice(0, -4).split("\r\n");
  for (const line of lines) {
    if (line.includes("\n") || line.includes("\r")) throw badHead("expected CRLF line endings, got a bare CR or LF");
  }
  const statusLine = lines[0] as string;
  const status = STATUS_LINE.exec(statusLine);
  if (!status) throw badHead(`expected a status line "HTTP/1.1 <3 digits> <reason>", got ${quote(statusLine)}`);
  // A Map, not an object: a header named __proto__ or constructor is just a header.
  const values = new Map<string, string>();
  const counts = new Map<string, number>();
  for (const line of lines.slice(1)) {
    if (line.startsWith(" ") || line.startsWith("\t"))
      throw badHead(`expected a header line, got an obs-fold ${quote(line)}`);
    const match = HEADER_LINE.exec(line);
    if (!match) throw badHead(`expected "name: value", got ${quote(line)}`);
    const name = (match[1] as string).toLowerCase();
    const value = match[2] as string;
    counts.set(name, (counts.get(name) ?? 0) + 1);
    const previous = values.get(name);
    values.set(name, previous === undefined ? value : `${previous}, ${value}`);
  }
  const headers = Object.fromEntries(values);
  return { status: Number(status[1]), headers, framing: framingOf(Number(status[1]), headers, counts) };
}

function framingOf(status: number, headers: Record<string, string>, counts: Map<string, number>): BodyFraming {
  const encoding = headers["content-encoding"];
  if (encoding !== undefined && encoding.toLowerCase() !== "identity") {
    throw badHead(`expected no content coding (none was asked for), got content-encoding ${quote(encoding)}`);
  }
  if (status < 200 || status === 204 || status === 304) return { kind: "none" };
  const transfer = headers["transfer-encoding"];
  const length = headers["content-length"];
  if (transfer !== undefined) {
    if (length !== undefined) throw badHead("expected Content-Length or Transfer-Encoding, got both");
    if (transfer.toLowerCase() !== "chunked") {
      throw badHead(`expected transfer-encoding "chunked", got ${quote(transfer)}`);
    }
    return { kind: "chunked" };
  }
  if (length === undefined) return { kind: "close" };
  if ((counts.get("content-length") ?? 0) > 1) throw badHead(`expected one Content-Length, got ${quote(length)}`);
  if (!DIGITS.test(length) || Number(length) > Number.MAX_SAFE_INTEGER) {
    throw badHead(`expected Content-Length to be a decimal number up to 2^53 - 1, got ${quote(length)}`);
  }
  return { kind: "length", byteLength: Number(length) };
}

/** A peer's text for an error message: quoted, and cut to 80 characters. */
function quote(text: string): string {
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}...` : text);
}
