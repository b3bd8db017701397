/**
 * Server of the shaped-link test and bench, run inside the namespace (`ip netns exec NS node
 * --import tsx bench/link-server.ts HOST ELEMENTS DATASET...`): publishes each dataset (of
 * ELEMENTS elements) under its name with the library defaults (compression on for clients that
 * offer it), listens on HOST, port 0, prints `{"port": N}` on a line of stdout, and runs until
 * its stdin closes (so it never outlives the parent).
 */
import { ArrayServer } from "../server/index.ts";
import { makeLinkDataset } from "./link-datasets.ts";

const [host, elements, ...names] = process.argv.slice(2);
if (!host || !elements || names.length === 0) {
  console.error("usage: link-server.ts HOST ELEMENTS DATASET...");
  process.exit(64);
}
const server = new ArrayServer({ host, port: 0, allowedHosts: true });
for (const name of names) server.publish(name, makeLinkDataset(name, Number(elements)));
const { port } = await server.listen();
process.stdout.write(`${JSON.stringify({ port })}\n`);
process.stdin.resume();
process.stdin.on("end", () => {
  void server.close().then(() => process.exit(0));
});
