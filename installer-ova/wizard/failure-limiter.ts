/**
 * Wrong setup tokens per source address: `limit` failures in `windowMs`, then every request from
 * that address is refused until the window has passed since its oldest counted failure. With a
 * 100-bit token this makes guessing hopeless; it also keeps a script from hammering the checks.
 * Bounded: past `maxAddresses` the address seen least recently is forgotten.
 */
export class FailureLimiter {
  readonly #failures = new Map<string, number[]>();

  constructor(private readonly limit = 10, private readonly windowMs = 60_000, private readonly maxAddresses = 10_000, private readonly now: () => number = Date.now) {}

  /** Milliseconds until `address` may try again, or 0 when it may now. */
  retryAfterMs(address: string): number {
    const recent = this.#recent(address);
    if (recent.length < this.limit) return 0;
    return Math.max(1, recent[recent.length - this.limit]! + this.windowMs - this.now());
  }

  recordFailure(address: string): void {
    const recent = this.#recent(address);
    recent.push(this.now());
    this.#failures.delete(address);
    this.#failures.set(address, recent.slice(-this.limit));
    if (this.#failures.size > this.maxAddresses) this.#failures.delete(this.#failures.keys().next().value!);
  }

  #recent(address: string): number[] {
    const since = this.now() - this.windowMs;
    return (this.#failures.get(address) ?? []).filter((t) => t > since);
  }
}
