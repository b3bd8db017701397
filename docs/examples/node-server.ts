import { ArrayServer, arange } from "arraywire/server";

const server = new ArrayServer({ port: 8080 }); // on 127.0.0.1 unless you pass host
const temperature = new Float64Array(50_000_000); // 400 MB, sent as views of its memory: never copied
for (let i = 0; i < temperature.length; i++) temperature[i] = 273.15 + (i % 10_000) / 100;
server.publish("temperature", temperature, { shape: [5_000, 10_000], meta: { unit: "K" } });
server.publish("arange", arange()); // generated on request: params { length, dtype, start, step, shape }
await server.listen();
server.closeOnSignals(); // SIGINT/SIGTERM: streams in flight get E_SHUTDOWN
console.log(server.url); // ws://127.0.0.1:8080/arraywire
