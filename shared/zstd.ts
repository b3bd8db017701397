/**
 * The zstd codec both ends use: @bokuweb/zstd-wasm (WebAssembly, installs from the npm registry
 * alone, the same code in Node and browsers), loaded on first use with a dynamic import so that
 * streams without compression never load it. In Node the package reads its .wasm file from disk;
 * in a browser bundle it fetches it from the URL the bundler gives `new URL("./zstd.wasm",
 * import.meta.url)` inside the package (Vite and webpack 5 emit the file; with esbuild, serve
 * `@bokuweb/zstd-wasm/dist/web/zstd.wasm` next to the bundle).
 */

/** One-shot zstd over whole chunks. */
export interface ZstdCodec {
  /** One zstd frame of `source` (content size in the header) at `level`, in a new buffer. */
  compress(source: Uint8Array, level: number): Uint8Array;
  /**
   * Decodes one frame whose header was checked to declare `rawByteLength` bytes.
   * @throws {Error} when the frame is corrupt or longer than rawByteLength.
   */
  decompress(payload: Uint8Array, rawByteLength: number): Uint8Array;
}

interface ZstdWasm {
  init(path?: string): Promise<void>;
  compress(buf: Uint8Array, level?: number): Uint8Array;
  decompress(buf: Uint8Array, opts?: { defaultHeapSize: number }): Uint8Array;
}

/**
 * Longest wait for the codec to load, in ms. The package's loader never settles when its .wasm
 * cannot be fetched (a bundler that did not emit it next to the script): give up instead.
 */
export const ZSTD_LOAD_TIMEOUT_MS = 15_000;

let loading: Promise<ZstdCodec> | null = null;

/**
 * The codec, loaded once per process (or page). A failed load is not retried: every later call
 * rejects with the same error (a missing .wasm does not appear by itself).
 * @throws (rejects) when the package or its .wasm cannot be loaded within
 *   {@link ZSTD_LOAD_TIMEOUT_MS}.
 */
export function loadZstd(): Promise<ZstdCodec> {
  if (loading === null) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new Error(
              `zstd codec did not load within ${ZSTD_LOAD_TIMEOUT_MS} ms (is zstd.wasm served next to the script?)`,
            ),
          ),
        ZSTD_LOAD_TIMEOUT_MS,
      );
    });
    loading = Promise.race([load(), timeout]).finally(() => clearTimeout(timer));
  }
  return loading;
}

async function load(): Promise<ZstdCodec> {
  const imported = (await import("@bokuweb/zstd-wasm")) as unknown as ZstdWasm & { default?: ZstdWasm };
  // Node's CommonJS interop puts the exports on `default` too; either has them.
  const wasm = typeof imported.init === "function" ? imported : (imported.default as ZstdWasm);
  await wasm.init();
  return {
    compress: (source, level) => wasm.compress(source, level),
    decompress: (payload, rawByteLength) => wasm.decompress(payload, { defaultHeapSize: rawByteLength }),
  };
}
