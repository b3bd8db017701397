/**
 * Test helpers of the file sources (imported by *.test.ts only): .npy bytes written by hand (any
 * descr, byte order, version and order, so big-endian and Fortran files of any size can be made),
 * temporary directories, a SourceContext that records what a source did with it, and reads
 * through the pool the way a stream reads.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { JsonObject } from "../../shared/index.ts";
import { ScratchPool } from "../scratch-pool.ts";
import type { ArraySource, SourceArray, SourceContext } from "../sources.ts";

/** An .npy file: magic, version, header length, the dict padded to 64 bytes with "\n", then `data`. */
export function npyBytes(init: {
  descr: string;
  shape: readonly number[];
  data: Uint8Array;
  version?: 1 | 2 | 3;
  fortranOrder?: boolean;
}): Uint8Array {
  const { descr, shape, data, version = 1, fortranOrder = false } = init;
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(", ")})`;
  const dict = `{'descr': '${descr}', 'fortran_order': ${fortranOrder ? "True" : "False"}, 'shape': ${shapeText}, }`;
  const prefixByteLength = version === 1 ? 10 : 12;
  const text = new TextEncoder().encode(dict);
  const headerByteLength = Math.ceil((prefixByteLength + text.byteLength + 1) / 64) * 64 - prefixByteLength;
  const out = new Uint8Array(prefixByteLength + headerByteLength + data.byteLength);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
  const view = new DataView(out.buffer);
  if (version === 1) view.setUint16(8, headerByteLength, true);
  else view.setUint32(8, headerByteLength, true);
  out.set(text, prefixByteLength);
  out.fill(0x20, prefixByteLength + text.byteLength, prefixByteLength + headerByteLength - 1);
  out[prefixByteLength + headerByteLength - 1] = 0x0a;
  out.set(data, prefixByteLength + headerByteLength);
  return out;
}

/** The bytes of `array` with each `k`-byte element reversed (a big-endian copy). */
export function byteSwapped(bytes: Uint8Array, k: number): Uint8Array {
  const out = new Uint8Array(bytes.byteLength);
  for (let i = 0; i < bytes.byteLength; i += k) {
    for (let j = 0; j < k; j++) out[i + j] = bytes[i + k - 1 - j] as number;
  }
  return out;
}

/** A fresh temporary directory and a function that removes it. */
export function makeTempDir(prefix = "aw-files-"): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A SourceContext that counts reservations and invalidations. */
export interface RecordingContext extends SourceContext {
  reserved: number;
  invalidations: number;
  controller: AbortController;
}

export function recordingContext(limit = Number.POSITIVE_INFINITY): RecordingContext {
  const controller = new AbortController();
  const context: RecordingContext = {
    reserved: 0,
    invalidations: 0,
    controller,
    signal: controller.signal,
    reserve(byteLength: number) {
      if (context.reserved + byteLength > limit) throw new Error(`over the test budget: ${byteLength}`);
      context.reserved += byteLength;
    },
    invalidate() {
      context.invalidations++;
    },
  };
  return context;
}

/** Opens `source` with `params` and a recording context. */
export async function openWith(
  source: ArraySource,
  params: JsonObject | null = null,
  context: RecordingContext = recordingContext(),
): Promise<SourceArray> {
  return await source.open(params, context);
}

/** Reads bytes [offset, offset + n) through a pool buffer aligned as a stream aligns it; a copy. */
export async function readRange(array: SourceArray, offset: number, n: number): Promise<Uint8Array> {
  const scratch = new ScratchPool(0).take(n, offset);
  const out = await array.read(offset, n, scratch);
  return new Uint8Array(out);
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
