import type { ApplianceValues } from '../appliance/appliance-properties.js';
import type { SetupSettings } from '../setup/setup-settings.js';
import { splitList } from './guest-network.js';

/** installer-dir/auto-setup.json (0600, holds the code): read by pcg-auto-setup.service, then removed. */
export const AUTO_SETUP_FILE = 'auto-setup.json';
/** installer-dir/auto-setup-report.json: the outcome (`setup --json`), for the wizard and the admin. */
export const AUTO_SETUP_REPORT_FILE = 'auto-setup-report.json';

/**
 * Setup settings from the vApp properties when they carry both a pairing code and the relay
 * endpoint: the appliance then pairs without anyone opening the wizard. Values go as typed; the
 * setup's own checks normalise and validate them, as for the wizard's form.
 */
export function autoSetupSettings(values: ApplianceValues): SetupSettings | undefined {
  const pairingCode = values['pcg.pairingCode'] ?? '';
  const relayUrl = values['pcg.relayUrl'] ?? '';
  if (!pairingCode || !relayUrl) return undefined;
  const caPin = values['pcg.caPin'];
  const httpsProxy = values['pcg.httpsProxy'];
  const proxyCa = values['pcg.proxyCa'];
  const ntp = splitList(values['pcg.ntp']);
  const settings: SetupSettings = {
    relayUrl, pairingCode,
    ...(caPin ? { caPin } : {}),
    ...(httpsProxy ? {
      proxy: {
        httpsProxy,
        ...(values['pcg.noProxy'] ? { noProxy: values['pcg.noProxy'] } : {}),
        ...(proxyCa ? { proxyCaPem: proxyCa.includes('-----BEGIN') ? proxyCa : Buffer.from(proxyCa, 'base64').toString('utf8') } : {}),
      },
    } : {}),
    ...(values['pcg.network'] === 'static' ? {
      network: {
        mode: 'static' as const, ip: values['pcg.ip'] ?? '', prefix: Number(values['pcg.prefix'] || '24'),
        gateway: values['pcg.gateway'] ?? '', dns: splitList(values['pcg.dns']),
      },
    } : {}),
    ...(ntp.length > 0 ? { ntp: { servers: ntp } } : {}),
  };
  return settings;
}
