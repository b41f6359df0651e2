import { PcgError } from './errors.js';

/** Tunnel protocol versions this build speaks, newest first. */
export const SUPPORTED_PROTOCOLS: readonly number[] = Object.freeze([1]);

/**
 * Picks the highest version both sides support. The offer comes from the gateway's hello;
 * the relay answers with exactly one version or refuses.
 */
export function negotiateProtocol(offered: readonly number[], supported: readonly number[] = SUPPORTED_PROTOCOLS): number {
  const common = offered.filter((v) => supported.includes(v));
  if (common.length === 0) {
    throw new PcgError('PCG_ERR_PROTO_VERSION', `offered protocol versions [${offered.join(', ')}], relay supports [${supported.join(', ')}]`);
  }
  return Math.max(...common);
}
