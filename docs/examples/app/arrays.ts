import { type ArrayServer, arange } from "arraywire/server";

/** What the app serves: 50 million float64 values (400 MB), and arrays generated on request. */
export default function publish(arrays: ArrayServer): void {
  const temperature = new Float64Array(50_000_000);
  for (let i = 0; i < temperature.length; i++) temperature[i] = 273.15 + (i % 10_000) / 100;
  // Sent as views of this memory, never copied; publish the name again to change it.
  arrays.publish("temperature", temperature, { shape: [5_000, 10_000], meta: { unit: "K" } });
  arrays.publish("arange", arange()); // params { length, dtype, start, step, shape }
}
