/**
 * One outgoing array stream: which bytes are left, how much credit the client granted, and the
 * next chunk to send as a subarray view of the source memory (never a copy).
 */
import type { ChecksumAlgorithm } from "../shared/index.ts";
import type { StreamPlan } from "./plan.ts";

/** Where a stream stands, for the connection's pump. */
export class OutgoingStream {
  readonly streamId: number;
  readonly bytes: Uint8Array;
  readonly chunkByteLength: number;
  readonly rangeByteEnd: number;
  /** First byte this stream sends (the range start, or the resume point). */
  readonly firstByteOffset: number;
  /** Next byte offset (in the array) to send. */
  nextByteOffset: number;
  /** Bytes the client still allows; Infinity without credit flow control. */
  credit: number;
  /** Computes the range's checksum (once every byte is sent), or null when none was asked for. */
  readonly checksum: (() => Promise<number>) | null;
  readonly checksumAlgorithm: ChecksumAlgorithm;
  /** Time (performance.now) of the last chunk sent or credit received, for stall detection. */
  lastProgressAt = performance.now();

  /** @param creditByteLength the client's initial window; 0 means no credit flow control. */
  constructor(plan: StreamPlan, creditByteLength: number) {
    this.streamId = plan.header.streamId;
    this.bytes = plan.bytes;
    this.chunkByteLength = plan.chunkByteLength;
    this.firstByteOffset = plan.header.firstByteOffset;
    this.nextByteOffset = plan.header.firstByteOffset;
    this.rangeByteEnd = plan.header.rangeByteEnd;
    this.credit = creditByteLength === 0 ? Number.POSITIVE_INFINITY : creditByteLength;
    this.checksum = plan.checksum;
    this.checksumAlgorithm = plan.header.checksumAlgorithm;
  }

  /** True once every byte of the range has been handed to the socket. */
  get done(): boolean {
    return this.nextByteOffset >= this.rangeByteEnd;
  }

  /** Bytes this stream sends in all: from firstByteOffset to the end of the range. */
  get sentByteLength(): number {
    return this.rangeByteEnd - this.firstByteOffset;
  }

  /** True when a chunk can go now (bytes left and credit for at least one byte). */
  get sendable(): boolean {
    return !this.done && this.credit > 0;
  }

  /** Takes the next chunk: a view of the source, at most chunk size and credit long. */
  takeChunk(): { byteOffset: number; payload: Uint8Array } {
    const byteOffset = this.nextByteOffset;
    const byteLength = Math.min(this.chunkByteLength, this.rangeByteEnd - byteOffset, this.credit);
    this.nextByteOffset += byteLength;
    this.credit -= byteLength;
    this.lastProgressAt = performance.now();
    return { byteOffset, payload: this.bytes.subarray(byteOffset, byteOffset + byteLength) };
  }

  /** Adds credit granted by the client. */
  grant(byteLength: number): void {
    this.credit += byteLength;
    this.lastProgressAt = performance.now();
  }
}
