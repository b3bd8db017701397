/**
 * The probe (docs/PROTOCOL.md section 2.4): after a WebSocket failed to open, or an HTTP request
 * got no response at all, ask `GET <path>?probe=1` of the same endpoint, with the same headers
 * and credentials (a token the upgrade carried as a subprotocol goes in an Authorization header),
 * and learn the typed refusal the browser hid. The server answers 200 with the arraywire content
 * type when access is fine, else the same ERROR body a stream would get. In a browser, a probe
 * with headers or cookies needs a CORS preflight, which a server refuses for origins it does not
 * admit: then one plain probe (no headers, no cookies) follows, which still learns an Origin,
 * Host or path problem.
 */
import { decodeMessage, HTTP_CONTENT_TYPE, StreamError } from "../shared/index.ts";
import { type Endpoint, explainRefusal, notArraywireError, type ProbeOutcome } from "./explain.ts";
import { isNodeRuntime } from "./runtime.ts";

/** How to probe: what the failed request carried, and bounds. */
export interface ProbeSettings {
  readonly headers: Record<string, string> | undefined;
  /** Subprotocols the upgrade offered: an `arraywire.token.<t>` becomes `Authorization: Bearer <t>`. */
  readonly protocols: readonly string[] | undefined;
  readonly credentials: RequestCredentials | undefined;
  readonly maxControlByteLength: number;
  /** The probe gives up after this long (it is a failure then). */
  readonly timeoutMs: number;
  readonly signal: AbortSignal | undefined;
}

interface Answer {
  status: number;
  contentType: string;
  body: Uint8Array;
}

/** Where a subprotocol carries a token (server/tokens.ts reads the same prefix). */
const TOKEN_PROTOCOL_PREFIX = "arraywire.token.";

/**
 * Probes `endpoint`. Never rejects, except with the signal's reason when the caller aborts.
 */
export async function probeEndpoint(endpoint: Endpoint, settings: ProbeSettings): Promise<ProbeOutcome> {
  const headers = probeHeaders(settings);
  const url = new URL(endpoint.url);
  url.search = "?probe=1";
  try {
    return classify(await request(url, headers, settings.credentials, settings), endpoint);
  } catch (err) {
    if (settings.signal?.aborted) throw settings.signal.reason;
    const carried = headers !== undefined || settings.credentials === "include";
    if (isNodeRuntime() || !carried) return { kind: "failed", error: err };
    // A preflight (headers) or a credentialed read the server's CORS does not grant this page:
    // a plain probe still learns a refused Origin or Host, or a wrong path.
    try {
      const outcome = classify(await request(url, undefined, "omit", settings), endpoint);
      return outcome.kind === "refused" && outcome.error.code === "E_UNAUTHORIZED"
        ? { kind: "failed", error: err } // expected without the credentials: says nothing
        : outcome;
    } catch {
      if (settings.signal?.aborted) throw settings.signal.reason;
      return { kind: "failed", error: err };
    }
  }
}

function probeHeaders(settings: ProbeSettings): Record<string, string> | undefined {
  const headers = settings.headers ? { ...settings.headers } : {};
  const token = settings.protocols
    ?.find((p) => p.startsWith(TOKEN_PROTOCOL_PREFIX))
    ?.slice(TOKEN_PROTOCOL_PREFIX.length);
  if (token && !Object.keys(headers).some((name) => name.toLowerCase() === "authorization")) {
    headers.Authorization = `Bearer ${token}`;
  }
  return Object.keys(headers).length > 0 ? headers : undefined;
}

function classify(answer: Answer, endpoint: Endpoint): ProbeOutcome {
  if (!answer.contentType.startsWith(HTTP_CONTENT_TYPE)) {
    return { kind: "other", error: notArraywireError(answer.status, answer.contentType, endpoint) };
  }
  if (answer.status === 200) return { kind: "ok" };
  try {
    const message = decodeMessage(answer.body);
    if (message.type === "ERROR") {
      return { kind: "refused", error: explainRefusal(new StreamError(message.code, message.message), endpoint) };
    }
  } catch {
    // Not an ERROR message: reported as the status below.
  }
  return {
    kind: "other",
    error: new StreamError("E_HTTP_STATUS", `HTTP ${answer.status} from the probe without an arraywire error body`),
  };
}

/** One GET: at most `maxControlByteLength` bytes of body are read (a refusal is small; a page may not be). */
async function request(
  url: URL,
  headers: Record<string, string> | undefined,
  credentials: RequestCredentials | undefined,
  settings: ProbeSettings,
): Promise<Answer> {
  const timeout = AbortSignal.timeout(settings.timeoutMs);
  const signal = settings.signal ? AbortSignal.any([settings.signal, timeout]) : timeout;
  return isNodeRuntime()
    ? requestWithNodeHttp(url, headers, signal, settings.maxControlByteLength)
    : requestWithFetch(url, headers, credentials, signal, settings.maxControlByteLength);
}

async function requestWithFetch(
  url: URL,
  headers: Record<string, string> | undefined,
  credentials: RequestCredentials | undefined,
  signal: AbortSignal,
  maxByteLength: number,
): Promise<Answer> {
  const response = await fetch(url, { headers, credentials, signal, cache: "no-store" });
  const chunks: Uint8Array[] = [];
  let byteLength = 0;
  const reader = response.body?.getReader();
  while (reader && byteLength < maxByteLength) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    byteLength += value.byteLength;
  }
  void reader?.cancel().catch(() => {});
  return { status: response.status, contentType: response.headers.get("content-type") ?? "", body: join(chunks) };
}

async function requestWithNodeHttp(
  url: URL,
  headers: Record<string, string> | undefined,
  signal: AbortSignal,
  maxByteLength: number,
): Promise<Answer> {
  // A variable specifier keeps bundlers from pulling node:http into browser builds.
  const specifier = url.protocol === "https:" ? "node:https" : "node:http";
  const http = (await import(/* @vite-ignore */ specifier)) as typeof import("node:http");
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers, signal }, (res) => {
      const chunks: Uint8Array[] = [];
      let byteLength = 0;
      const done = () => {
        res.destroy();
        resolve({
          status: res.statusCode ?? 0,
          contentType: String(res.headers["content-type"] ?? ""),
          body: join(chunks),
        });
      };
      res.on("data", (chunk: Uint8Array) => {
        chunks.push(chunk);
        byteLength += chunk.byteLength;
        if (byteLength >= maxByteLength) done();
      });
      res.on("end", done);
      res.on("error", reject);
    });
    req.on("error", reject);
  });
}

function join(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.byteLength;
  }
  return out;
}
