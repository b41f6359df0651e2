import { normalizeIP } from '@fastify/rate-limit';
import type { Clock } from '../../proto/clock.js';
import { PcgError } from '../../proto/errors.js';

export interface AddressRateLimiterOptions {
  /** Failures allowed per source address per minute; also the burst. */
  readonly perMinute: number;
  /** Addresses remembered at once; the least recently seen is forgotten first. @default 10_000 */
  readonly maxAddresses?: number;
}

/** PCG_ERR_RATE_LIMITED with how long to wait; the tunnel sends it as `retry_after_ms`. */
export class RateLimitedError extends PcgError {
  constructor(readonly retryAfterMs: number, what: string) {
    super('PCG_ERR_RATE_LIMITED', `too many ${what} from this address; retry in ${Math.ceil(retryAfterMs / 1000)} s`);
  }
}

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * Token bucket per source address (IPv6 grouped by /64, as @fastify/rate-limit does on the REST
 * side) that counts failures only: a gateway that proves its code or identity never pays, so a
 * tenant's own traffic is not limited by an attacker's failures from the same address.
 *
 * A failure may take the bucket below zero. Attempts are admitted while a token is left and
 * their failures are counted when they end, so a burst sent at once is admitted whole; the debt
 * makes the address wait until it is paid back, and the long-run rate stays `perMinute`.
 * Memory is bounded: at most `maxAddresses` buckets, full ones are dropped (they say nothing).
 */
export class AddressRateLimiter {
  readonly #buckets = new Map<string, Bucket>();
  readonly #perMs: number;
  readonly #maxAddresses: number;

  constructor(private readonly options: AddressRateLimiterOptions, private readonly clock: Clock) {
    this.#perMs = options.perMinute / 60_000;
    this.#maxAddresses = options.maxAddresses ?? 10_000;
  }

  /** Throws RateLimitedError when `address` has no failure left to spend right now. */
  assertAdmitted(address: string | undefined, what: string): void {
    const bucket = this.#refilled(normalize(address));
    if (bucket && bucket.tokens < 1) throw new RateLimitedError(Math.ceil((1 - bucket.tokens) / this.#perMs), what);
  }

  /** Counts one failure of `address`. */
  recordFailure(address: string | undefined): void {
    const key = normalize(address);
    const bucket = this.#refilled(key) ?? { tokens: this.options.perMinute, at: this.clock.now() };
    bucket.tokens -= 1;
    this.#buckets.delete(key); // re-inserted last: Map order is the recency order
    this.#buckets.set(key, bucket);
    if (this.#buckets.size > this.#maxAddresses) this.#buckets.delete(this.#buckets.keys().next().value!);
  }

  /** Addresses currently remembered (tests, metrics). */
  get size(): number {
    return this.#buckets.size;
  }

  #refilled(key: string): Bucket | undefined {
    const bucket = this.#buckets.get(key);
    if (!bucket) return undefined;
    const now = this.clock.now();
    bucket.tokens = Math.min(this.options.perMinute, bucket.tokens + (now - bucket.at) * this.#perMs);
    bucket.at = now;
    if (bucket.tokens >= this.options.perMinute) {
      this.#buckets.delete(key);
      return undefined;
    }
    return bucket;
  }
}

function normalize(address: string | undefined): string {
  return address ? normalizeIP(address) : 'unknown';
}
