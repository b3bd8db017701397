/**
 * One WebSocket connection's outgoing queue: the bytes handed to ws and not yet written (data,
 * counted from the moment its read starts, and control replies), the share of the server-wide
 * in-flight budget they hold, the allowance of unread control replies, when the socket last
 * drained (for stall detection), and when to pump again once a send completed.
 */
import type { WebSocket } from "ws";
import type { InFlightBudget } from "./budget.ts";
import type { ScratchPool } from "./scratch-pool.ts";

/** Longest run of pumps (sends completing at once) before the event loop gets a turn, in ms. */
const MAX_BURST_MS = 8;

export class SendQueue {
  readonly #ws: WebSocket;
  readonly #budget: InFlightBudget;
  readonly #pool: ScratchPool;
  readonly #maxReplies: number;
  readonly #pump: () => void;
  readonly #keepScratch: () => boolean;
  #byteLength = 0;
  /** Control replies handed to ws and not yet written (they count in #byteLength too). */
  #replies = 0;
  /** When a send last completed (or the queue was last empty). */
  #lastDrainAt = performance.now();
  #closed = false;
  /** A pump is scheduled for the next turn of the event loop. */
  #pumpScheduled = false;
  /** When the current run of pumps without a turn of the event loop began; null after a turn. */
  #burstStartedAt: number | null = null;

  /**
   * @param maxReplies unread control replies allowed before {@link sendReply} refuses.
   * @param pump called when bytes drained and more may be sent.
   * @param keepScratch whether a written scratch buffer goes back to the pool (not while idle).
   */
  constructor(
    ws: WebSocket,
    budget: InFlightBudget,
    pool: ScratchPool,
    maxReplies: number,
    pump: () => void,
    keepScratch: () => boolean,
  ) {
    this.#ws = ws;
    this.#budget = budget;
    this.#pool = pool;
    this.#maxReplies = maxReplies;
    this.#pump = pump;
    this.#keepScratch = keepScratch;
  }

  /** Bytes handed to ws (or being read for it) and not yet written to the socket. */
  get byteLength(): number {
    return this.#byteLength;
  }

  /** Control replies not yet written. */
  get replyCount(): number {
    return this.#replies;
  }

  /** When a send last completed, or the queue was last empty (performance.now). */
  get lastDrainAt(): number {
    return this.#lastDrainAt;
  }

  /**
   * True (and the pump is called again once bytes drain) when the server-wide budget is spent
   * and this queue holds bytes: stalled connections that fill the budget wait, while one with an
   * empty queue may still send a chunk, so they cannot starve healthy ones.
   */
  waitForBudget(): boolean {
    if (this.#budget.available || this.#byteLength === 0) return false;
    this.#budget.wait(this.#pump);
    return true;
  }

  /** Counts bytes that are about to be sent (a chunk whose read starts now). */
  count(byteLength: number): void {
    if (this.#byteLength === 0) this.#lastDrainAt = performance.now();
    this.#byteLength += byteLength;
    this.#budget.acquire(byteLength);
  }

  /** Gives back counted bytes that will not be sent (a read that failed or was cancelled). */
  uncount(byteLength: number): void {
    this.#byteLength -= byteLength;
    this.#budget.release(byteLength);
  }

  /**
   * Hands `data` to ws. `countedByteLength` of it were counted already (a chunk's read); a
   * `scratch` buffer goes back to the pool once ws has written it to the socket.
   */
  send(data: Uint8Array, countedByteLength = 0, scratch: Uint8Array | null = null, reply = false): void {
    if (this.#closed) return;
    const byteLength = data.byteLength;
    this.count(byteLength - countedByteLength);
    if (reply) this.#replies++;
    this.#ws.send(data, (err) => {
      if (this.#closed) return; // close() gave every queued byte back
      if (reply) this.#replies--;
      if (scratch && this.#keepScratch()) this.#pool.give(scratch);
      this.uncount(byteLength);
      this.#lastDrainAt = performance.now();
      // An error here means the socket is closing; the connection cleans up on 'close'.
      if (!err) this.#pumpSoon();
    });
  }

  /**
   * Sends a control reply (ERROR, ARRAY_HEADER, END), counted like data and against the reply
   * allowance. Returns false, sending nothing, when that many replies wait unread already: the
   * peer keeps sending without reading.
   */
  sendReply(data: Uint8Array): boolean {
    if (this.#closed || this.#replies >= this.#maxReplies) return false;
    this.send(data, 0, null, true);
    return true;
  }

  /** Stops counting: every queued byte goes back to the budget (the connection closed). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#budget.forget(this.#pump);
    this.#budget.release(this.#byteLength);
    this.#byteLength = 0;
  }

  /**
   * Pumps after a send completed: at once within a burst of MAX_BURST_MS, else on the next turn
   * of the event loop. A write the kernel takes at once calls back on process.nextTick, so
   * pumping from every callback would chain chunk after chunk to a fast reader without ever
   * giving the event loop a turn (1.6 s of lag for 2 GiB of arange in 1 MiB chunks).
   */
  #pumpSoon(): void {
    if (this.#pumpScheduled) return;
    const now = performance.now();
    if (this.#burstStartedAt === null) {
      this.#burstStartedAt = now;
      setImmediate(() => {
        this.#burstStartedAt = null; // the event loop had a turn
      });
    }
    if (now - this.#burstStartedAt < MAX_BURST_MS) {
      this.#pump();
      return;
    }
    this.#pumpScheduled = true;
    setImmediate(() => {
      this.#pumpScheduled = false;
      this.#pump();
    });
  }
}
