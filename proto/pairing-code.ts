import { randomInt } from 'node:crypto';
import { PcgError } from './errors.js';

/**
 * Pairing code: 16 Crockford base32 characters shown as XXXX-XXXX-XXXX-XXXX. The first group is
 * the public lookup id (20 bits), the other three the secret (60 bits). Crockford's alphabet has
 * no I, L, O or U, and reading I/L as 1 and O as 0 forgives codes typed from a screen.
 */
export const CROCKFORD_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const GROUP = 4;
const LENGTH = 16;

export interface PairingCode {
  /** Public lookup id: the first group. */
  readonly id: string;
  /** The 12-character secret: the other three groups, without dashes. */
  readonly secret: string;
}

export function generatePairingCode(): PairingCode {
  let chars = '';
  for (let i = 0; i < LENGTH; i++) chars += CROCKFORD_ALPHABET[randomInt(32)];
  return { id: chars.slice(0, GROUP), secret: chars.slice(GROUP) };
}

export function formatPairingCode(code: PairingCode): string {
  const all = code.id + code.secret;
  return [0, 4, 8, 12].map((i) => all.slice(i, i + GROUP)).join('-');
}

/** Parses what a person typed; throws PCG_ERR_PAIR_CODE_FORMAT without echoing the input. */
export function parsePairingCode(input: string): PairingCode {
  const normalized = input.toUpperCase().replace(/[\s-]/g, '').replace(/[IL]/g, '1').replace(/O/g, '0');
  if (normalized.length !== LENGTH) {
    throw new PcgError('PCG_ERR_PAIR_CODE_FORMAT', `the pairing code has ${normalized.length} characters, expected ${LENGTH}`);
  }
  for (const ch of normalized) {
    if (!CROCKFORD_ALPHABET.includes(ch)) {
      throw new PcgError('PCG_ERR_PAIR_CODE_FORMAT', 'the pairing code contains a character outside Crockford base32');
    }
  }
  return { id: normalized.slice(0, GROUP), secret: normalized.slice(GROUP) };
}
