/**
 * The messages between fetchArrayInWorker (the page) and serveArrayFetches (a dedicated worker),
 * and how errors cross: structured clone keeps only a few error classes' identity, so errors go as
 * plain records (class name, code, message, stream id, cause) and are rebuilt on the page as the
 * same classes: a StreamError stays a StreamError with its code and message. Every message type
 * starts with "arraywire:", so a worker can carry other messages of its own.
 *
 * Page -> worker: `fetch` (one request, with the options that can be cloned and which callbacks
 * the page wants reports for) and `abort`. Worker -> page, per request id: `accepted` (the worker
 * runs arraywire), `progress`, `chunk` (onChunk: on a shared target the range only, with the
 * target on the first one; otherwise a copy of the elements, transferred), `warning`, and one of
 * `done` (the result, its ArrayBuffer transferred: no copy) or `error`.
 */
import { ProtocolError, type ProtocolErrorCode, StreamError, type TypedArray } from "../shared/index.ts";
import type { ArrayResult } from "./assembler.ts";
import type { FetchArrayOptions } from "./index.ts";
import type { Progress } from "./progress.ts";

/** fetchArray's options that can be sent to a worker (callbacks and the signal stay on the page). */
export type SentOptions = Omit<FetchArrayOptions, "onProgress" | "onChunk" | "onWarning" | "signal" | "WebSocket">;

/** How onChunk reports cross: "shared" (a SharedArrayBuffer target both threads see) or "copy". */
export type ChunkMode = "shared" | "copy";

/** What the page wants the worker to report. */
export interface Reports {
  progress: boolean;
  warnings: boolean;
  /** null: no onChunk. */
  chunks: ChunkMode | null;
  /**
   * "shared" chunks: one BigInt64 cell the worker stores the complete element count in
   * (Atomics.store) before it posts a chunk; the page loads it (Atomics.load) before it reads the
   * elements, which orders the worker's writes before the page's reads.
   */
  cell: BigInt64Array | null;
}

export type ToWorker =
  | { type: "arraywire:fetch"; id: string; url: string; name: string; options: SentOptions; reports: Reports }
  | { type: "arraywire:abort"; id: string };

export type FromWorker =
  | { type: "arraywire:accepted"; id: string }
  | { type: "arraywire:progress"; id: string; progress: Progress }
  | {
      type: "arraywire:chunk";
      id: string;
      elementStart: number;
      elementEnd: number;
      /** "copy" mode: the elements of [elementStart, elementEnd), their own buffer transferred. */
      values?: TypedArray;
      /** "shared" mode, first chunk of a `shared: true` target: the target (its memory is shared). */
      array?: TypedArray;
    }
  | { type: "arraywire:warning"; id: string; message: string }
  | { type: "arraywire:done"; id: string; result: ArrayResult }
  | { type: "arraywire:error"; id: string; error: SentError };

/** An error as it crosses (see the module comment). */
export interface SentError {
  /** "StreamError", "ProtocolError", "TypeError", "RangeError", "DOMException" or "Error". */
  kind: string;
  name: string;
  message: string;
  code?: string;
  streamId?: number;
  cause?: SentError;
}

/** True for a message of this protocol (a worker may carry others). */
export function isArraywireMessage(data: unknown): data is { type: string; id: string } {
  return (
    data !== null &&
    typeof data === "object" &&
    typeof (data as { type?: unknown }).type === "string" &&
    (data as { type: string }).type.startsWith("arraywire:") &&
    typeof (data as { id?: unknown }).id === "string"
  );
}

/** `error` as a record that structured clone keeps whole; causes are kept 4 deep. */
export function sendableError(error: unknown, depth = 0): SentError {
  if (!(error instanceof Error) && !isDomException(error)) {
    return { kind: "Error", name: "Error", message: String(error) };
  }
  const e = error as Error & { code?: unknown; streamId?: unknown };
  const kind =
    e instanceof StreamError
      ? "StreamError"
      : e instanceof ProtocolError
        ? "ProtocolError"
        : isDomException(e)
          ? "DOMException"
          : e instanceof TypeError
            ? "TypeError"
            : e instanceof RangeError
              ? "RangeError"
              : "Error";
  const sent: SentError = { kind, name: e.name, message: e.message };
  if (typeof e.code === "string") sent.code = e.code;
  if (typeof e.streamId === "number") sent.streamId = e.streamId;
  if (e.cause !== undefined && depth < 4) sent.cause = sendableError(e.cause, depth + 1);
  return sent;
}

/** The error `sent` describes, as the same class (see the module comment). */
export function receivedError(sent: SentError): Error {
  const options = sent.cause === undefined ? undefined : { cause: receivedError(sent.cause) };
  switch (sent.kind) {
    case "StreamError":
      return new StreamError(sent.code ?? "E_INTERNAL", sent.message, sent.streamId ?? 0, options);
    case "ProtocolError":
      return new ProtocolError((sent.code ?? "E_UNEXPECTED_MESSAGE") as ProtocolErrorCode, sent.message, options);
    case "TypeError":
      return new TypeError(sent.message, options);
    case "RangeError":
      return new RangeError(sent.message, options);
    case "DOMException":
      return new DOMException(sent.message, sent.name);
    default: {
      const error = new Error(sent.message, options);
      if (sent.name !== "Error") error.name = sent.name;
      return error;
    }
  }
}

function isDomException(error: unknown): error is DOMException {
  return typeof DOMException === "function" && error instanceof DOMException;
}
