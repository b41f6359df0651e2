import { createHash, timingSafeEqual } from 'node:crypto';
import { inspect } from 'node:util';

/**
 * A value that must never be printed: logs, errors and JSON show `[redacted]`. Call `reveal()`
 * at the one place that needs the clear value.
 */
export class Secret<T = string> {
  readonly #value: T;
  constructor(value: T) {
    this.#value = value;
  }
  reveal(): T {
    return this.#value;
  }
  toString(): string {
    return '[redacted]';
  }
  toJSON(): string {
    return '[redacted]';
  }
  [inspect.custom](): string {
    return 'Secret([redacted])';
  }
}

/** Equal strings in constant time (hashed first, so lengths leak nothing either): passwords, user names. */
export function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}
