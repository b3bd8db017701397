import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { ArrayClient } from "../client/index.ts";
import { StreamError } from "../shared/index.ts";

const serverModule = fileURLToPath(new URL("./index.ts", import.meta.url));

describe("shutdown on signals", () => {
  it.each(["SIGTERM", "SIGINT"] as const)(
    "on %s sends E_SHUTDOWN to streams in flight and the process exits by itself",
    async (signal) => {
      const script = `
        import { ArrayServer, arange } from ${JSON.stringify(serverModule)};
        const server = new ArrayServer({ port: 0, log: () => {} });
        await server.listen();
        server.publish("arange", arange());
        server.closeOnSignals();
        console.log(server.url);
      `;
      const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
        stdio: ["ignore", "pipe", "inherit"],
      });
      const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
      const url = await new Promise<string>((resolve) => child.stdout.once("data", (d) => resolve(String(d).trim())));
      const client = await ArrayClient.connect(url);
      // A slow reader: a small window that is never topped up keeps the stream in flight.
      let started!: () => void;
      const onStart = new Promise<void>((r) => {
        started = r;
      });
      const pending = client
        .fetch("arange", {
          params: { length: 30_000_000 },
          creditByteLength: 4 * 1024 * 1024,
          onProgress: () => started(),
        })
        .catch((e: unknown) => e);
      await onStart;
      const t0 = performance.now();
      child.kill(signal);
      const err = await pending;
      expect(err).toBeInstanceOf(StreamError);
      expect((err as StreamError).code).toBe("E_SHUTDOWN");
      expect(await exited).toBe(0);
      expect(performance.now() - t0).toBeLessThan(5000);
      client.close();
    },
  );
});
