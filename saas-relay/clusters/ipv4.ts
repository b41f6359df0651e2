/**
 * IPv4 addresses as unsigned 32-bit integers: how IP pools store their range and allocations,
 * so "the lowest free address" is an integer comparison in SQL on both engines.
 */

/** `a.b.c.d` → integer; undefined for anything that is not a dotted quad of 0..255 without leading zeros. */
export function parseIpv4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part)) return undefined;
    const octet = Number(part);
    if (octet > 255) return undefined;
    value = value * 256 + octet;
  }
  return value;
}

export function formatIpv4(value: number): string {
  return [value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255].join('.');
}

/** The network mask of a prefix length, as an unsigned integer (prefix 0 → 0). */
export function prefixMask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** The network address of `ip` under `prefix`. */
export function networkOf(ip: number, prefix: number): number {
  return (ip & prefixMask(prefix)) >>> 0;
}

/** The broadcast address of `ip`'s network under `prefix`. */
export function broadcastOf(ip: number, prefix: number): number {
  return (networkOf(ip, prefix) | (~prefixMask(prefix) >>> 0)) >>> 0;
}

export interface Cidr {
  readonly network: number;
  readonly prefix: number;
}

/** `a.b.c.d/n` → its network and prefix; undefined when malformed or when host bits are set. */
export function parseCidr(text: string): Cidr | undefined {
  const match = /^([0-9.]+)\/([0-9]{1,2})$/.exec(text);
  if (!match) return undefined;
  const ip = parseIpv4(match[1]!);
  const prefix = Number(match[2]);
  if (ip === undefined || prefix > 32) return undefined;
  if (networkOf(ip, prefix) !== ip) return undefined;
  return { network: ip, prefix };
}
