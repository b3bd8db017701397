import { subscribe } from "arraywire/client";
import { ArrayServer } from "arraywire/server";

const server = new ArrayServer({ port: 8080 });
await server.listen();
const live = server.publishLive("signal", { dtype: "float64", maxLength: 1_000_000, rowShape: [100] });
let rows = 0;
const timer = setInterval(() => {
  live.append(Float64Array.from({ length: 100 }, () => Math.random())); // whole rows only
  if (++rows === 20) {
    clearInterval(timer);
    live.close(); // subscribers get END
  }
}, 50);

const result = await subscribe<Float64Array>(server.url, "signal", {
  onAppend: ({ appended, length }) => console.log(`+${appended.length} values, ${length} in all`), // views of the growing buffer
});
console.log("rows received:", result.array.length / 100);
await server.close();
