/**
 * The zstd codec both ends use: @bokuweb/zstd-wasm (WebAssembly, installs from the npm registry
 * alone, the same code in Node and browsers), loaded on first use with a dynamic import so that
 * streams without compression never load it. In Node the package reads its .wasm file from disk;
 * in a browser bundle it fetches it from the URL the bundler gives `new URL("./zstd.wasm",
 * import.meta.url)` inside the package.
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

let loading: Promise<ZstdCodec> | null = null;

/**
 * The codec, loaded once per process (or page); a failed load is retried on the next call.
 * @throws (rejects) when the package or its .wasm cannot be loaded.
 */
export function loadZstd(): Promise<ZstdCodec> {
  if (loading === null) {
    loading = load();
    loading.catch(() => {
      loading = null;
    });
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
