import type { Clock } from '../clock.js';

export interface AuthLimiterOptions {
  /** Failed authentications per client address per minute, also the burst. @default 30 */
  readonly failuresPerMinute: number;
  /** Addresses tracked at once; the least recently failing is forgotten first (memory stays bounded). @default 10_000 */
  readonly maxAddresses: number;
}

export const DEFAULT_AUTH_LIMITER_OPTIONS: AuthLimiterOptions = Object.freeze({ failuresPerMinute: 30, maxAddresses: 10_000 });

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * A token bucket per client address, spent only by failed authentications: password guessing
 * gets TOOMANYREQUESTS (429 with Retry-After); clients that authenticate are never slowed.
 * IPv6 addresses count per /64, as one host usually holds the whole prefix.
 */
export class AuthLimiter {
  readonly options: AuthLimiterOptions;
  readonly #buckets = new Map<string, Bucket>();

  constructor(options: Partial<AuthLimiterOptions>, private readonly clock: Clock) {
    this.options = Object.freeze({ ...DEFAULT_AUTH_LIMITER_OPTIONS, ...options });
  }

  /** Milliseconds until `address` may try again; 0 when it may now. */
  retryAfterMs(address: string): number {
    const bucket = this.#refilled(groupOf(address));
    if (!bucket || bucket.tokens >= 1) return 0;
    return Math.ceil((1 - bucket.tokens) * this.#msPerToken());
  }

  failed(address: string): void {
    const key = groupOf(address);
    const bucket = this.#refilled(key) ?? { tokens: this.options.failuresPerMinute, at: this.clock.now() };
    bucket.tokens = Math.max(0, bucket.tokens - 1);
    this.#buckets.delete(key); // re-inserted last: the map's order is least recently failing first
    this.#buckets.set(key, bucket);
    if (this.#buckets.size > this.options.maxAddresses) this.#buckets.delete(this.#buckets.keys().next().value!);
  }

  #refilled(key: string): Bucket | undefined {
    const bucket = this.#buckets.get(key);
    if (!bucket) return undefined;
    const now = this.clock.now();
    bucket.tokens = Math.min(this.options.failuresPerMinute, bucket.tokens + (now - bucket.at) / this.#msPerToken());
    bucket.at = now;
    return bucket;
  }

  #msPerToken(): number {
    return 60_000 / this.options.failuresPerMinute;
  }
}

function groupOf(address: string): string {
  const plain = address.replace(/^::ffff:/, '');
  if (!plain.includes(':')) return plain;
  const [head = '', tail] = plain.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = tail === undefined ? left : [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  return groups.slice(0, 4).map((g) => g.toLowerCase().replace(/^0+(?=.)/, '')).join(':');
}
