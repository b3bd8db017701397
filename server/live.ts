/**
 * Live arrays: a published array that grows by appends while clients watch (docs/PROTOCOL.md
 * §17). The array's memory is one buffer of `maxLength` rows, allocated at publish (the operating
 * system commits its pages as appends touch them), so growing never moves or copies what is
 * there: every stream reads views of this memory, and a subscriber is only a read position into
 * it. Appends copy the caller's values in once and tell the subscribers (server/live-feed.ts),
 * which send the new rows as views, announced by GROW.
 *
 * A running XXH32 of the whole array is kept as it grows (one pass over each append, however many
 * subscribers there are), so subscriptions that ask for XXH32 over the whole array need not hash
 * the bytes they send, one pass per subscriber.
 */
import {
  DTYPE_BYTES_PER_ELEMENT,
  type Dtype,
  dtypeOf,
  isDtypeSupported,
  type JsonObject,
  MAX_NDIM,
  type TypedArray,
  typedArrayConstructor,
  Xxh32,
} from "../shared/index.ts";
import { checkMeta } from "./meta.ts";
import type { SourceLease } from "./open-sources.ts";
import type { ArrayDescription, SourceArray } from "./sources.ts";

/** Options of {@link ArrayServer.publishLive}. */
export interface LiveOptions {
  dtype: Dtype;
  /** Most rows the array can hold (its length along the first axis); appends past it throw. */
  maxLength: number;
  /** Shape of one row (the trailing dimensions). Defaults to [] (a 1-d array of elements). */
  rowShape?: readonly number[];
  /** JSON sent in the header; checked at publish time. */
  meta?: JsonObject;
  /**
   * A subscriber whose unsent bytes (what the array holds past what was sent to it) exceed this
   * gets E_SLOW_CONSUMER and its subscription ends; it may subscribe again from where it wants.
   * Defaults to 67_108_864 (64 MiB).
   */
  maxLagByteLength?: number;
}

/** What a subscription is told about the array (server/live-feed.ts). */
export interface LiveListener {
  /** The array grew to `totalByteLength`, or (closed true) will not grow any more. */
  onChange(totalByteLength: number, closed: boolean): void;
}

const DEFAULT_MAX_LAG_BYTES = 64 * 1024 * 1024;

function checkRowShape(rowShape: unknown): number[] {
  if (!Array.isArray(rowShape) || rowShape.length > MAX_NDIM - 1) {
    throw new TypeError(`Invalid rowShape: expected an array of at most ${MAX_NDIM - 1} integers`);
  }
  for (const dim of rowShape) {
    if (!Number.isSafeInteger(dim) || dim < 1) {
      throw new TypeError(`Invalid rowShape: expected positive integers, got [${rowShape.join(", ")}]`);
    }
  }
  return [...rowShape];
}

/**
 * A growable published array: {@link append} rows, {@link close} when done. Create it with
 * {@link ArrayServer.publishLive}.
 */
export class LiveArray {
  readonly name: string;
  readonly dtype: Dtype;
  /** Shape of one row. */
  readonly rowShape: readonly number[];
  readonly maxLength: number;
  readonly meta: JsonObject | null;
  readonly maxLagByteLength: number;
  /** Bytes of one row. */
  readonly rowByteLength: number;
  readonly #bytes: Uint8Array;
  readonly #elements: TypedArray;
  readonly #rowElements: number;
  readonly #listeners = new Set<LiveListener>();
  readonly #hash = new Xxh32();
  #length = 0;
  #closed = false;
  #appendCount = 0;

  /**
   * @throws {TypeError} for an unsupported dtype, a bad rowShape or meta; {RangeError} for a
   *   maxLength or maxLagByteLength out of range, or a capacity over 2^53 - 1 bytes.
   */
  constructor(name: string, options: LiveOptions) {
    const { dtype, maxLength } = options;
    if (!isDtypeSupported(dtype)) {
      throw new TypeError(`Invalid dtype: ${JSON.stringify(dtype)} is not a dtype this runtime supports`);
    }
    if (!Number.isSafeInteger(maxLength) || maxLength < 1) {
      throw new RangeError(`Invalid maxLength: expected a positive integer, got ${maxLength}`);
    }
    this.name = name;
    this.dtype = dtype;
    this.rowShape = checkRowShape(options.rowShape ?? []);
    this.maxLength = maxLength;
    this.meta = checkMeta(options.meta);
    const maxLag = options.maxLagByteLength ?? DEFAULT_MAX_LAG_BYTES;
    if (!Number.isSafeInteger(maxLag) || maxLag < 1) {
      throw new RangeError(`Invalid maxLagByteLength: expected a positive integer, got ${maxLag}`);
    }
    this.maxLagByteLength = maxLag;
    this.#rowElements = this.rowShape.reduce((a, b) => a * b, 1);
    this.rowByteLength = this.#rowElements * DTYPE_BYTES_PER_ELEMENT[dtype];
    const capacity = maxLength * this.rowByteLength;
    if (!Number.isSafeInteger(capacity)) {
      throw new RangeError(`Invalid maxLength: ${maxLength} rows of ${this.rowByteLength} bytes exceed 2^53 - 1`);
    }
    // Zeroed memory: the OS maps its pages on first write, so untouched rows cost no RSS.
    this.#bytes = new Uint8Array(capacity);
    this.#elements = new (typedArrayConstructor(dtype))(this.#bytes.buffer, 0, maxLength * this.#rowElements);
  }

  /** Rows appended so far. */
  get length(): number {
    return this.#length;
  }

  /** Bytes appended so far. */
  get byteLength(): number {
    return this.#length * this.rowByteLength;
  }

  /** Bytes the array can ever hold. */
  get maxByteLength(): number {
    return this.maxLength * this.rowByteLength;
  }

  /** The whole shape now: [length, ...rowShape]. */
  get shape(): number[] {
    return [this.#length, ...this.rowShape];
  }

  /** True once {@link close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Number of append() calls that added rows. */
  get appendCount(): number {
    return this.#appendCount;
  }

  /**
   * Appends whole rows: `values` is a typed array of the live array's dtype (or an array of
   * numbers, or of bigints for the 64-bit integer dtypes) whose length is a multiple of the row's
   * element count. They are copied into the array's memory once; subscribers are sent views of it.
   * Returns the new length in rows.
   * @throws {TypeError} for values of another dtype or a length that is not whole rows;
   *   {RangeError} when the rows do not fit (maxLength) or the array is closed.
   */
  append(values: TypedArray | ArrayLike<number> | ArrayLike<bigint>): number {
    if (this.#closed) throw new RangeError(`Live array ${JSON.stringify(this.name)} is closed: append() refused`);
    if (ArrayBuffer.isView(values) && dtypeOf(values) !== this.dtype) {
      throw new TypeError(`Invalid values: expected ${this.dtype}, got ${dtypeOf(values)}`);
    }
    const count = values.length;
    if (count % this.#rowElements !== 0) {
      throw new TypeError(
        `Invalid values: expected whole rows of ${this.#rowElements} elements, got ${count} elements`,
      );
    }
    const rows = count / this.#rowElements;
    if (this.#length + rows > this.maxLength) {
      throw new RangeError(
        `Live array ${JSON.stringify(this.name)} is full: ${this.#length} + ${rows} rows exceed maxLength ${this.maxLength}`,
      );
    }
    if (rows === 0) return this.#length;
    const start = this.#length * this.#rowElements;
    (this.#elements as unknown as { set(a: ArrayLike<unknown>, offset: number): void }).set(
      values as ArrayLike<unknown>,
      start,
    );
    const oldByteLength = this.byteLength;
    this.#length += rows;
    this.#appendCount++;
    this.#hash.update(this.#bytes.subarray(oldByteLength, this.byteLength));
    this.#notify();
    return this.#length;
  }

  /** Ends the array: subscribers get the rest, then END. Idempotent. The array stays published. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#notify();
  }

  /** XXH32 of every byte appended so far. */
  xxh32(): number {
    return this.#hash.digest();
  }

  /** Bytes [byteOffset, byteOffset + byteLength) of the array's memory: a view, never a copy. */
  view(byteOffset: number, byteLength: number): Uint8Array {
    return this.#bytes.subarray(byteOffset, byteOffset + byteLength);
  }

  /** Registers a subscription; returns a function that removes it. */
  listen(listener: LiveListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Subscriptions listening now. */
  get subscriberCount(): number {
    return this.#listeners.size;
  }

  /**
   * The array as it is now, as a stream's lease: a snapshot of the current length whose reads are
   * views of the live memory (rows already appended never change). Nothing to release.
   */
  lease(): SourceLease {
    const byteLength = this.byteLength;
    const description: ArrayDescription = {
      dtype: this.dtype,
      shape: this.shape,
      totalByteLength: byteLength,
      meta: this.meta,
      version: null,
    };
    const array: SourceArray = {
      dtype: this.dtype,
      shape: description.shape,
      meta: this.meta,
      read: (byteOffset, length) => this.view(byteOffset, length),
    };
    return { array, description, release: () => {} };
  }

  #notify(): void {
    const total = this.byteLength;
    for (const listener of [...this.#listeners]) listener.onChange(total, this.#closed);
  }
}
