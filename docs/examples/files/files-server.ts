import { ArrayServer, npyFile, zarrArray } from "arraywire/server";

const server = new ArrayServer({ port: 8080 });
server.publish("temps", npyFile("/data/temps.npy")); // one .npy file, read by range from disk
server.publish("grid", zarrArray("/data/grid.zarr")); // one Zarr array (v2 or v3, sharded too)
server.publishDirectory("/srv/arrays", { prefix: "files/" }); // "files/runs/a.npy", "files/grid.zarr", ...
await server.listen();
server.closeOnSignals();
