/**
 * Progressive use of a stream (`onChunk`): which elements of the target became final since the
 * last report. Bytes arrive in order, so what is final is always a prefix of the range; each
 * report covers the whole elements completed since the previous one (a read that ends inside an
 * element reports that element with the next read). The reporter carries over resumed attempts,
 * so a range is never reported twice. The stream calls the caller's onChunk through its guard
 * (client/guard.ts).
 */
import type { TypedArray } from "../shared/index.ts";

/** Elements of the target that became final, for {@link FetchOptions.onChunk}. */
export interface ArrayChunk<T extends TypedArray = TypedArray> {
  /**
   * The target: the array the fetch resolves with (the caller's `into`, or the one allocated).
   * Elements [0, elementEnd) are final; later ones are still arriving.
   */
  array: T;
  /** `array.subarray(elementStart, elementEnd)`: a view of the elements this report covers. */
  values: T;
  /** First element (an index into `array`, so relative to the range asked for) this report covers. */
  elementStart: number;
  /** One past the last element this report covers; every element before it is final. */
  elementEnd: number;
  /** `elementStart * BYTES_PER_ELEMENT`: byte offset into `array`. */
  byteStart: number;
  /** `elementEnd * BYTES_PER_ELEMENT`. */
  byteEnd: number;
}

/** Decides what an onChunk report covers (see the module comment); one per fetch. */
export class ChunkReporter {
  #elementEnd: number;

  /** @param heldElementCount elements already final when the fetch starts (a `resumeFrom`): not reported. */
  constructor(heldElementCount: number) {
    this.#elementEnd = heldElementCount;
  }

  /**
   * The report due now that `receivedByteLength` bytes of `array`'s range are held, or null when
   * no whole element completed since the last one.
   */
  next<T extends TypedArray>(array: T, receivedByteLength: number): ArrayChunk<T> | null {
    const itemsize = array.BYTES_PER_ELEMENT;
    const elementEnd = Math.floor(receivedByteLength / itemsize);
    const elementStart = this.#elementEnd;
    if (elementEnd <= elementStart) return null;
    this.#elementEnd = elementEnd;
    return {
      array,
      values: array.subarray(elementStart, elementEnd) as T,
      elementStart,
      elementEnd,
      byteStart: elementStart * itemsize,
      byteEnd: elementEnd * itemsize,
    };
  }
}
