/**
 * recv_into for Node: reads one HTTP/1.1 response from a raw socket with the `onread` option of
 * `net.connect` / `tls.connect`, whose `buffer` function names the memory the next read lands in.
 * The head is read into a small buffer; body bytes then land straight in the caller's views.
 *
 * Windows. libuv asks for a buffer before each read, and Node takes the one for the next read from
 * the `buffer` function right after each read's callback, so the reader decides at every callback
 * where the next read goes:
 * - a pending readInto view (its unfilled part, capped at the body bytes left): no copy;
 * - otherwise scratch: first a 1-byte read (if the caller comes straight back with its next view,
 *   one byte is copied, not a whole read), then the rest of a 64 KiB read-ahead buffer; what lands
 *   there is queued and copied into the next views. With the read-ahead full the socket pauses.
 * A zero-length buffer is never handed out: libuv fails such a read with ENOBUFS.
 *
 * readInto resolves once its view is full, or shorter only at the end of the body (then the next
 * read resolves empty) or before an error (then the next read rejects). Several reads may be pending:
 * they fill in call order, so a caller that always keeps a second view pending never has body bytes
 * go through scratch, except those that arrived with the head.
 */
import type { Socket } from "node:net";
import { ChunkedDecoder } from "./http1-chunked.ts";
import {
  type BodyFraming,
  findHeadEnd,
  MAX_HEAD_BYTE_LENGTH,
  parseResponseHead,
  type ResponseHead,
} from "./http1-head.ts";
import { fromSocketError, NodeSocketError } from "./node-socket-error.ts";

/** Reads bytes into caller memory; the transport-agnostic stream core drives it. */
export interface ByteReader {
  /**
   * Fills the start of `view` with the next body bytes and resolves with the filled part (a view
   * of the same memory): all of `view`, shorter only where the body ends or fails, empty after the end.
   */
  readInto(view: Uint8Array): Promise<Uint8Array>;
  /**
   * Bytes a pending read of `view` has put at its start so far: 0 unless `view` is the first
   * pending read's own view. Lets a caller that gives up on a read (a timeout) keep what arrived.
   */
  filledByteLength(view: Uint8Array): number;
  /** Never detaches the caller's buffer. */
  readonly transfers: false;
  /** Closes the connection; pending and later reads reject with CANCELED. Idempotent. */
  cancel(): void;
}

/** Counters of where body bytes went; what the tests and the probe read. */
export interface SocketReaderStats {
  /** Body bytes read straight into caller views. */
  directByteLength: number;
  /** Body bytes that landed in the head buffer or scratch and were copied into views. */
  copiedByteLength: number;
  /** Times the socket paused because no view was pending and the read-ahead was full. */
  pauseCount: number;
  /** Socket reads (onread callbacks), head included. */
  readCount: number;
}

/** Reads while the head is incomplete: small, so few body bytes land in the head buffer. */
const HEAD_READ_BYTE_LENGTH = 1024;
/** Reads while chunked framing comes next and a view is pending: the size line, then data goes direct. */
const FRAMING_READ_BYTE_LENGTH = 16;
/**
 * Most bytes one read asks for: 1 GiB. Linux caps a read at 2 GiB - 4 KiB anyway, and macOS fails a
 * read of more than INT_MAX bytes with EINVAL, which a window over a 4 GB array would ask for.
 */
export const MAX_READ_BYTE_LENGTH = 1024 * 1024 * 1024;
/** Default read-ahead (scratch) for bytes that arrive while no view is pending: 64 KiB. */
export const DEFAULT_READ_AHEAD_BYTE_LENGTH = 64 * 1024;

const HEAD = 0;
const VIEW = 1;
const SCRATCH = 2;
const DISCARD = 3;

interface PendingRead {
  view: Uint8Array;
  filled: number;
  /** readSome: resolves with the first bytes, not a full view. */
  some: boolean;
  resolve: (filled: Uint8Array) => void;
  reject: (err: Error) => void;
}

/** The ByteReader of one response; {@link requestRaw} creates it, hands `onread` to the socket, then attaches it. */
export class SocketReader implements ByteReader {
  readonly transfers = false as const;
  /** The `onread` option for `net.connect` / `tls.connect`. */
  readonly onread = {
    buffer: (): Uint8Array => this.#next,
    callback: (byteLength: number, buffer: Uint8Array): boolean => this.#onRead(byteLength, buffer),
  };
  /** Resolves with the final (non-1xx) response head. */
  readonly head: Promise<ResponseHead>;
  readonly stats: SocketReaderStats = { directByteLength: 0, copiedByteLength: 0, pauseCount: 0, readCount: 0 };
  #socket: Socket | null = null;
  #resolveHead!: (head: ResponseHead) => void;
  #rejectHead!: (err: Error) => void;
  #headBytes: Uint8Array | null = new Uint8Array(MAX_HEAD_BYTE_LENGTH);
  #headByteLength = 0;
  #framing: BodyFraming | null = null;
  #chunked: ChunkedDecoder | null = null;
  /** Body bytes of a Content-Length body not read from the socket yet. */
  #unreadByteLength = Number.POSITIVE_INFINITY;
  #next: Uint8Array;
  #nextKind = HEAD;
  #lastKind = HEAD;
  readonly #scratch: Uint8Array;
  #scratchUsed = 0;
  #nextInScratch = false;
  readonly #queue: Uint8Array[] = [];
  #queuedByteLength = 0;
  readonly #reads: PendingRead[] = [];
  #paused = false;
  #flushScheduled = false;
  /** Every body byte has been read from the socket (some may still be queued). */
  #ended = false;
  #failure: NodeSocketError | null = null;
  /** Whether bytes received before the failure are still delivered (a cut connection: yes; abort: no). */
  #failureKeepsData = false;
  readonly #onData: (() => void) | undefined;

  /**
   * @param readAheadByteLength scratch for bytes arriving while no read is pending; defaults to 64 KiB.
   * @param onData called after each socket read that brought bytes (see RequestRawOptions.onData).
   */
  constructor(readAheadByteLength = DEFAULT_READ_AHEAD_BYTE_LENGTH, onData?: () => void) {
    if (!Number.isSafeInteger(readAheadByteLength) || readAheadByteLength < 1) {
      throw new RangeError(`readAheadByteLength: expected an integer >= 1, got ${readAheadByteLength}`);
    }
    this.#scratch = new Uint8Array(readAheadByteLength);
    this.#onData = onData;
    this.#next = this.#scratch; // replaced at once by the head's first window
    this.#plan();
    this.head = new Promise((resolve, reject) => {
      this.#resolveHead = resolve;
      this.#rejectHead = reject;
    });
    this.head.catch(() => {}); // requestRaw awaits it; this keeps a failure before that from being unhandled
  }

  /** Takes ownership of the socket created with {@link onread}. */
  attach(socket: Socket, connectEvent: "connect" | "secureConnect"): void {
    this.#socket = socket;
    let connected = false;
    socket.once(connectEvent, () => {
      connected = true;
    });
    socket.on("error", (err) => this.#fail(fromSocketError(err, connected), true));
    socket.on("end", () => this.#onEnd());
    socket.on("close", () => {
      if (!this.#ended) this.#fail(new NodeSocketError("EINCOMPLETE", "The connection closed early"), true);
    });
  }

  readInto(view: Uint8Array): Promise<Uint8Array> {
    return this.#read(view, false, "readInto");
  }

  /**
   * Like readInto, but resolves as soon as a socket read put bytes straight into `view`, or, for
   * bytes copied from the read-ahead, once the socket reads of this event-loop turn are done: at
   * least 1 byte, the rest of the view left as it was; empty after the end. Each socket read is
   * offered all of the view that is left, so reads stay as large as the view.
   */
  readSome(view: Uint8Array): Promise<Uint8Array> {
    return this.#read(view, true, "readSome");
  }

  /** Resolves a readSome that holds bytes copied from the read-ahead (see #settle). */
  #flushSome(): void {
    this.#flushScheduled = false;
    const read = this.#reads[0];
    if (read?.some && read.filled > 0) {
      this.#reads.shift();
      read.resolve(read.view.subarray(0, read.filled));
    }
  }

  #read(view: Uint8Array, some: boolean, what: string): Promise<Uint8Array> {
    if (!(view instanceof Uint8Array)) throw new TypeError(`${what}: expected a Uint8Array, got ${typeof view}`);
    if (view.byteLength === 0) throw new RangeError(`${what}: expected a view of at least 1 byte, got 0 bytes`);
    return new Promise((resolve, reject) => {
      this.#reads.push({ view, filled: 0, some, resolve, reject });
      this.#settle();
      if (this.#paused && this.#reads.length > 0 && !this.#ended && !this.#failure) {
        this.#paused = false;
        this.#socket?.resume(); // net.Socket#resume restarts reading for an onread socket
      }
    });
  }

  filledByteLength(view: Uint8Array): number {
    const first = this.#reads[0];
    return first !== undefined && first.view === view ? first.filled : 0;
  }

  cancel(): void {
    this.#fail(new NodeSocketError("CANCELED", "The read was cancelled"), false);
  }

  /** Fails the reader with ABORTED (unless every body byte was already delivered). */
  abort(reason: unknown): void {
    if (this.#ended && this.#queuedByteLength === 0) return;
    this.#fail(new NodeSocketError("ABORTED", "The request was aborted", { cause: reason }), false);
  }

  /** The socket's `onread` callback: accounts for the read, then plans where the next one lands. */
  #onRead(byteLength: number, buffer: Uint8Array): boolean {
    try {
      if (this.#ended || this.#failure) return this.#plan(); // the socket is being destroyed
      this.stats.readCount++;
      if (byteLength > 0) this.#onData?.();
      const kind = this.#nextKind;
      this.#lastKind = kind;
      if (kind === HEAD) this.#onHeadBytes(byteLength);
      else if (kind === VIEW) this.#onViewBytes(byteLength);
      else if (kind === SCRATCH) {
        if (this.#nextInScratch) this.#scratchUsed += byteLength;
        this.#consume(buffer.subarray(0, byteLength));
      }
      this.#settle();
    } catch (err) {
      this.#fail(
        err instanceof NodeSocketError ? err : new NodeSocketError("ESOCKET", String(err), { cause: err }),
        false,
      );
    }
    return this.#plan();
  }

  #onHeadBytes(byteLength: number): void {
    const bytes = this.#headBytes as Uint8Array;
    const before = this.#headByteLength;
    this.#headByteLength += byteLength;
    let end = findHeadEnd(bytes.subarray(0, this.#headByteLength), before - 3);
    while (end >= 0) {
      const head = parseResponseHead(bytes.subarray(0, end));
      if (head.status >= 200 || head.status === 101) {
        this.#startBody(head, bytes.subarray(end, this.#headByteLength));
        return;
      }
      // An interim 1xx response (RFC 9110 section 15.2): skip it; the final one follows.
      bytes.copyWithin(0, end, this.#headByteLength);
      this.#headByteLength -= end;
      end = findHeadEnd(bytes.subarray(0, this.#headByteLength), 0);
    }
    if (this.#headByteLength >= MAX_HEAD_BYTE_LENGTH) {
      throw new NodeSocketError("EBADHEAD", `Invalid response head: expected at most ${MAX_HEAD_BYTE_LENGTH} bytes`);
    }
  }

  #startBody(head: ResponseHead, rest: Uint8Array): void {
    this.#framing = head.framing;
    if (head.framing.kind === "length") this.#unreadByteLength = head.framing.byteLength;
    else if (head.framing.kind === "none") this.#unreadByteLength = 0;
    else if (head.framing.kind === "chunked") this.#chunked = new ChunkedDecoder();
    this.#headBytes = null; // rest stays alive through the queue alone
    this.#resolveHead(head);
    if (head.framing.kind === "length" || head.framing.kind === "none") this.#checkLengthEnded();
    if (rest.byteLength > 0 && !this.#ended) this.#consume(rest);
  }

  #onViewBytes(byteLength: number): void {
    const read = this.#reads[0] as PendingRead;
    read.filled += byteLength;
    this.stats.directByteLength += byteLength;
    if (this.#chunked) this.#chunked.skipData(byteLength);
    else if (this.#framing?.kind === "length") this.#unreadByteLength -= byteLength;
    if (read.filled === read.view.byteLength || (read.some && read.filled > 0)) {
      this.#reads.shift();
      read.resolve(read.view.subarray(0, read.filled));
    }
    this.#checkLengthEnded();
  }

  /** Body bytes that landed in the head buffer or scratch: queue the body part of them. */
  #consume(bytes: Uint8Array): void {
    if (this.#chunked) {
      this.#chunked.decode(bytes, (data) => this.#enqueue(data));
      if (this.#chunked.done) this.#end();
    } else if (this.#framing?.kind === "length") {
      const take = Math.min(bytes.byteLength, this.#unreadByteLength);
      this.#enqueue(bytes.subarray(0, take)); // bytes past Content-Length are dropped with the connection
      this.#unreadByteLength -= take;
      this.#checkLengthEnded();
    } else {
      this.#enqueue(bytes);
    }
  }

  #enqueue(bytes: Uint8Array): void {
    if (bytes.byteLength === 0) return;
    this.#queue.push(bytes);
    this.#queuedByteLength += bytes.byteLength;
  }

  #checkLengthEnded(): void {
    if (this.#unreadByteLength === 0) this.#end();
  }

  /** Every body byte is in: close the connection (one response per connection). */
  #end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#socket?.destroy();
  }

  #onEnd(): void {
    if (this.#framing?.kind === "close") {
      this.#end();
      this.#settle();
    } else if (!this.#ended) {
      const what = this.#framing ? "the body" : `the response head (after ${this.#headByteLength} bytes)`;
      const missing = this.#framing?.kind === "length" ? `: ${this.#unreadByteLength} bytes missing` : "";
      this.#fail(new NodeSocketError("EINCOMPLETE", `The connection closed before the end of ${what}${missing}`), true);
    }
  }

  #fail(err: NodeSocketError, keepData: boolean): void {
    if (this.#failure) return;
    this.#failure = err;
    this.#failureKeepsData = keepData;
    if (!keepData) {
      this.#queue.length = 0;
      this.#queuedByteLength = 0;
    }
    this.#socket?.destroy();
    this.#rejectHead(err);
    this.#settle();
  }

  /** Copies queued bytes into pending views, then resolves or rejects what can be. */
  #settle(): void {
    const reads = this.#reads;
    while (reads.length > 0 && this.#queue.length > 0) {
      const read = reads[0] as PendingRead;
      const chunk = this.#queue[0] as Uint8Array;
      const take = Math.min(chunk.byteLength, read.view.byteLength - read.filled);
      read.view.set(take === chunk.byteLength ? chunk : chunk.subarray(0, take), read.filled);
      read.filled += take;
      this.stats.copiedByteLength += take;
      this.#queuedByteLength -= take;
      if (take === chunk.byteLength) this.#queue.shift();
      else this.#queue[0] = chunk.subarray(take);
      if (read.filled === read.view.byteLength) {
        reads.shift();
        read.resolve(read.view);
      }
    }
    if (this.#failure && !this.#failureKeepsData) {
      for (const read of reads.splice(0)) read.reject(this.#failure);
    }
    // A readSome filled from the read-ahead waits for the socket reads of this event-loop turn
    // (the next one lands in its view, no copy), then resolves with whatever it holds.
    if (reads[0]?.some && (reads[0] as PendingRead).filled > 0 && !this.#flushScheduled) {
      this.#flushScheduled = true;
      setImmediate(() => this.#flushSome());
    }
    if (this.#queue.length > 0 || reads.length === 0) return;
    if (this.#ended) {
      for (const read of reads.splice(0)) read.resolve(read.view.subarray(0, read.filled));
    } else if (this.#failure) {
      const first = reads[0] as PendingRead;
      if (this.#failureKeepsData && first.filled > 0) {
        reads.shift();
        first.resolve(first.view.subarray(0, first.filled));
      }
      for (const read of reads.splice(0)) read.reject(this.#failure);
    }
  }

  /** Chooses the buffer of the next read; false pauses the socket. Never hands out 0 bytes (ENOBUFS). */
  #plan(): boolean {
    this.#nextInScratch = false;
    if (this.#ended || this.#failure) return this.#planNext(new Uint8Array(1), DISCARD, false);
    if (this.#headBytes) {
      const start = this.#headByteLength;
      const end = Math.min(start + HEAD_READ_BYTE_LENGTH, MAX_HEAD_BYTE_LENGTH);
      return this.#planNext(this.#headBytes.subarray(start, end), HEAD, true);
    }
    const chunkedData = this.#chunked?.dataByteLength;
    const direct = chunkedData ?? this.#unreadByteLength; // Infinity for a body that ends at close
    const read = this.#reads[0];
    if (read && this.#queuedByteLength === 0 && direct > 0) {
      const end = read.filled + Math.min(read.view.byteLength - read.filled, direct, MAX_READ_BYTE_LENGTH);
      return this.#planNext(read.view.subarray(read.filled, end), VIEW, true);
    }
    if (this.#queuedByteLength === 0) this.#scratchUsed = 0;
    const room = this.#scratch.byteLength - this.#scratchUsed;
    // Read no more than the body holds, and only what the framing needs when a view waits for data.
    const limit = Math.min(this.#chunked ? FRAMING_READ_BYTE_LENGTH : this.#unreadByteLength, room);
    const first = this.#lastKind !== SCRATCH; // the caller may come straight back: read 1 byte first
    const byteLength = read ? limit : first ? Math.min(1, limit) : this.#chunked ? room : limit;
    if (byteLength === 0) {
      this.#paused = true;
      this.stats.pauseCount++;
      return this.#planNext(new Uint8Array(1), SCRATCH, false);
    }
    this.#nextInScratch = true;
    return this.#planNext(this.#scratch.subarray(this.#scratchUsed, this.#scratchUsed + byteLength), SCRATCH, true);
  }

  #planNext(buffer: Uint8Array, kind: number, keepReading: boolean): boolean {
    this.#next = buffer;
    this.#nextKind = kind;
    return keepReading;
  }
}
