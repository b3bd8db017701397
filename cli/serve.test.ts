/**
 * `arraywire serve`, `ls`, `stat` and `put` as child processes: a directory served with its
 * nested files listed (and fetched), uploads listed and fetched back (big-endian files swapped),
 * a server without --uploads refusing them, and the exit codes of missing or broken files.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect, createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ArrayServer } from "../server/index.ts";
import { encodeNpyHeader, StreamError, type StreamErrorCode, swapBytesInPlace } from "../shared/index.ts";
import { readNpyWithTs, runCli, type ServeChild, startCli, startServe, waitFor, writeNpy } from "./test-helpers.ts";

const dir = mkdtempSync(join(tmpdir(), "arraywire-cli-serve-"));
const data = join(dir, "data");
const a = Uint16Array.from({ length: 300 }, (_, i) => (i * 7) % 65536);
const b = Float32Array.from({ length: 64 }, (_, i) => Math.sqrt(i));
let serve: ServeChild;

beforeAll(async () => {
  mkdirSync(join(data, "runs", "2024"), { recursive: true });
  writeNpy(join(data, "a.npy"), new Int16Array(a.buffer), [300], "uint16");
  writeNpy(join(data, "runs", "2024", "b.npy"), b, [8, 8]);
  writeFileSync(join(data, "notes.txt"), "not an array");
  serve = await startServe([data, "--uploads"]);
});

afterAll(async () => {
  await serve?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("arraywire serve <directory>", () => {
  it("prints the URL first, then every array under the directory by relative path", () => {
    const lines = serve.stdout().split("\n");
    expect(lines[0]).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/arraywire$/);
    expect(serve.stdout()).toMatch(/\n {2}a\.npy\s+uint16 \[300\]\n/);
    expect(serve.stdout()).toMatch(/\n {2}runs\/2024\/b\.npy\s+float32 \[8, 8\]\n/);
    expect(serve.stdout()).not.toContain("notes.txt");
  });

  it("ls lists the directory's files, nested ones included, with dtype, shape and size", async () => {
    const run = await runCli(["ls", serve.url]);
    expect(run.code).toBe(0);
    const rows = run.stdout.trim().split("\n");
    expect(rows[0]).toMatch(/^NAME\s+KIND\s+DTYPE\s+SHAPE\s+SIZE$/);
    expect(rows).toContainEqual(expect.stringMatching(/^a\.npy\s+source\s+uint16\s+\[300\]\s+600 B$/));
    expect(rows).toContainEqual(expect.stringMatching(/^runs\/2024\/b\.npy\s+source\s+float32\s+\[8, 8\]\s+256 B$/));
    expect(rows).toHaveLength(3);
  });

  it("ls --json and stat give the server's ArrayInfo", async () => {
    const list = await runCli(["ls", serve.url, "--json"]);
    const names = (JSON.parse(list.stdout) as { arrays: { name: string }[] }).arrays.map((x) => x.name);
    expect(names).toEqual(["a.npy", "runs/2024/b.npy"]);
    const stat = await runCli(["stat", serve.url, "runs/2024/b.npy", "--json"]);
    expect(stat.code).toBe(0);
    expect(JSON.parse(stat.stdout)).toMatchObject({
      name: "runs/2024/b.npy",
      dtype: "float32",
      shape: [8, 8],
      byteLength: 256,
    });
    const text = await runCli(["stat", serve.url, "a.npy"]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(
      /^name: {7}a\.npy\nkind: {7}source\ndtype: {6}uint16\nshape: {6}\[300\]\nsize: {7}600 bytes \(600 B\)\ngeneration: \d+\n/,
    );
    const missing = await runCli(["stat", serve.url, "nope.npy"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^arraywire stat: E_UNKNOWN_NAME: /);
  });

  it("get fetches a nested file's middle rows", async () => {
    const out = join(dir, "b-rows.npy");
    const run = await runCli(["get", serve.url, "runs/2024/b.npy", "-r", "2:5", "-o", out, "-q"]);
    expect(run.code).toBe(0);
    const file = readNpyWithTs(out);
    expect(file.shape).toEqual([3, 8]);
    expect(new Float32Array(file.data.slice().buffer)).toEqual(b.subarray(16, 40));
  });
});

describe("arraywire put", () => {
  it("uploads an .npy file, which ls then lists and get fetches back byte for byte", async () => {
    const values = Float64Array.from({ length: 1000 }, (_, i) => Math.sin(i) * 1e3);
    const file = join(dir, "up.npy");
    writeNpy(file, values, [250, 4]);
    const put = await runCli(["put", serve.url, "uploads/sine", file]);
    expect(put.stderr).toMatch(/arraywire put uploads\/sine: 100% 8\.0 kB in/);
    expect(put.code).toBe(0);
    expect(put.stdout).toMatch(/^uploads\/sine float64 \[250, 4\] 8000 xxh32:[0-9a-f]{8}\n$/);
    const list = await runCli(["ls", serve.url]);
    expect(list.stdout).toMatch(/\nuploads\/sine\s+array\s+float64\s+\[250, 4\]\s+8\.0 kB\n/);
    const out = join(dir, "sine-back.npy");
    expect((await runCli(["get", serve.url, "uploads/sine", "-o", out, "-q"])).code).toBe(0);
    const back = readNpyWithTs(out);
    expect(back.shape).toEqual([250, 4]);
    expect(back.data).toEqual(new Uint8Array(values.buffer));
  });

  it("swaps a big-endian file to little-endian as it uploads it", async () => {
    const values = Int32Array.from({ length: 100 }, (_, i) => i * 100_003 - 5_000_000);
    const swapped = new Uint8Array(values.slice().buffer);
    swapBytesInPlace(swapped, 4);
    const header = encodeNpyHeader({ dtype: "int32", shape: [100] });
    header.set(new TextEncoder().encode(">"), header.indexOf("<".charCodeAt(0))); // '<i4' -> '>i4'
    const file = join(dir, "be.npy");
    writeFileSync(file, Buffer.concat([header, swapped]));
    expect((await runCli(["put", serve.url, "be", file, "-q"])).code).toBe(0);
    const out = join(dir, "be-back.npy");
    expect((await runCli(["get", serve.url, "be", "-o", out, "-q"])).code).toBe(0);
    expect(readNpyWithTs(out)).toMatchObject({ descr: "<i4", data: new Uint8Array(values.buffer) });
  });

  it("exits 1 with ENOENT for a file that does not exist, and with the NpyError code for one that is not .npy", async () => {
    const missing = await runCli(["put", serve.url, "x", join(dir, "nope.npy")]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^arraywire put: ENOENT: no such file or directory/);
    const text = await runCli(["put", serve.url, "x", join(data, "notes.txt")]);
    expect(text.code).toBe(1);
    expect(text.stderr).toMatch(/^arraywire put: E_NPY_BAD_MAGIC: Not an \.npy file/);
  });

  it("exits 1 with E_UNEXPECTED_MESSAGE against a server started without --uploads", async () => {
    const file = join(dir, "small.npy");
    writeNpy(file, new Float64Array([1, 2, 3]));
    const plain = await startServe([file]);
    try {
      const run = await runCli(["put", plain.url, "small2", file, "--retries", "0"]);
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/^arraywire put: E_UNEXPECTED_MESSAGE: .*"arraywire serve --uploads" does\)\n$/);
    } finally {
      await plain.stop();
    }
  });
});

describe("arraywire put against a server's own refusal", () => {
  it("prints E_REMOTE with the hook's own code, and exits 1", async () => {
    const server = new ArrayServer({
      log: () => {},
      upload: {
        onUpload: () => {
          throw new StreamError("E_QUOTA" as StreamErrorCode, "over your quota");
        },
      },
    });
    await server.listen();
    try {
      const file = join(dir, "quota.npy");
      writeNpy(file, new Float64Array(8));
      const run = await runCli(["put", server.url, "q", file, "--retries", "0"]);
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/^arraywire put: E_REMOTE \(E_QUOTA\): .*over your quota/);
    } finally {
      await server.close();
    }
  });
});

/**
 * A TCP proxy that passes what the client sends at `bytesPerSecond` (server to client unthrottled),
 * so that an upload over it is still under way when the test interrupts it.
 */
async function startThrottle(
  port: number,
  bytesPerSecond: number,
): Promise<{ port: number; forwarded: () => number; server: Server }> {
  let forwarded = 0;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(port, "127.0.0.1");
    sockets.add(client).add(upstream);
    upstream.pipe(client);
    client.on("data", (d: Buffer) => {
      forwarded += d.byteLength;
      upstream.write(d);
      client.pause();
      setTimeout(() => client.resume(), (d.byteLength / bytesPerSecond) * 1000);
    });
    client.on("close", () => upstream.end());
    upstream.on("close", () => client.destroy());
    for (const s of [client, upstream]) s.on("error", () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  server.on("close", () => {
    for (const s of sockets) s.destroy();
  });
  return { port: (server.address() as { port: number }).port, forwarded: () => forwarded, server };
}

describe("arraywire put interrupted", () => {
  it("on SIGINT cancels the upload, exits 130, and the server keeps nothing (no array, no bytes reserved)", async () => {
    const server = new ArrayServer({ log: () => {}, upload: { onUpload: () => ({ allocate: true, publish: true }) } });
    await server.listen();
    const throttle = await startThrottle(Number(new URL(server.url).port), 8 * 1024 * 1024);
    try {
      const file = join(dir, "slow.npy");
      const values = Float64Array.from({ length: (24 * 1024 * 1024) / 8 }, (_, i) => i);
      writeNpy(file, values);
      const run = startCli(["put", `ws://127.0.0.1:${throttle.port}/arraywire`, "slow", file]);
      // Under way: the server reserved the upload's bytes and some payload went through.
      await waitFor(
        () => server.stats().uploadByteLength === values.byteLength && throttle.forwarded() > 2 * 1024 * 1024,
        "the upload under way",
      );
      run.child.kill("SIGINT");
      const result = await run.done;
      expect(result.code).toBe(130);
      expect(result.stderr).toMatch(/arraywire put: interrupted\n$/);
      expect(throttle.forwarded()).toBeLessThan(values.byteLength);
      // CANCEL, not a cut: a cut upload would stay reserved for resumeTimeoutMs (60 s) awaiting a resume.
      await waitFor(() => server.stats().uploadByteLength === 0, "the server to drop the cancelled upload", 10_000);
      expect(server.names()).not.toContain("slow");
    } finally {
      throttle.server.close();
      await server.close();
    }
  });
});

describe("arraywire serve <zarr dir>", () => {
  it("publishes a Zarr array under its directory's name; get writes its middle rows as .npy", async () => {
    const fixtures = fileURLToPath(new URL("../server/file-sources/test-fixtures/zarr/", import.meta.url));
    const manifest = JSON.parse(readFileSync(join(fixtures, "manifest.json"), "utf8")) as {
      arrays: { path: string; dtype: string; shape: number[]; cHex: string }[];
    };
    const expected = manifest.arrays.find((x) => x.path === "v3-gzip-f8");
    if (!expected) throw new Error("fixture v3-gzip-f8 missing from the manifest");
    const zarr = await startServe([join(fixtures, "v3-gzip-f8")]);
    try {
      expect(zarr.stdout()).toMatch(/\n {2}v3-gzip-f8 {2}float64 \[40, 30\] Zarr array /);
      const out = join(dir, "zarr-rows.npy");
      const run = await runCli(["get", zarr.url, "v3-gzip-f8", "--range", "11:29", "-o", out, "-q"]);
      expect(run.code).toBe(0);
      const file = readNpyWithTs(out);
      expect(file.shape).toEqual([18, 30]);
      const rowBytes = 30 * 8;
      expect(Buffer.from(file.data).toString("hex")).toBe(expected.cHex.slice(11 * rowBytes * 2, 29 * rowBytes * 2));
    } finally {
      await zarr.stop();
    }
  });
});

describe("arraywire serve --allow-origin", () => {
  it("lets a page of the origin named fetch, and refuses other origins with E_FORBIDDEN_ORIGIN", async () => {
    const file = join(dir, "origin.npy");
    writeNpy(file, new Float64Array([4, 5, 6]));
    const open = await startServe([file, "--allow-origin", "http://localhost:5173"]);
    const closed = await startServe([file]);
    try {
      const page = ["-H", "Origin: http://localhost:5173", "-q", "--retries", "0"];
      const ok = await runCli(["get", open.url, "origin", "-o", join(dir, "o1.npy"), ...page]);
      expect(ok.code).toBe(0);
      const other = await runCli([
        "get",
        open.url,
        "origin",
        "-o",
        join(dir, "o2.npy"),
        ...page.slice(0, 1),
        "Origin: http://evil.test",
      ]);
      expect(other.code).toBe(1);
      expect(other.stderr).toMatch(/^arraywire get: E_FORBIDDEN_ORIGIN: /);
      const same = await runCli(["get", closed.url, "origin", "-o", join(dir, "o3.npy"), ...page]);
      expect(same.code).toBe(1);
      expect(same.stderr).toMatch(/^arraywire get: E_FORBIDDEN_ORIGIN: /);
    } finally {
      await open.stop();
      await closed.stop();
    }
  });
});

describe("arraywire serve failures", () => {
  it("exits 1 with ENOENT for a path that does not exist", async () => {
    const run = await runCli(["serve", join(dir, "missing.npy"), "--port", "0"]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^arraywire serve: ENOENT: no such file or directory/);
    expect(run.stdout).toBe("");
  });

  it("exits 1 with the NpyError code for a file that is not an .npy file", async () => {
    const run = await runCli(["serve", join(data, "notes.txt"), "--port", "0"]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^arraywire serve: E_NPY_BAD_MAGIC: /);
  });

  it("exits 130 on SIGINT after closing", async () => {
    const child = await startServe([join(data, "a.npy"), "-q"]);
    const result = await child.stop();
    expect(result.code).toBe(130);
    expect(result.stderr).toBe("");
  });
});
