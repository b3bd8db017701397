/**
 * The server's native zstd (Node only, never in a browser bundle): @mongodb-js/zstd, an optional
 * dependency (napi-rs, prebuilt per platform from the npm registry), whose compress runs in
 * libuv's threadpool, off the main thread, about twice as fast as the WebAssembly codec. Loaded
 * with a dynamic import on first use; where it does not load (another platform, the optional
 * install skipped) or `ARRAYWIRE_ZSTD=wasm` is set, the server keeps the WebAssembly codec
 * (shared/zstd.ts) and says so once in its log.
 *
 * Its frames leave out the content size, which a receiver requires (shared/chunk-decode.ts):
 * {@link withContentSize} writes it into the frame header (one copy of the compressed bytes).
 * The package's JS wrapper drops the level argument, so the bindings are imported directly.
 */
import { createRequire } from "node:module";
import { ZSTD_MAGIC } from "../shared/index.ts";

const LE = true;

function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** zstd with the compress call off the main thread. */
export interface AsyncZstd {
  /**
   * One zstd frame of `source` (content size in the header) at `level`, in a new buffer. `source`
   * must not change until the promise settles (the threadpool reads it).
   */
  compress(source: Uint8Array, level: number): Promise<Uint8Array>;
}

interface NativeBindings {
  compress(data: Buffer, level?: number | null): Promise<Buffer>;
}

/** Environment variable that forces the WebAssembly codec when set to `wasm`. */
export const ZSTD_IMPLEMENTATION_ENV = "ARRAYWIRE_ZSTD";

let loading: Promise<AsyncZstd | null> | null = null;

/** True when npm installed the native package for this platform (linux-x64 glibc here). */
export function nativeInstalled(): boolean {
  try {
    createRequire(import.meta.url).resolve("@mongodb-js/zstd/bindings.js");
    createRequire(import.meta.url).resolve(`@mongodb-js/zstd-${process.platform}-${process.arch}-gnu`);
    return true;
  } catch {
    return false;
  }
}
let told = false;

/**
 * The native codec, loaded once per process, or null (logged once through `log`) when it does
 * not load or {@link ZSTD_IMPLEMENTATION_ENV} is `wasm` (read on every call).
 */
export async function loadNativeZstd(log: (message: string) => void): Promise<AsyncZstd | null> {
  if (process.env[ZSTD_IMPLEMENTATION_ENV] === "wasm") {
    tell(log, `${ZSTD_IMPLEMENTATION_ENV}=wasm: compressing with the WebAssembly zstd codec on the main thread`);
    return null;
  }
  loading ??= load().catch((err: unknown) => {
    tell(
      log,
      `native zstd (@mongodb-js/zstd) unavailable, compressing with WebAssembly on the main thread: ${err instanceof Error ? err.message : String(err)}`,
    );
    return null;
  });
  return loading;
}

function tell(log: (message: string) => void, message: string): void {
  if (told) return;
  told = true;
  log(message);
}

async function load(): Promise<AsyncZstd> {
  const specifier = "@mongodb-js/zstd/bindings.js";
  const imported = (await import(specifier)) as NativeBindings & { default?: NativeBindings };
  const bindings = typeof imported.compress === "function" ? imported : (imported.default as NativeBindings);
  if (typeof bindings?.compress !== "function") throw new TypeError("@mongodb-js/zstd: no compress binding");
  return {
    async compress(source, level) {
      const frame = await bindings.compress(Buffer.from(source.buffer, source.byteOffset, source.byteLength), level);
      return withContentSize(frame, source.byteLength);
    },
  };
}

/**
 * `frame` with its content size declared: unchanged when its header has one already (it must be
 * `contentSize`), else a copy whose header gains a 4-byte (8 past 4 GiB - 1) content size field.
 * @throws {Error} for a frame that is not one zstd frame header this function can rewrite (a
 *   single-segment frame without a size, a size that differs): a codec failure.
 */
export function withContentSize(frame: Uint8Array, contentSize: number): Uint8Array {
  const view = viewOf(frame);
  if (frame.byteLength < 6 || view.getUint32(0, LE) !== ZSTD_MAGIC) {
    throw new Error(
      `zstd frame: expected magic 0x${ZSTD_MAGIC.toString(16)} and a header, got ${frame.byteLength} bytes`,
    );
  }
  const descriptor = view.getUint8(4);
  if (descriptor >> 6 !== 0 || (descriptor & 0x20) !== 0) return frame; // declares its size already
  const fieldBytes = contentSize > 0xffff_ffff ? 8 : 4;
  const dictionaryIdBytes = [0, 1, 2, 4][descriptor & 0x03] as number;
  const at = 6 + dictionaryIdBytes; // magic, descriptor, window descriptor, dictionary id
  if (frame.byteLength < at) throw new Error(`zstd frame: expected a ${at}-byte header, got ${frame.byteLength} bytes`);
  const out = new Uint8Array(frame.byteLength + fieldBytes);
  out.set(frame.subarray(0, at));
  out[4] = descriptor | ((fieldBytes === 8 ? 3 : 2) << 6);
  const outView = viewOf(out);
  if (fieldBytes === 4) outView.setUint32(at, contentSize, LE);
  else {
    outView.setUint32(at, contentSize % 2 ** 32, LE);
    outView.setUint32(at + 4, Math.floor(contentSize / 2 ** 32), LE);
  }
  out.set(frame.subarray(at), at + fieldBytes);
  return out;
}
