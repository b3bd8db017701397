/**
 * A server in a child process serving one .npy file (the memory test and bench/file-serving.ts):
 * `node --expose-gc --import tsx file-server.ts '{"path": "...", "memory": false}'`. Publishes
 * "file" (npyFile) and, with `memory`, "memory": the same array read into the process's memory.
 * Tells its parent `{ type: "listening", url }` over IPC, answers `{ type: "gc" }` with
 * `{ type: "gc-done" }` after a full GC, and exits when the IPC channel closes.
 */
import { readFileSync } from "node:fs";
import { parseNpyHeader } from "../../../shared/index.ts";
import { ArrayServer, npyFile } from "../../index.ts";

const config = JSON.parse(process.argv[2] ?? "{}") as { path: string; memory?: boolean };
const server = new ArrayServer({ port: 0, heartbeatIntervalMs: 0, maxConnectionsPerIp: 64 });
await server.listen();
server.publish("file", npyFile(config.path));
if (config.memory) {
  const bytes = readFileSync(config.path);
  const parsed = parseNpyHeader(bytes.subarray(0, 4096));
  if (!parsed.done) throw new Error("header longer than 4 KiB");
  const { dataByteOffset, elementCount } = parsed.header;
  // Copied into an aligned array, as a server that loaded the file would hold it.
  const array = new Float64Array(elementCount);
  new Uint8Array(array.buffer).set(bytes.subarray(dataByteOffset));
  server.publish("memory", array);
}
process.on("message", (message: { type: string }) => {
  if (message.type === "gc") {
    (globalThis as { gc?: () => void }).gc?.();
    process.send?.({ type: "gc-done" });
  }
});
process.on("disconnect", () => void server.close().then(() => process.exit(0)));
process.send?.({ type: "listening", url: server.url });
