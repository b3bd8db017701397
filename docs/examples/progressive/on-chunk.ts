import { fetchArray } from "arraywire/client";

const url = "/arraywire";
const chart = { append: (values: Float64Array) => console.log(`${values.length} more values`) }; // your chart

const { array } = await fetchArray(url, "prices", {
  dtype: "float64",
  onChunk: ({ array, elementStart, elementEnd }) => chart.append(array.subarray(elementStart, elementEnd)),
});
console.log(`all ${array.length} prices`);
