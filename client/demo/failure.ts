/**
 * Turns what a failed run rejected with into what the error panel shows: a stable code (the
 * StreamError/ProtocolError `code`, else the error's name, such as "AbortError" or "RangeError"),
 * the message, and a hint about what to do next.
 */
import { ProtocolError, StreamError } from "../index.ts";
import { formatMegabytes } from "./format.ts";

/** What the error panel shows. */
export interface FailureView {
  code: string;
  message: string;
  hint: string;
}

/** Facts about the run that make the hints concrete. */
export interface FailureContext {
  receivedByteLength: number;
  expectedByteLength: number;
  /** Names the server publishes, when known. */
  publishedNames: readonly string[];
}

/** Code, message and hint for `err`. */
export function describeFailure(err: unknown, context: FailureContext): FailureView {
  const code = errorCode(err);
  return { code, message: err instanceof Error ? err.message : String(err), hint: hintFor(code, context) };
}

function errorCode(err: unknown): string {
  if (err instanceof StreamError || err instanceof ProtocolError) return err.code;
  if (err instanceof Error || err instanceof DOMException) return err.name;
  return "Error";
}

function hintFor(code: string, context: FailureContext): string {
  switch (code) {
    case "AbortError":
      return `Stopped after ${formatMegabytes(context.receivedByteLength)} of ${formatMegabytes(context.expectedByteLength)} MB. Press Start to run it again.`;
    case "E_UNKNOWN_NAME":
      return context.publishedNames.length > 0
        ? `This server publishes: ${context.publishedNames.join(", ")}. Names are case-sensitive.`
        : "No array is published under that name. Names are case-sensitive.";
    case "E_TOO_LARGE":
      return "The array is bigger than the client limit (maxBytes). Raise the limit or pick fewer elements.";
    case "E_ALLOCATION_FAILED":
      return "The browser refused a buffer this large, so nothing was downloaded. Pick fewer elements or a narrower dtype (Chromium grants one buffer of up to about 16 GiB, and the tab needs the memory).";
    case "E_BAD_REQUEST":
      return "The server's arange source refused these parameters.";
    case "E_CONNECTION_CLOSED":
      return "The connection closed before the array was complete. Is the demo server (npm start) still running?";
    case "E_SHUTDOWN":
      return "The server is shutting down.";
    case "RangeError":
      return "The browser could not allocate a buffer this large. Pick fewer elements or a narrower dtype.";
    default:
      return "";
  }
}
