import { PcgError } from '../../proto/errors.js';
import { broadcastOf, formatIpv4, networkOf, parseCidr, parseIpv4 } from './ipv4.js';

/** The largest pool accepted: allocation reads a pool's allocations at once, so a bound keeps that cheap. */
export const MAX_POOL_SIZE = 65_536;

/** An IP pool as a user writes it: a range with its prefix, or a whole subnet. */
export interface IpPoolInput {
  readonly range?: { readonly start: string; readonly end: string } | undefined;
  /** `a.b.c.d/n`: every usable host (not the network, broadcast or gateway address). */
  readonly subnet?: string | undefined;
  /** Required with `range`; with `subnet` it must equal the subnet's. */
  readonly prefix?: number | undefined;
  readonly gateway?: string | undefined;
  readonly dns?: readonly string[] | undefined;
  readonly searchDomains?: readonly string[] | undefined;
}

/** A checked pool: the range [firstIp, lastIp] as integers; `gateway` is never handed to a node. */
export interface IpPoolDefinition {
  readonly firstIp: number;
  readonly lastIp: number;
  readonly prefix: number;
  readonly gateway: string | null;
  readonly dns: string[];
  readonly searchDomains: string[];
}

const bad = (detail: string) => new PcgError('PCG_ERR_BAD_REQUEST', detail);

/** Addresses a pool can hand out: its range, less the gateway when the gateway lies inside it (subnet pools). */
export function poolSize(pool: { readonly first_ip: number; readonly last_ip: number; readonly gateway: string | null }): number {
  const gateway = pool.gateway === null ? undefined : parseIpv4(pool.gateway);
  const inside = gateway !== undefined && gateway >= pool.first_ip && gateway <= pool.last_ip;
  return pool.last_ip - pool.first_ip + 1 - (inside ? 1 : 0);
}

/**
 * Checks a pool as written and resolves it to a range. Refuses (PCG_ERR_BAD_REQUEST, naming the
 * field): both or neither of range and subnet, start after end, addresses outside one prefix or on
 * its network/broadcast address, a gateway outside the subnet or inside a range, more than
 * MAX_POOL_SIZE addresses.
 */
export function resolveIpPool(input: IpPoolInput): IpPoolDefinition {
  if ((input.range === undefined) === (input.subnet === undefined)) throw bad('give either range {start, end} or subnet "a.b.c.d/n", not both');
  const gateway = input.gateway === undefined ? undefined : ip(input.gateway, 'gateway');
  const common = { gateway: input.gateway ?? null, dns: [...(input.dns ?? [])], searchDomains: [...(input.searchDomains ?? [])] };
  if (input.subnet !== undefined) {
    const cidr = parseCidr(input.subnet);
    if (!cidr) throw bad(`subnet "${input.subnet}" is not a network address with a prefix, like 10.0.0.0/24`);
    if (input.prefix !== undefined && input.prefix !== cidr.prefix) throw bad(`prefix ${input.prefix} differs from the subnet's /${cidr.prefix}`);
    if (cidr.prefix > 30) throw bad(`subnet /${cidr.prefix} leaves no host addresses besides its gateway; use /30 or larger`);
    let first = cidr.network + 1;
    let last = broadcastOf(cidr.network, cidr.prefix) - 1;
    if (gateway !== undefined) {
      if (gateway < first || gateway > last) throw bad(`gateway ${input.gateway} is not a host address of ${input.subnet}`);
      // A gateway at either end narrows the range; one in the middle is skipped by allocation.
      if (gateway === first) first++;
      else if (gateway === last) last--;
    }
    const definition = { firstIp: first, lastIp: last, prefix: cidr.prefix, ...common };
    checkSize(definition);
    return definition;
  }
  const { start: startText, end: endText } = input.range!;
  if (input.prefix === undefined) throw bad('a range needs its prefix (the subnet mask length, e.g. 24)');
  const prefix = input.prefix;
  const start = ip(startText, 'range.start');
  const end = ip(endText, 'range.end');
  if (start > end) throw bad(`range.start ${startText} is after range.end ${endText}`);
  const network = networkOf(gateway ?? start, prefix);
  for (const [field, value, text] of [['range.start', start, startText], ['range.end', end, endText]] as const) {
    if (networkOf(value, prefix) !== network) throw bad(`${field} ${text} is outside ${formatIpv4(network)}/${prefix}${gateway !== undefined ? ` (the gateway's network)` : ''}`);
    if (prefix <= 30 && (value === network || value === broadcastOf(network, prefix))) throw bad(`${field} ${text} is the network or broadcast address of ${formatIpv4(network)}/${prefix}`);
  }
  if (gateway !== undefined) {
    if (gateway >= start && gateway <= end) throw bad(`gateway ${input.gateway} lies inside the range; nodes would be handed the gateway's address`);
    if (prefix <= 30 && (gateway === network || gateway === broadcastOf(network, prefix))) throw bad(`gateway ${input.gateway} is the network or broadcast address of ${formatIpv4(network)}/${prefix}`);
  }
  const definition = { firstIp: start, lastIp: end, prefix, ...common };
  checkSize(definition);
  return definition;
}

function ip(text: string, field: string): number {
  const value = parseIpv4(text);
  if (value === undefined) throw bad(`${field} "${text}" is not an IPv4 address`);
  return value;
}

function checkSize(definition: IpPoolDefinition): void {
  const size = poolSize({ first_ip: definition.firstIp, last_ip: definition.lastIp, gateway: definition.gateway });
  if (size < 1) throw bad('the pool holds no address a node could use');
  if (size > MAX_POOL_SIZE) throw bad(`the pool holds ${size} addresses; at most ${MAX_POOL_SIZE} are allowed`);
}
