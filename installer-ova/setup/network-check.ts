import { PcgError } from '../../proto/errors.js';
import type { CheckReport } from './check-report-schema.js';
import { CheckRecorder } from './check-report.js';
import type { NetworkSettings } from './setup-settings.js';

const DOTTED = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** A dotted IPv4 address as a 32-bit unsigned number; no leading zeros (010 reads as octal elsewhere). */
export function ipv4ToNumber(value: string, field: string): number {
  const text = value.trim();
  if (!DOTTED.test(text)) throw invalid(field, `"${value}" is not a dotted IPv4 address like 192.168.1.20`);
  return text.split('.').reduce((n, part) => n * 256 + Number(part), 0);
}

const dotted = (n: number): string => [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.');

function invalid(field: string, what: string): PcgError {
  return new PcgError('PCG_ERR_NETWORK_INVALID', `${field}: ${what}`);
}

/** A host address: not 0.x, loopback, multicast or reserved, which no NIC of the appliance may take. */
function assertUsable(n: number, field: string, value: string): void {
  const first = n >>> 24;
  if (first === 0 || first === 127 || first >= 224) throw invalid(field, `${value.trim()} is not a usable host address (0.x, 127.x, multicast or reserved)`);
}

/**
 * Static addressing, checked offline: formats, prefix 1–32, the gateway inside the subnet and not
 * the appliance's own address, the address neither the subnet's network nor its broadcast address
 * (except /31 and /32, which have neither), and at least one valid DNS server.
 */
export function checkNetwork(input: NetworkSettings): Promise<CheckReport> {
  return new CheckRecorder().run(async (r) => {
    if (input.mode === 'dhcp') {
      r.pass('mode', 'DHCP: the address, gateway and DNS come from the network');
      return;
    }
    const ip = await r.step('ip', 'network.ip', () => {
      const n = ipv4ToNumber(input.ip, 'network.ip');
      assertUsable(n, 'network.ip', input.ip);
      return n;
    }, (n) => dotted(n));
    const prefix = await r.step('prefix', 'network.prefix', () => {
      if (!Number.isInteger(input.prefix) || input.prefix < 1 || input.prefix > 32) throw invalid('network.prefix', `${input.prefix} is not a prefix length from 1 to 32`);
      return input.prefix;
    }, (p) => `/${p}, netmask ${dotted(mask(p))}`);
    const network = (ip & mask(prefix)) >>> 0;
    const broadcast = (network | ~mask(prefix)) >>> 0;
    await r.step('subnet', 'network.ip', () => {
      if (prefix <= 30 && ip === network) throw invalid('network.ip', `${dotted(ip)} is the network address of ${dotted(network)}/${prefix}`);
      if (prefix <= 30 && ip === broadcast) throw invalid('network.ip', `${dotted(ip)} is the broadcast address of ${dotted(network)}/${prefix}`);
    }, () => `subnet ${dotted(network)}/${prefix}`);
    await r.step('gateway', 'network.gateway', () => {
      const gw = ipv4ToNumber(input.gateway, 'network.gateway');
      if (gw === ip) throw invalid('network.gateway', `${dotted(gw)} is the appliance's own address; enter the router's`);
      if (((gw & mask(prefix)) >>> 0) !== network) throw invalid('network.gateway', `${dotted(gw)} is outside the subnet ${dotted(network)}/${prefix}`);
      if (prefix <= 30 && (gw === network || gw === broadcast)) throw invalid('network.gateway', `${dotted(gw)} is the ${gw === network ? 'network' : 'broadcast'} address of ${dotted(network)}/${prefix}`);
      return gw;
    }, (gw) => `${dotted(gw)}, inside ${dotted(network)}/${prefix}`);
    await r.step('dns', 'network.dns', () => {
      if (input.dns.length === 0) throw invalid('network.dns', 'enter at least one DNS server');
      return input.dns.map((value, i) => {
        const n = ipv4ToNumber(value, `network.dns.${i}`);
        assertUsable(n, `network.dns.${i}`, value);
        return dotted(n);
      });
    }, (list) => list.join(', '));
  }).then((report) => withDnsField(report));
}

/** The failing DNS entry is named by index (network.dns.1): the form marks that one. */
function withDnsField(report: CheckReport): CheckReport {
  const field = /^(network\.dns\.\d+):/.exec(report.error?.message ?? '')?.[1];
  return field && report.error ? { ...report, error: { ...report.error, field } } : report;
}

function mask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}
