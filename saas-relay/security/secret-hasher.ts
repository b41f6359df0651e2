import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Keyed hash of secrets at rest (pairing codes, API keys). The key lives in the relay's data
 * dir, not in the database, so a leaked database alone cannot check guesses offline.
 */
export class SecretHasher {
  readonly #key: Buffer;
  constructor(key: Buffer) {
    if (key.length < 32) throw new RangeError('hash key must be at least 32 bytes');
    this.#key = key;
  }

  /** `purpose` separates domains: a pairing-code hash never matches an API-key hash. */
  hash(purpose: string, subject: string, secret: string): string {
    return createHmac('sha256', this.#key).update(`${purpose}\0${subject}\0${secret}`).digest('hex');
  }

  matches(purpose: string, subject: string, secret: string, expectedHex: string): boolean {
    const actual = Buffer.from(this.hash(purpose, subject, secret), 'hex');
    const expected = Buffer.from(expectedHex, 'hex');
    return actual.length === expected.length && timingSafeEqual(actual, expected);
  }
}
