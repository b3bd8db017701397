/**
 * Which bytes of which chunks make up a range of a chunked array's flattened C-order elements.
 * A range is cut into runs: elements that are contiguous both in the flattened array and in one
 * C-order chunk. Runs go along the last axis whose chunk is narrower than the array, times the
 * axes after it (where the chunk spans the whole array, so whole rows follow each other in the
 * chunk as in the array): for a 1-d array a run is everything up to the next chunk boundary.
 */

/** A run: `elementCount` elements starting at element `chunkElementOffset` of the C-order chunk `chunkCoords`. */
export interface ChunkRun {
  readonly chunkCoords: number[];
  readonly chunkElementOffset: number;
  readonly elementCount: number;
}

export class ChunkGrid {
  readonly shape: readonly number[];
  readonly chunkShape: readonly number[];
  /** The run axis: the last axis whose chunk does not span the array (0 when every chunk spans it). */
  readonly #runAxis: number;
  /** Elements per step along the run axis: product of the array's dims after it. */
  readonly #inner: number;
  /** C-order element strides of a chunk. */
  readonly #chunkStrides: number[];

  constructor(shape: readonly number[], chunkShape: readonly number[]) {
    if (shape.length !== chunkShape.length || shape.length === 0) {
      throw new RangeError(`Chunk grid: expected a chunk shape of ${shape.length} dims, got [${chunkShape}]`);
    }
    this.shape = shape;
    this.chunkShape = chunkShape;
    let axis = shape.length - 1;
    while (axis > 0 && chunkShape[axis] === shape[axis]) axis--;
    this.#runAxis = axis;
    this.#inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
    this.#chunkStrides = chunkShape.map((_, j) => chunkShape.slice(j + 1).reduce((a, b) => a * b, 1));
  }

  /** Elements in one chunk. */
  get chunkElementCount(): number {
    return this.chunkShape.reduce((a, b) => a * b, 1);
  }

  /** The key zarrita's chunk coordinates get in a cache. */
  static keyOf(coords: readonly number[]): string {
    return coords.join(",");
  }

  /** The run that starts at flattened element `element` and ends at most at `end`. */
  runAt(element: number, end: number): ChunkRun {
    const m = this.#runAxis;
    const inner = this.#inner;
    const q = Math.floor(element / inner);
    const r = element - q * inner;
    const dimM = this.shape[m] as number;
    const im = q % dimM;
    let prefix = (q - im) / dimM;
    const coords = new Array<number>(this.shape.length).fill(0);
    let offset = r;
    // Axes before the run axis, from the last: their indices come from `prefix`, C order.
    for (let j = m - 1; j >= 0; j--) {
      const dim = this.shape[j] as number;
      const i = prefix % dim;
      prefix = (prefix - i) / dim;
      const c = this.chunkShape[j] as number;
      coords[j] = Math.floor(i / c);
      offset += (i % c) * (this.#chunkStrides[j] as number);
    }
    const cm = this.chunkShape[m] as number;
    coords[m] = Math.floor(im / cm);
    offset += (im % cm) * (this.#chunkStrides[m] as number);
    const runEndIm = Math.min((coords[m] + 1) * cm, dimM);
    const runEnd = element - r - im * inner + runEndIm * inner;
    return { chunkCoords: coords, chunkElementOffset: offset, elementCount: Math.min(runEnd, end) - element };
  }

  /**
   * Where element `chunkElementOffset + t` of a run lies in a chunk stored with `strides`
   * (elements; a Fortran-order or transposed chunk), for chunks that are not C order.
   */
  stridedOffset(chunkElementOffset: number, strides: readonly number[]): number {
    let rest = chunkElementOffset;
    let offset = 0;
    for (let j = 0; j < this.chunkShape.length; j++) {
      const stride = this.#chunkStrides[j] as number;
      const i = Math.floor(rest / stride);
      rest -= i * stride;
      offset += i * (strides[j] as number);
    }
    return offset;
  }

  /** True when `strides` are the C-order strides of a chunk. */
  isCOrder(strides: readonly number[]): boolean {
    return strides.every((s, j) => s === this.#chunkStrides[j] || (this.chunkShape[j] as number) <= 1);
  }
}
