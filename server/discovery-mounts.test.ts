/**
 * Discovery's listing of publishDirectory (server/discovery.ts serveList): the files under a
 * directory are listed by prefixed name with the dtype, shape and size from their headers, after
 * the names published by themselves, which win over a directory's name, as a longer prefix wins
 * over a shorter one;
 * a directory that disappears lists nothing; `listing: false` still refuses the whole list.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { listArrays, StreamError } from "../client/index.ts";
import { encodeNpyHeader } from "../shared/index.ts";
import { ArrayServer } from "./index.ts";

const root = mkdtempSync(join(tmpdir(), "arraywire-mounts-"));
let server: ArrayServer;

function writeNpy(path: string, values: Float64Array, shape: number[]): void {
  const header = encodeNpyHeader({ dtype: "float64", shape });
  writeFileSync(path, Buffer.concat([header, new Uint8Array(values.buffer)]));
}

mkdirSync(join(root, "a", "deep"), { recursive: true });
mkdirSync(join(root, "b"), { recursive: true });
writeNpy(join(root, "a", "x.npy"), new Float64Array(6), [2, 3]);
writeNpy(join(root, "a", "deep", "y.npy"), new Float64Array(5), [5]);
writeNpy(join(root, "b", "z.npy"), new Float64Array(4), [4]);

async function start(options: ConstructorParameters<typeof ArrayServer>[0] = {}): Promise<ArrayServer> {
  server = new ArrayServer({ log: () => {}, ...options });
  await server.listen();
  return server;
}

afterEach(async () => {
  await server?.close();
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("listing publishDirectory", () => {
  it("lists a directory's files by prefixed name, with dtype, shape and size, after the names published by themselves", async () => {
    await start();
    server.publish("own", new Float64Array(2));
    server.publishDirectory(join(root, "a"), { prefix: "data/" });
    const arrays = await listArrays(server.url);
    expect(arrays.map((a) => a.name)).toEqual(["own", "data/deep/y.npy", "data/x.npy"]);
    expect(arrays[2]).toMatchObject({ kind: "source", live: false, dtype: "float64", shape: [2, 3], byteLength: 48 });
    expect(arrays[1]).toMatchObject({ dtype: "float64", shape: [5], byteLength: 40 });
  });

  it("lists a name published by itself once, as itself, when a directory has a file of that name", async () => {
    await start();
    server.publishDirectory(join(root, "a"), { prefix: "data/" });
    server.publish("data/x.npy", new Float64Array(7));
    const arrays = await listArrays(server.url);
    const named = arrays.filter((a) => a.name === "data/x.npy");
    expect(named).toHaveLength(1);
    expect(named[0]).toMatchObject({ kind: "array", shape: [7] });
  });

  it("lists a file under two directories once, under the longer prefix that serves it", async () => {
    await start();
    server.publishDirectory(root, { prefix: "d/" }); // d/a/x.npy, d/a/deep/y.npy, d/b/z.npy
    server.publishDirectory(join(root, "a"), { prefix: "d/a/" }); // d/a/x.npy, d/a/deep/y.npy
    const names = (await listArrays(server.url)).map((a) => a.name);
    expect(names).toEqual(["d/a/deep/y.npy", "d/a/x.npy", "d/b/z.npy"]);
  });

  it("lists several directories, longest prefix first, and a removed one no more", async () => {
    await start();
    server.publishDirectory(join(root, "b"), { prefix: "d/" });
    server.publishDirectory(join(root, "a"), { prefix: "d/a/" });
    expect((await listArrays(server.url)).map((a) => a.name)).toEqual(["d/a/deep/y.npy", "d/a/x.npy", "d/z.npy"]);
    server.unpublish("d/a/");
    expect((await listArrays(server.url)).map((a) => a.name)).toEqual(["d/z.npy"]);
  });

  it("lists nothing for a directory removed from disk, and the rest still", async () => {
    const gone = mkdtempSync(join(tmpdir(), "arraywire-mounts-gone-"));
    writeNpy(join(gone, "g.npy"), new Float64Array(1), [1]);
    await start();
    server.publishDirectory(gone, { prefix: "gone/" });
    server.publishDirectory(join(root, "b"), { prefix: "b/" });
    expect((await listArrays(server.url)).map((a) => a.name)).toEqual(["gone/g.npy", "b/z.npy"]);
    rmSync(gone, { recursive: true, force: true });
    expect((await listArrays(server.url)).map((a) => a.name)).toEqual(["b/z.npy"]);
  });

  it("still refuses the list with listing: false", async () => {
    await start({ listing: false });
    server.publishDirectory(join(root, "a"));
    const err = await listArrays(server.url).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StreamError);
    expect((err as StreamError).code).toBe("E_LISTING_DISABLED");
  });
});
