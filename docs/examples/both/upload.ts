import { uploadArray } from "arraywire/client";
import { ArrayServer } from "arraywire/server";

// server: uploads under "upload/" are published once verified, at most 512 MiB each
const server = new ArrayServer({
  port: 8080,
  upload: {
    onUpload: ({ name }) => (name.startsWith("upload/") ? { allocate: true, publish: true } : false),
    maxUploadBytes: 512 * 1024 * 1024,
  },
});
await server.listen();

// client (browser or Node): views of the caller's array go up in chunks
const temps = Float64Array.from({ length: 1_000_000 }, (_, i) => 20 + Math.sin(i / 1000));
await uploadArray(server.url, "upload/temps", temps, {
  onProgress: (p) => console.log(p.sentByteLength, "of", p.totalByteLength),
  resume: true,
});
console.log("published:", server.names().includes("upload/temps"));
await server.close();
