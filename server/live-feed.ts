/**
 * One subscription's view of the array it follows (docs/PROTOCOL.md §17): how far its range may
 * grow (the end it asked for, or the array's capacity, capped by what the array holds now), the
 * GROW messages that announce growth, and the lag policy. A subscription holds no bytes of its
 * own: it reads views of the live array's memory from its position, so a slow subscriber costs
 * the server a read position, never a queue. One that falls more than the array's
 * maxLagByteLength behind is ended with E_SLOW_CONSUMER. A subscription to a fixed array (a typed
 * array or a source) is the same with a range that never grows.
 */
import { encodeGrow } from "../shared/index.ts";
import type { LiveArray } from "./live.ts";
import type { StreamGrowth } from "./stream.ts";

/** What the connection hands a feed once its stream runs. */
export interface FeedHooks {
  /** The array grew or closed: pump again. */
  wake(): void;
  /** The subscriber is more than maxLagByteLength behind: end its stream (E_SLOW_CONSUMER). */
  lagging(lagByteLength: number, maxLagByteLength: number): void;
  /** The next byte the stream will read (its position). */
  position(): number;
}

export class LiveFeed implements StreamGrowth {
  readonly #streamId: number;
  readonly #live: LiveArray | null;
  readonly #fixedByteLength: number;
  readonly #requestedByteEnd: number;
  readonly #maxTotalByteLength: number;
  #unlisten: (() => void) | null = null;
  #detached = false;

  /**
   * @param live the live array, or null for a fixed array of `fixedByteLength` bytes.
   * @param requestedByteEnd where the subscription ends at the latest (the RANGE end asked for,
   *   or the array's capacity).
   */
  constructor(streamId: number, live: LiveArray | null, fixedByteLength: number, requestedByteEnd: number) {
    this.#streamId = streamId;
    this.#live = live;
    this.#fixedByteLength = fixedByteLength;
    this.#requestedByteEnd = requestedByteEnd;
    this.#maxTotalByteLength = live === null ? fixedByteLength : live.maxByteLength;
  }

  #total(): number {
    return this.#live === null ? this.#fixedByteLength : this.#live.byteLength;
  }

  #closed(): boolean {
    return this.#live === null || this.#live.closed;
  }

  availableByteEnd(): number {
    return Math.min(this.#requestedByteEnd, this.#total());
  }

  finished(rangeByteEnd: number): boolean {
    return rangeByteEnd >= this.#requestedByteEnd || (this.#closed() && rangeByteEnd >= this.availableByteEnd());
  }

  /** A GROW with the array's byte length now, or `totalByteLength` (the first one repeats the header's). */
  growMessage(totalByteLength = this.#total()): Uint8Array {
    return encodeGrow({
      streamId: this.#streamId,
      totalByteLength,
      maxTotalByteLength: this.#maxTotalByteLength,
    });
  }

  /** Starts listening to the live array (nothing to listen to for a fixed one). */
  attach(hooks: FeedHooks): void {
    const live = this.#live;
    if (live === null || this.#detached) return;
    this.#unlisten = live.listen({
      onChange: () => {
        const lag = this.availableByteEnd() - hooks.position();
        if (lag > live.maxLagByteLength) hooks.lagging(lag, live.maxLagByteLength);
        else hooks.wake();
      },
    });
  }

  detach(): void {
    this.#detached = true;
    this.#unlisten?.();
    this.#unlisten = null;
  }
}
