/** ChunkGrid runs against a brute-force walk of every element, for shapes with partial edge chunks. */
import { describe, expect, it } from "vitest";
import { ChunkGrid } from "./chunk-runs.ts";

/** Chunk coords and C-order offset in the chunk of each flattened element, by brute force. */
function locate(shape: number[], chunk: number[], element: number): { coords: number[]; offset: number } {
  const index: number[] = [];
  let rest = element;
  for (let j = shape.length - 1; j >= 0; j--) {
    index[j] = rest % (shape[j] as number);
    rest = Math.floor(rest / (shape[j] as number));
  }
  let offset = 0;
  for (let j = 0; j < shape.length; j++)
    offset = offset * (chunk[j] as number) + ((index[j] as number) % (chunk[j] as number));
  return { coords: index.map((i, j) => Math.floor(i / (chunk[j] as number))), offset };
}

describe("ChunkGrid", () => {
  const cases: [number[], number[]][] = [
    [[1000], [64]],
    [
      [17, 13],
      [5, 4],
    ],
    [
      [9, 7, 5],
      [4, 3, 2],
    ],
    [
      [40, 30],
      [8, 30],
    ],
    [
      [6, 4, 5],
      [4, 4, 5],
    ],
    [
      [6, 4, 5],
      [6, 4, 5],
    ],
    [
      [3, 1, 2],
      [2, 1, 4],
    ],
  ];

  it.each(cases)("cuts every range of shape %j, chunks %j, into runs that match each element", (shape, chunk) => {
    const grid = new ChunkGrid(shape, chunk);
    const total = shape.reduce((a, b) => a * b, 1);
    for (const [start, end] of [
      [0, total],
      [1, total - 1],
      [Math.floor(total / 3), Math.floor((2 * total) / 3) + 1],
    ] as [number, number][]) {
      let element = start;
      let runs = 0;
      while (element < end) {
        const run = grid.runAt(element, end);
        expect(run.elementCount).toBeGreaterThan(0);
        expect(element + run.elementCount).toBeLessThanOrEqual(end);
        for (let t = 0; t < run.elementCount; t++) {
          const where = locate(shape, chunk, element + t);
          expect(run.chunkCoords, `element ${element + t}`).toEqual(where.coords);
          expect(run.chunkElementOffset + t, `element ${element + t}`).toBe(where.offset);
        }
        element += run.elementCount;
        runs++;
      }
      // Runs are as long as contiguity allows: never more runs than elements, and a whole 1-d
      // array takes one run per chunk.
      if (shape.length === 1 && start === 0 && end === total)
        expect(runs).toBe(Math.ceil(total / (chunk[0] as number)));
    }
  });

  it("maps a run offset into a Fortran-order chunk", () => {
    const grid = new ChunkGrid([8, 6], [4, 3]);
    // Element (2, 1) of a 4x3 chunk: C offset 2*3+1 = 7; F strides [1, 4]: 2 + 4 = 6.
    expect(grid.stridedOffset(7, [1, 4])).toBe(6);
    expect(grid.isCOrder([3, 1])).toBe(true);
    expect(grid.isCOrder([1, 4])).toBe(false);
  });
});
