import { isIPv4 } from 'node:net';
import type { ApplianceValues } from '../appliance/appliance-properties.js';

/** Matches before the image's 80-pcg-dhcp.network: networkd takes the first file that matches. */
export const STATIC_NETWORK_FILE = '10-pcg-static.network';
/** A drop-in of timesyncd.conf: its NTP= replaces the built-in and DHCP-given servers. */
export const NTP_DROP_IN_FILE = '50-pcg.conf';

export type Rendered = { readonly ok: true; readonly text: string | undefined; readonly summary: string } | { readonly ok: false; readonly problem: string };

/**
 * systemd-networkd file for pcg.network=static; `text` undefined means DHCP (the image default).
 * Invalid values are refused as a whole, never half-applied: a wrong address would cut the
 * appliance off, while DHCP still lets the admin reach the wizard and fix it.
 */
export function renderStaticNetwork(values: ApplianceValues): Rendered {
  const mode = values['pcg.network'] || 'dhcp';
  if (mode === 'dhcp') return { ok: true, text: undefined, summary: 'DHCP' };
  if (mode !== 'static') return { ok: false, problem: `pcg.network is "${mode}"; use dhcp or static` };
  const ip = values['pcg.ip'] ?? '';
  const prefix = Number(values['pcg.prefix'] || '24');
  const gateway = values['pcg.gateway'] ?? '';
  const dns = splitList(values['pcg.dns']);
  if (!isIPv4(ip)) return { ok: false, problem: `pcg.ip "${ip}" is not an IPv4 address` };
  if (!Number.isInteger(prefix) || prefix < 1 || prefix > 32) return { ok: false, problem: `pcg.prefix "${values['pcg.prefix']}" is not 1 to 32` };
  if (gateway && !isIPv4(gateway)) return { ok: false, problem: `pcg.gateway "${gateway}" is not an IPv4 address` };
  const badDns = dns.find((d) => !isIPv4(d));
  if (badDns !== undefined) return { ok: false, problem: `pcg.dns "${badDns}" is not an IPv4 address` };
  const text = [
    '# Written by pcg-first-boot from the vApp properties (pcg.network=static).',
    '[Match]', 'Name=en* eth*', '',
    '[Network]', `Address=${ip}/${prefix}`, ...(gateway ? [`Gateway=${gateway}`] : []), ...dns.map((d) => `DNS=${d}`), '',
  ].join('\n');
  return { ok: true, text, summary: `static ${ip}/${prefix}${gateway ? ` via ${gateway}` : ''}${dns.length ? `, DNS ${dns.join(' ')}` : ''}` };
}

/** timesyncd drop-in for pcg.ntp; `text` undefined keeps DHCP-given or built-in servers. */
export function renderNtp(values: ApplianceValues): Rendered {
  const servers = splitList(values['pcg.ntp']);
  if (servers.length === 0) return { ok: true, text: undefined, summary: 'NTP from DHCP or built in' };
  const bad = servers.find((s) => !/^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(s) && !isIPv4(s));
  if (bad !== undefined) return { ok: false, problem: `pcg.ntp "${bad}" is not a host name or IPv4 address` };
  return { ok: true, text: `# Written by pcg-first-boot from pcg.ntp.\n[Time]\nNTP=${servers.join(' ')}\n`, summary: `NTP ${servers.join(' ')}` };
}

/** Comma- or space-separated list, empty entries dropped. */
export function splitList(value: string | undefined): string[] {
  return (value ?? '').split(/[\s,]+/).map((s) => s.trim()).filter(Boolean);
}
