/**
 * publishDirectory: names reach files only through the root. A tree with a secret file outside
 * the root, symlinks to it, and every odd spelling of a way out; what a client gets for each is
 * E_UNKNOWN_NAME and never a byte of the secret. Then listing, stat, and names that come and go.
 */
import { cpSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fetchArray } from "../../client/index.ts";
import { decodeMessage } from "../../shared/index.ts";
import { ArrayServer } from "../index.ts";
import { FileDirectory } from "./directory.ts";
import { nameProblem } from "./safe-name.ts";
import { makeTempDir, npyBytes } from "./test-helpers.ts";

const ZARR = fileURLToPath(new URL("./test-fixtures/zarr/v3-gzip-f8", import.meta.url));
const SECRET = 0x5e;

function npyOf(values: number[]): Uint8Array {
  return npyBytes({ descr: "<f8", shape: [values.length], data: new Uint8Array(Float64Array.from(values).buffer) });
}

describe("publishDirectory", () => {
  let base: string;
  let remove: () => void;
  let root: string;
  let server: ArrayServer;
  let httpUrl: string;

  beforeAll(async () => {
    ({ dir: base, remove } = makeTempDir());
    root = join(base, "root");
    mkdirSync(join(root, "sub", "deep"), { recursive: true });
    mkdirSync(join(base, "outside"));
    const secret = npyBytes({ descr: "|u1", shape: [64], data: new Uint8Array(64).fill(SECRET) });
    writeFileSync(join(base, "secret.npy"), secret);
    writeFileSync(join(base, "outside", "s.npy"), secret);
    writeFileSync(join(root, "a.npy"), npyOf([1, 2, 3]));
    writeFileSync(join(root, "sub", "b.npy"), npyOf([4, 5]));
    writeFileSync(join(root, "sub", "deep", "c.npy"), npyOf([6]));
    writeFileSync(join(root, ".hidden.npy"), npyOf([7]));
    writeFileSync(join(root, "notes.txt"), "not an array");
    writeFileSync(join(root, "broken.npy"), "not an npy");
    writeFileSync(join(root, "npy-but-named.dat"), npyOf([8]));
    cpSync(ZARR, join(root, "grid.zarr"), { recursive: true });
    mkdirSync(join(root, "group.zarr"));
    writeFileSync(
      join(root, "group.zarr", "zarr.json"),
      JSON.stringify({ zarr_format: 3, node_type: "group", attributes: {} }),
    );
    cpSync(ZARR, join(root, "group.zarr", "temperature"), { recursive: true });
    symlinkSync(join(root, "a.npy"), join(root, "link-in.npy"));
    symlinkSync(join(base, "secret.npy"), join(root, "link-out.npy"));
    symlinkSync("../secret.npy", join(root, "relative-out.npy"));
    symlinkSync(join(base, "outside"), join(root, "linkdir"));
    symlinkSync(root, join(root, "loop"));
    server = new ArrayServer({ port: 0 });
    await server.listen();
    server.publishDirectory(root, { prefix: "files/" });
    httpUrl = server.url.replace("ws:", "http:");
  });

  afterAll(async () => {
    await server.close();
    remove();
  });

  /** The HTTP answer to `name`: status and the ERROR code, or the array's bytes. */
  async function ask(name: string): Promise<{ status: number; code: string | null; body: Uint8Array }> {
    const response = await fetch(`${httpUrl}?name=${encodeURIComponent(name)}`);
    const body = new Uint8Array(await response.arrayBuffer());
    const code = response.status === 200 ? null : (decodeMessage(body) as { code: string }).code;
    return { status: response.status, code, body };
  }

  it.each([
    ["files/a.npy", [1, 2, 3]],
    ["files/sub/b.npy", [4, 5]],
    ["files/sub/deep/c.npy", [6]],
    ["files/link-in.npy", [1, 2, 3]],
    ["files/loop/a.npy", [1, 2, 3]],
  ])("serves %s", async (name, values) => {
    const result = await fetchArray<Float64Array>(server.url, name);
    expect([...result.array]).toEqual(values);
  });

  it("answers a Zarr group with E_UNKNOWN_NAME and serves the arrays in it", async () => {
    expect((await ask("files/group.zarr")).code).toBe("E_UNKNOWN_NAME");
    const result = await fetchArray<Float64Array>(server.url, "files/group.zarr/temperature", { range: [0, 2] });
    expect(result.arrayShape).toEqual([40, 30]);
  });

  it("serves a Zarr array by its directory's name", async () => {
    const result = await fetchArray<Float64Array>(server.url, "files/grid.zarr", {
      transport: "http",
      range: [31, 95],
    });
    expect(result.arrayShape).toEqual([40, 30]);
    expect(result.array[0]).toBeCloseTo((31 - 400) * 0.37 + 0.25, 10);
  });

  const outside = (b: string) => [
    "../secret.npy",
    "sub/../../secret.npy",
    "sub/../a.npy",
    "./a.npy",
    "/etc/passwd",
    `${b}/secret.npy`,
    `/${b}/secret.npy`.replace("//", "/"),
    "%2e%2e/secret.npy",
    "..%2fsecret.npy",
    "%2e%2e%2fsecret.npy",
    "sub\\..\\..\\secret.npy",
    "..\\secret.npy",
    "a.npy\0",
    "a.npy\0.txt",
    "\uff0e\uff0e/secret.npy",
    "..\u2215secret.npy",
    "a.npy.",
    "a.npy ",
    "a.npy/",
    "sub//b.npy",
    "/a.npy",
    ".hidden.npy",
    "link-out.npy",
    "relative-out.npy",
    "linkdir/s.npy",
    "loop/../secret.npy",
    "notes.txt",
    "npy-but-named.dat",
    "sub",
    "sub/deep",
    "nope.npy",
    `${"x".repeat(300)}.npy`,
    `${"d/".repeat(20)}a.npy`,
    "a\u0085.npy",
    "C:\\secret.npy",
    "a.npy:stream",
  ];

  it("answers every way out with E_UNKNOWN_NAME, 404, the same message, never a byte of the secret", async () => {
    for (const rest of outside(base)) {
      const answer = await ask(`files/${rest}`);
      expect(answer.status, JSON.stringify(rest)).toBe(404);
      expect(answer.code, JSON.stringify(rest)).toBe("E_UNKNOWN_NAME");
      expect(answer.body.includes(SECRET) && answer.body.filter((b) => b === SECRET).length > 8, rest).toBe(false);
    }
    // Over a WebSocket too (names the client itself would send).
    for (const rest of ["../secret.npy", "link-out.npy", "linkdir/s.npy", "%2e%2e/secret.npy"]) {
      await expect(fetchArray(server.url, `files/${rest}`, { transport: "ws" })).rejects.toMatchObject({
        code: "E_UNKNOWN_NAME",
      });
    }
  });

  it("refuses the odd names by their spelling alone", () => {
    for (const name of ["../x.npy", "a//b", ".x", "x.", "x ", "a\\b", "a%2e", "a\0", "a:b", "\udc00", ""]) {
      expect(nameProblem(name), JSON.stringify(name)).not.toBeNull();
    }
    for (const name of ["a.npy", "runs/2024/x y.npy", "\uff0e\uff0e", "température.npy", "a-b_c.1.npy"]) {
      expect(nameProblem(name), name).toBeNull();
    }
  });

  it("answers a broken file under the root with E_INTERNAL, and a name outside the prefix with E_UNKNOWN_NAME", async () => {
    expect((await ask("files/broken.npy")).code).toBe("E_INTERNAL");
    expect((await ask("a.npy")).code).toBe("E_UNKNOWN_NAME");
    expect((await ask("files/")).code).toBe("E_UNKNOWN_NAME");
  });

  it("lists what it serves, with dtype and shape, without the rest", async () => {
    const directory = new FileDirectory(root);
    const entries = await directory.list();
    expect(entries.map((e) => e.name)).toEqual([
      "a.npy",
      "grid.zarr",
      "group.zarr/temperature",
      "link-in.npy",
      "sub/b.npy",
      "sub/deep/c.npy",
    ]);
    expect(entries[0]).toEqual({
      name: "a.npy",
      kind: "npy",
      dtype: "float64",
      shape: [3],
      byteLength: 24,
      meta: { source: "npy", descr: "<f8" },
      version: expect.any(String),
    });
    // The content version is the one a stream's generation is derived from: stable between looks.
    expect((await directory.stat("a.npy")).version).toBe(entries[0]?.version);
    expect(entries[1]).toMatchObject({
      name: "grid.zarr",
      kind: "zarr",
      dtype: "float64",
      shape: [40, 30],
      byteLength: 9600,
    });
    expect((await directory.list({ maxEntries: 2 })).map((e) => e.name)).toEqual(["a.npy", "grid.zarr"]);
    expect(await directory.stat("sub/b.npy")).toMatchObject({ shape: [2] });
    await expect(directory.stat("link-out.npy")).rejects.toMatchObject({ code: "E_UNKNOWN_NAME" });
  });

  it("serves files added later, forgets removed ones, and answers a resume of a removed file with E_GONE", async () => {
    writeFileSync(join(root, "late.npy"), npyOf([9, 10]));
    const first = await fetchArray<Float64Array>(server.url, "files/late.npy");
    expect([...first.array]).toEqual([9, 10]);
    rmSync(join(root, "late.npy"));
    expect((await ask("files/late.npy")).code).toBe("E_UNKNOWN_NAME");
    const target = new Float64Array(2);
    await expect(
      fetchArray(server.url, "files/late.npy", {
        into: target,
        resumeFrom: { array: target, receivedByteLength: 8, generation: first.generation },
      }),
    ).rejects.toMatchObject({ code: "E_GONE" });
  });

  it("lets a name published by itself win, and unpublish(prefix) remove the directory", async () => {
    const other = new ArrayServer({ port: 0 });
    await other.listen();
    try {
      other.publishDirectory(root, { prefix: "d/" });
      other.publish("d/a.npy", Float64Array.of(42));
      expect([...(await fetchArray<Float64Array>(other.url, "d/a.npy")).array]).toEqual([42]);
      expect([...(await fetchArray<Float64Array>(other.url, "d/sub/b.npy")).array]).toEqual([4, 5]);
      expect(other.unpublish("d/")).toBe(true);
      await expect(fetchArray(other.url, "d/sub/b.npy")).rejects.toMatchObject({ code: "E_UNKNOWN_NAME" });
    } finally {
      await other.close();
    }
  });

  it("checks its root and options", () => {
    expect(() => new FileDirectory(join(base, "nope"))).toThrow(TypeError);
    expect(() => new FileDirectory(join(root, "a.npy"))).toThrow(/not a directory/);
    expect(() => new FileDirectory(root, { npy: { meta: {} } as never })).toThrow(TypeError);
    expect(() => new FileDirectory(root, { zarr: { cacheByteLength: -1 } })).toThrow(RangeError);
    expect(() => new FileDirectory(root, { other: 1 } as never)).toThrow(/Invalid directory option "other"/);
    expect(() => server.publishDirectory(root, { prefix: "p".repeat(600) })).toThrow(TypeError);
  });
});
