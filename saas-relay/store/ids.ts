import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** Prefixed random id (`gw_…`, `ten_…`): 20 base62 characters, ~119 bits. */
export function newId(prefix: 'ten' | 'prj' | 'usr' | 'rb' | 'key' | 'gw' | 'cld' | 'rly' | 'req' | 'prf' | 'cls' | 'job' | 'ipp'): string {
  const bytes = randomBytes(20);
  let out = `${prefix}_`;
  // 256 % 62 leaves a slight bias on 8 of 62 symbols; irrelevant for ids that are not secrets.
  for (const b of bytes) out += ALPHABET[b % 62];
  return out;
}
