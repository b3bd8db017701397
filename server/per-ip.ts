/**
 * WebSocket connections plus HTTP streams open at once per remote address, for
 * maxConnectionsPerIp. Both transports count against the same cap.
 */
export class PerIpLimit {
  readonly #max: number;
  readonly #counts = new Map<string, number>();

  constructor(max: number) {
    this.#max = max;
  }

  /** The cap. */
  get max(): number {
    return this.#max;
  }

  /** Counts one more from `ip`; false when that is over the cap (count it back with {@link leave} either way). */
  enter(ip: string): boolean {
    const count = (this.#counts.get(ip) ?? 0) + 1;
    this.#counts.set(ip, count);
    return count <= this.#max;
  }

  leave(ip: string): void {
    const left = (this.#counts.get(ip) ?? 1) - 1;
    if (left === 0) this.#counts.delete(ip);
    else this.#counts.set(ip, left);
  }
}
