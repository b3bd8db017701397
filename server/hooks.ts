/**
 * The one place where the server calls code it does not own: the `allowedOrigins` function, the
 * `authenticate` hook, the `log` hook, and array sources. A throw becomes the documented refusal
 * (403, 401, E_INTERNAL), never an unhandled rejection, a hang, or a socket left pending. Errors
 * may hold header values or tokens, so only their class name is logged, never their message.
 *
 * Log lines a peer can cause (refusals, failing sources, bad sockets) are rate-limited per kind:
 * at most LOG_LINES_PER_MINUTE a minute, then one line that says how many were suppressed, so a
 * peer cannot flood the log. No stack traces are logged per request.
 */
import type { IncomingMessage } from "node:http";
import {
  type ChecksumAlgorithm,
  isWireErrorCode,
  type JsonObject,
  ProtocolError,
  StreamError,
  type WireErrorCode,
} from "../shared/index.ts";
import type { ArrayServerOptions } from "./options.ts";
import { isOriginAllowed } from "./origins.ts";
import {
  type ArraySource,
  type CheckedDescription,
  checkDescription,
  type SourceArray,
  type SourceContext,
} from "./sources.ts";
import type { UploadDecision, UploadOptions, UploadRequest, UploadResult } from "./upload-options.ts";

/** How long a source's describe() may take before the listing goes on without it, in ms. */
export const DESCRIBE_TIMEOUT_MS = 5000;

/** Lines of one kind logged per minute before the rest are counted instead. */
export const LOG_LINES_PER_MINUTE = 10;
const MINUTE_MS = 60_000;

/** A refusal or failure as the client sees it: a wire error code and a message. */
export interface ErrorReply {
  code: WireErrorCode;
  message: string;
}

interface LogWindow {
  startedAt: number;
  lines: number;
  suppressed: number;
  timer: ReturnType<typeof setTimeout> | null;
}

/** Name of what was thrown, safe to log (never its message). */
function nameOf(err: unknown): string {
  if (err instanceof Error) return err.name;
  return err === null ? "null" : typeof err;
}

export class Hooks {
  readonly #options: ArrayServerOptions;
  readonly #log: (message: string) => void;
  readonly #windows = new Map<string, LogWindow>();

  constructor(options: ArrayServerOptions, log: (message: string) => void) {
    this.#options = options;
    this.#log = log;
  }

  /** Logs through the user's hook; a throwing hook is ignored (there is nowhere else to report it). */
  log(message: string): void {
    try {
      this.#log(message);
    } catch {
      // The log sink failed: logging that would loop. The refusal or stream goes on regardless.
    }
  }

  /**
   * Logs a line a peer can cause, at most LOG_LINES_PER_MINUTE per `kind` a minute; past that the
   * lines are counted and one "suppressed" line follows when the minute is over.
   */
  logPeer(kind: string, message: string): void {
    const now = performance.now();
    let window = this.#windows.get(kind);
    if (!window || now - window.startedAt >= MINUTE_MS) {
      if (window) this.#flush(kind, window);
      window = { startedAt: now, lines: 0, suppressed: 0, timer: null };
      this.#windows.set(kind, window);
    }
    if (window.lines < LOG_LINES_PER_MINUTE) {
      window.lines++;
      this.log(message);
      return;
    }
    window.suppressed++;
    if (window.timer === null) {
      const w = window;
      w.timer = setTimeout(() => this.#flush(kind, w), MINUTE_MS - (now - w.startedAt));
      w.timer.unref();
    }
  }

  #flush(kind: string, window: LogWindow): void {
    if (window.timer !== null) clearTimeout(window.timer);
    window.timer = null;
    if (window.suppressed > 0) {
      this.log(`${kind}: ${window.suppressed} more lines like this suppressed in the last minute`);
      window.suppressed = 0;
    }
    if (this.#windows.get(kind) === window) this.#windows.delete(kind);
  }

  /** Logs what is still suppressed and stops the timers (server close). */
  dispose(): void {
    for (const [kind, window] of [...this.#windows]) this.#flush(kind, window);
  }

  /** True when `allowedOrigins` is "*": CORS answers `*`, never with credentials. */
  get allowsAnyOrigin(): boolean {
    return this.#options.allowedOrigins === "*";
  }

  /** The Origin check; a throwing `allowedOrigins` function refuses (false). */
  isOriginAllowed(req: IncomingMessage): boolean {
    try {
      return isOriginAllowed(req, this.#options.allowedOrigins) === true;
    } catch (err) {
      this.logPeer("allowedOrigins", `allowedOrigins threw ${nameOf(err)}; the request is refused with 403`);
      return false;
    }
  }

  /**
   * Whether the peer at `address` is a proxy whose X-Forwarded-For to believe (`trustProxy`); a
   * throwing function counts as untrusted (the request is counted under the peer's address).
   */
  isProxyTrusted(trust: (address: string) => boolean, address: string): boolean {
    try {
      return trust(address) === true;
    } catch (err) {
      this.logPeer("trustProxy", `trustProxy threw ${nameOf(err)}; the peer is not trusted`);
      return false;
    }
  }

  /** The authenticate hook (true without one); a throw or rejection refuses (false). */
  async authenticate(req: IncomingMessage): Promise<boolean> {
    const hook = this.#options.authenticate;
    if (!hook) return true;
    try {
      return (await hook(req)) === true;
    } catch (err) {
      // Its error may hold the token: only its class name is logged.
      this.logPeer("authenticate", `authenticate threw ${nameOf(err)}; the request is refused with 401`);
      return false;
    }
  }

  /** Opens an array; a synchronous throw becomes a rejection like an asynchronous one. */
  async openSource(source: ArraySource, params: JsonObject | null, context: SourceContext): Promise<SourceArray> {
    return await source.open(params, context);
  }

  /**
   * What a source says about itself (ArraySource.describe), checked; null when it has no
   * describe(), or when it throws, rejects, answers something invalid or takes longer than
   * DESCRIBE_TIMEOUT_MS (each logged, rate-limited).
   */
  async describeSource(source: ArraySource): Promise<CheckedDescription | null> {
    if (typeof source.describe !== "function") return null;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error("describe() timed out")), DESCRIBE_TIMEOUT_MS);
      });
      const answer = await Promise.race([Promise.resolve().then(() => source.describe?.()), timeout]);
      return checkDescription(answer);
    } catch (err) {
      this.logPeer("describe", `a source's describe() failed (${nameOf(err)}); it is listed without a description`);
      return null;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * The onUpload hook's decision: an object with `into` or `allocate: true`, or false. A throw or
   * rejection is passed on (errorReply turns it into the client's code); an answer of another
   * shape is the hook's bug, a TypeError (E_INTERNAL for the client).
   */
  async decideUpload(hook: UploadOptions["onUpload"], request: UploadRequest): Promise<UploadDecision | false> {
    const decision: unknown = await hook(request);
    if (decision === false) return false;
    const d = decision as Partial<{ into: unknown; allocate: unknown; publish: unknown }> | null;
    const valid =
      typeof d === "object" &&
      d !== null &&
      ("into" in d ? ArrayBuffer.isView(d.into) : d.allocate === true) &&
      (d.publish === undefined || typeof d.publish === "boolean");
    if (!valid) {
      throw new TypeError("onUpload returned an invalid decision: expected false, { into } or { allocate: true }");
    }
    return decision as UploadDecision;
  }

  /** The onUploaded hook, if any; a throw or rejection is passed on (the upload is refused after all). */
  async uploaded(hook: UploadOptions["onUploaded"], result: UploadResult): Promise<void> {
    if (hook) await hook(result);
  }

  /** Calls the array's close(), if any; a throw is logged (rate-limited), never rethrown. */
  closeSource(array: SourceArray): void {
    try {
      array.close?.();
    } catch (err) {
      this.logPeer("E_INTERNAL", `a source's close() threw ${nameOf(err)}`);
    }
  }

  /**
   * The checksum the array offers for a range, or undefined when it offers none (the stream then
   * hashes the bytes it reads). A throw counts as none.
   */
  sourceChecksum(
    array: SourceArray,
    algorithm: ChecksumAlgorithm,
    byteStart: number,
    byteEnd: number,
  ): Promise<number> | undefined {
    try {
      const sum = array.checksum?.(algorithm, byteStart, byteEnd);
      return sum === undefined ? undefined : Promise.resolve(sum);
    } catch (err) {
      this.logPeer("E_INTERNAL", `a source's checksum() threw ${nameOf(err)}; hashing the bytes instead`);
      return undefined;
    }
  }

  /**
   * What to tell the client about a failed request. A StreamError or ProtocolError with a valid
   * code passes as is (a source refusing params, a bad request); anything else is a bug in code
   * the server called: E_INTERNAL, with one rate-limited log line (no stack) naming `what`.
   */
  errorReply(err: unknown, what: string): ErrorReply {
    const code = err instanceof StreamError ? err.wireCode : err instanceof ProtocolError ? err.code : undefined;
    if (isWireErrorCode(code)) return { code, message: err instanceof Error ? err.message : "" };
    const detail = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    this.logPeer("E_INTERNAL", `${what} failed: ${detail.split("\n")[0]?.slice(0, 300)}`);
    return { code: "E_INTERNAL", message: "The array source failed; see the server log" };
  }
}
