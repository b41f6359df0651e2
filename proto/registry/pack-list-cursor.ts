import { PcgError } from '../errors.js';

/**
 * The opaque `cursor` of pack listings (the public registry's and a gateway's synced index alike):
 * the last row's (name, version sort key), as base64url JSON, so pages hold still while packs change.
 */
export function encodePackCursor(name: string, versionKey: string): string {
  return Buffer.from(JSON.stringify([name, versionKey])).toString('base64url');
}

export function decodePackCursor(cursor: string): [name: string, versionKey: string] {
  try {
    const value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(value) && value.length === 2 && value.every((v) => typeof v === 'string')) return value as [string, string];
  } catch {
    // fall through: a cursor we did not make
  }
  throw new PcgError('PCG_ERR_BAD_REQUEST', 'cursor is not one this registry returned; start again without it');
}
