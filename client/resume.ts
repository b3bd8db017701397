/**
 * The resume policy of fetchArray: run an attempt; when it fails in a way a new attempt can fix
 * (ReceiveStream#retryable: a lost connection, E_TIMEOUT, E_SHUTDOWN, E_INCOMPLETE, E_BUSY, a
 * load balancer's own 502/503/504 page; never the caller's own error or abort), wait with exponential backoff and jitter, and run the next
 * attempt from the last byte held (the core carries the target over and asks for the rest).
 */
import type { ArrayResult } from "./assembler.ts";
import type { ResumePolicy, StreamRequest } from "./options.ts";
import { ReceiveStream } from "./receive-stream.ts";

/**
 * Receives `request`, starting each attempt with `start` (a transport that feeds the stream and
 * never throws). Without a policy there is one attempt.
 * @throws the last attempt's error; the signal's reason when aborted while waiting.
 */
export async function receiveWithResume(
  request: StreamRequest,
  policy: ResumePolicy | null,
  start: (stream: ReceiveStream) => Promise<void>,
): Promise<ArrayResult> {
  let previous: ReceiveStream | null = null;
  for (let attempt = 0; ; attempt++) {
    const stream: ReceiveStream = new ReceiveStream(request, previous);
    // A transport reports its failures to the stream; this catch is for a bug in one. A stream
    // that failed at once (an aborted signal) starts no I/O.
    if (!stream.done) start(stream).catch((err: unknown) => stream.fail(err));
    try {
      return await stream.promise;
    } catch (err) {
      if (policy === null || !stream.retryable || attempt >= policy.attempts) throw err;
      previous = stream;
    }
    const delay = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** attempt);
    await sleep(delay * (0.5 + Math.random() / 2), request.signal);
  }
}

/** Waits `ms`; rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
