/** Exponential backoff with full jitter (AWS architecture blog), capped, with a floor so it never spins. */
export interface BackoffOptions {
  /** First delay ceiling. @default 500 */
  readonly initialMs: number;
  /** Largest delay ceiling. @default 30_000 */
  readonly maxMs: number;
  /** Smallest delay ever returned. @default 100 */
  readonly floorMs: number;
}

export class Backoff {
  #attempt = 0;
  constructor(private readonly options: BackoffOptions, private readonly random: () => number = Math.random) {}

  /** Delay before the next attempt: uniform in [floor, min(max, initial·2^attempt)]. */
  next(): number {
    const ceiling = Math.min(this.options.maxMs, this.options.initialMs * 2 ** Math.min(this.#attempt, 30));
    this.#attempt++;
    return Math.max(this.options.floorMs, Math.round(this.random() * ceiling));
  }

  /** A retry-after hint from the relay, spread by jitter so a refused crowd does not return at once. */
  afterHint(retryAfterMs: number): number {
    this.#attempt++;
    return Math.round(retryAfterMs * (1 + this.random()));
  }

  reset(): void {
    this.#attempt = 0;
  }

  get attempts(): number {
    return this.#attempt;
  }
}
