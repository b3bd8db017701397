/**
 * Readers of an HTTP body into caller-provided memory, one per kind of body:
 * - {@link byobReader}: a fetch body read with a BYOB reader (browsers). Each read transfers the
 *   buffer of the view it fills and resolves with a view of the same memory on a new ArrayBuffer;
 *   a read that fails never gives its buffer back (the pull-into is discarded).
 * - {@link chunkReader}: a fetch body without byte-stream support, copied from its chunks.
 * (Node's reader, over a raw socket, is in client/http-node.ts.)
 * Failures of the connection (fetch's TypeError "network error" / "terminated") reject with
 * StreamError E_CONNECTION_CLOSED, the original as `cause`. A window that breaks a
 * reader's preconditions (empty or detached) is a client bug and throws a RangeError before any
 * read, so it is never mistaken for a lost connection (and retried).
 */
import { StreamError } from "../shared/index.ts";
import { quietly } from "./guard.ts";

/** Reads a body into caller-provided memory. */
export interface ByteReader {
  /**
   * Reads at least one byte into `view` (non-empty) and resolves with the filled part, which may
   * sit on a new ArrayBuffer ({@link transfers}); an empty view means the body ended.
   * @throws {RangeError} for an empty or detached `view`.
   * @throws {@link StreamError} E_CONNECTION_CLOSED when the connection fails.
   */
  read(view: Uint8Array): Promise<Uint8Array>;
  /** True when a read transfers (detaches) the buffer of the view it fills: BYOB. */
  readonly transfers: boolean;
  /**
   * True when each read fills its whole view (shorter only where the body ends, or just before a
   * failure, which the next read then reports) and several reads may be pending, filled in call
   * order: the caller can keep the next window pending (Node's socket reader).
   */
  readonly fills?: boolean;
  /** Filling readers: bytes a pending read of `view` already holds (see SocketReader#filledByteLength). */
  filledByteLength?(view: Uint8Array): number;
  /** Stops reading and releases the connection; never throws. */
  cancel(): void;
}

const EMPTY = new Uint8Array(0);

function connectionLost(err: unknown): StreamError {
  const what = err instanceof Error ? err.message : String(err);
  return new StreamError("E_CONNECTION_CLOSED", `Connection lost: ${what}`, 1, { cause: err });
}

function checkWindow(view: Uint8Array): void {
  if (view.byteLength === 0) {
    throw new RangeError("read: expected a non-empty window, got 0 bytes (a detached or empty view)");
  }
}

/** A fetch body: BYOB when it is a byte stream, else {@link chunkReader} over its default reader. */
export function byobReader(body: ReadableStream<Uint8Array>): ByteReader {
  let reader: ReadableStreamBYOBReader;
  try {
    reader = body.getReader({ mode: "byob" });
  } catch {
    // Not a byte stream (an older runtime): copy from the default reader's chunks.
    const chunks = body.getReader();
    return chunkReader(
      async () => {
        const { value, done } = await chunks.read();
        return done || !value ? null : value;
      },
      () => quietly(() => chunks.cancel()),
    );
  }
  return {
    async read(view) {
      checkWindow(view);
      let result: ReadableStreamReadResult<Uint8Array>;
      try {
        result = await reader.read(view as Uint8Array<ArrayBuffer>);
      } catch (err) {
        throw connectionLost(err);
      }
      // `value` is undefined after a cancel: the view's memory is gone with it.
      return result.value ?? EMPTY;
    },
    transfers: true,
    cancel: () => quietly(() => reader.cancel()),
  };
}

/** Copies from a queue of chunks (`next` resolves null at the end) into the caller's views: one copy per byte. */
export function chunkReader(next: () => Promise<Uint8Array | null>, cancel: () => void): ByteReader {
  let rest: Uint8Array = EMPTY;
  return {
    async read(view) {
      checkWindow(view);
      if (rest.byteLength === 0) {
        let chunk: Uint8Array | null;
        try {
          chunk = await next();
        } catch (err) {
          throw connectionLost(err);
        }
        if (chunk === null) return EMPTY;
        rest = chunk;
      }
      const n = Math.min(rest.byteLength, view.byteLength);
      view.set(n === rest.byteLength ? rest : rest.subarray(0, n));
      rest = rest.subarray(n);
      return view.subarray(0, n);
    },
    transfers: false,
    cancel,
  };
}
