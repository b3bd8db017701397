import { ArrayServer } from "arraywire/server";
import publish from "./arrays.ts";

const arrays = new ArrayServer({
  port: 8080, // on 127.0.0.1 unless you pass host
  allowedOrigins: ["http://localhost:5173"], // the page's origin (Vite's dev server)
});
publish(arrays);
await arrays.listen();
arrays.closeOnSignals(); // Ctrl+C: streams in flight get E_SHUTDOWN
console.log(`arrays at ${arrays.url}`);
