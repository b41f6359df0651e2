import { isIPv4, isIPv6 } from 'node:net';

/**
 * The key a connection counts against in the per-source bound: the IPv4 address (also when it
 * arrives IPv4-mapped, `::ffff:a.b.c.d`), or the /64 prefix of an IPv6 address. One IPv6 host is
 * normally handed a whole /64, so counting single IPv6 addresses would let one attacker open
 * 2^64 "sources"; a /64 is what nginx and the cloud load balancers treat as one client too.
 * Undefined when the socket has no address any more (it closed before we looked).
 */
export function addressKey(remoteAddress: string | undefined): string | undefined {
  if (!remoteAddress) return undefined;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(remoteAddress);
  if (mapped) return mapped[1];
  if (isIPv4(remoteAddress)) return remoteAddress;
  if (!isIPv6(remoteAddress)) return remoteAddress;
  return `${ipv6Groups(remoteAddress.split('%')[0]!).slice(0, 4).join(':')}::/64`;
}

/** The eight 16-bit groups of an IPv6 address, `::` expanded, each without leading zeros. */
function ipv6Groups(address: string): string[] {
  const [head = '', tail] = address.split('::');
  const part = (s: string): string[] => (s ? s.split(':') : []);
  // An embedded IPv4 tail (`::1.2.3.4`) is two groups; the prefix we keep never reaches it.
  const left = part(head);
  const right = tail === undefined ? [] : part(tail);
  const fill = tail === undefined ? [] : new Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0');
  return [...left, ...fill, ...right].map((g) => (g.includes('.') ? g : (parseInt(g, 16) || 0).toString(16)));
}
