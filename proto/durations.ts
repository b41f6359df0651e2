import { PcgError } from './errors.js';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses `250ms`, `15s`, `15m`, `24h`, `7d` (or a bare number of ms) for flags and config. */
export function parseDuration(text: string, key: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(text.trim());
  if (!match) throw new PcgError('PCG_ERR_CONFIG_INVALID', `${key}: "${text}" is not a duration like 500ms, 15s, 15m or 24h`);
  return Math.round(Number(match[1]) * UNITS[match[2] ?? 'ms']!);
}
