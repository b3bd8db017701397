/**
 * Compression across a real slow link (issue 12): a network namespace and veth pair made here,
 * shaped to 100 Mbit/s with tbf, the ArrayServer in the namespace and the Node client outside.
 * Smooth and random float64, each fetched uncompressed ("off") and with the default ("auto",
 * which offers zstd to a non-loopback host). Asserted: identical bytes and checksums, fewer
 * bytes on the wire for smooth data, never more for random data; the MB/s are printed (the
 * targets are judged by the bench, `npm run bench -- --link`). Needs root, `ip` and `tc`: skipped
 * with the reason printed otherwise. Everything made is removed in afterAll, even on failure.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { xxh32 } from "../shared/index.ts";
import { makeLinkDataset } from "./link-datasets.ts";
import { fetchAcross, type LinkServer, startLinkServer } from "./link-run.ts";
import { netnsProblem, ShapedLink } from "./netns.ts";

const problem = netnsProblem();
if (problem !== null) console.warn(`[shaped-link.test] SKIPPED: ${problem}`);

const ELEMENTS = 1_000_000; // 8 MB of float64: ~0.7 s at 100 Mbit/s uncompressed
const RATE = 100e6;

function bytes(a: ArrayBufferView): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

describe.skipIf(problem !== null)("compression over a 100 Mbit/s shaped veth (root)", () => {
  let link: ShapedLink | null = null;
  let server: LinkServer | null = null;
  const cleanup = () => link?.destroy();

  beforeAll(async () => {
    process.once("exit", cleanup); // a crashed run still removes the namespace
    link = ShapedLink.create("test");
    link.shape(RATE);
    server = await startLinkServer(link, ELEMENTS, ["smooth-f64", "random-bits-f64"]);
  }, 180_000);

  afterAll(async () => {
    await server?.stop();
    link?.destroy();
    process.off("exit", cleanup);
    expect(link?.exists() ?? false).toBe(false);
  });

  it("sends smooth float64 compressed: the same bytes and checksum, fewer bytes on the wire", async () => {
    const expected = bytes(makeLinkDataset("smooth-f64", ELEMENTS));
    const l = link as ShapedLink;
    const s = server as LinkServer;
    const off = await fetchAcross(l, s, "smooth-f64", "off");
    const auto = await fetchAcross(l, s, "smooth-f64", "auto");
    console.log(
      `[shaped-link.test] smooth-f64 100 Mbit: off ${off.mbps.toFixed(1)} MB/s (${off.wireByteLength} wire bytes), auto ${auto.mbps.toFixed(1)} MB/s (${auto.wireByteLength} wire bytes, ratio ${(auto.rawByteLength / auto.wireByteLength).toFixed(3)})`,
    );
    for (const t of [off, auto]) {
      expect(Buffer.compare(bytes(t.array), expected)).toBe(0);
      expect(xxh32(bytes(t.array))).toBe(xxh32(expected));
    }
    expect(off.wireByteLength).toBeGreaterThan(expected.byteLength);
    expect(auto.wireByteLength).toBeLessThan(expected.byteLength);
  });

  it("sends random bits raw: the same bytes, and never more on the wire than uncompressed", async () => {
    const expected = bytes(makeLinkDataset("random-bits-f64", ELEMENTS));
    const l = link as ShapedLink;
    const s = server as LinkServer;
    const off = await fetchAcross(l, s, "random-bits-f64", "off");
    const auto = await fetchAcross(l, s, "random-bits-f64", "auto");
    console.log(
      `[shaped-link.test] random-bits-f64 100 Mbit: off ${off.mbps.toFixed(1)} MB/s (${off.wireByteLength} wire bytes), auto ${auto.mbps.toFixed(1)} MB/s (${auto.wireByteLength} wire bytes)`,
    );
    for (const t of [off, auto]) expect(Buffer.compare(bytes(t.array), expected)).toBe(0);
    expect(auto.wireByteLength).toBeGreaterThanOrEqual(expected.byteLength);
    // Same framing both ways; 1 % covers retransmits and ACK noise.
    expect(auto.wireByteLength).toBeLessThan(off.wireByteLength * 1.01);
  });
});
