import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { writeFileAtomic } from '../../proto/atomic-file.js';
import { systemClock } from '../../proto/clock.js';
import { APPLIANCE_PATHS } from '../appliance/appliance-paths.js';
import { APPLIANCE_PROPERTIES, type ApplianceValues } from '../appliance/appliance-properties.js';
import { readSetupRecord } from '../setup/setup-record.js';
import { SETUP_TOKEN_FILE } from '../setup/setup-token.js';
import { loadWizardTls, machineHosts } from '../wizard/wizard-tls.js';
import { AUTO_SETUP_FILE, AUTO_SETUP_REPORT_FILE, autoSetupSettings } from './auto-setup-settings.js';
import { writeConsoleIssues } from './console-issue.js';
import { applyGuestSettings } from './guest-apply.js';
import { findOvfEnvironment } from './ovf-environment-source.js';
import { parseOvfEnvironment } from './ovf-environment.js';
import { applySetupTokenProperty } from './setup-token-property.js';

export interface FirstBootOptions {
  readonly ovfEnv?: string;
  readonly root: string;
  readonly installerDir: string;
  readonly gatewayStateDir: string;
  readonly gatewayConfig: string;
  readonly launcher: 'systemd' | 'process';
}

/** The wizard's port (pcg-installer.service runs `serve` with its default). */
const WIZARD_PORT = 5080;

/**
 * `pcg-installer first-boot` (pcg-first-boot.service, every boot, before networkd and the wizard):
 *
 *   OVF environment (--ovf-env, else the "OVF ENV" CD, else guestinfo, else none)
 *     → installer-dir/ovf-env.xml (0600)
 *     → network, NTP, proxy, SSH key (guest-apply.ts)
 *     → setup token (pcg.setupToken when the wizard accepts it, else generated once), wizard certificate
 *     → console banners (URL, fingerprint; the token on tty1 only: console-issue.ts)
 *     → auto-setup.json when a pairing code and relay endpoint were given (pcg-auto-setup.service)
 *
 * Every path is under --root, so tests run it on the host against a temp dir. A refused property
 * is reported (journal and console) and its part keeps the default; nothing here stops the boot.
 */
export async function firstBootCommand(options: FirstBootOptions): Promise<void> {
  const under = (path: string): string => join(options.root, path);
  const log = (line: string): void => void process.stdout.write(`${line}\n`);
  const installerDir = under(options.installerDir);
  await mkdir(installerDir, { recursive: true, mode: 0o700 });

  const found = options.ovfEnv !== undefined
    ? { xml: await readFile(options.ovfEnv, 'utf8'), source: options.ovfEnv }
    : options.root === '/' ? await findOvfEnvironment(log) : undefined;
  let values: ApplianceValues;
  if (found) {
    values = parseOvfEnvironment(found.xml);
    await writeFileAtomic(join(installerDir, basename(APPLIANCE_PATHS.ovfEnvFile)), found.xml, 0o600);
    log(`first-boot: OVF environment from ${found.source}`);
  } else {
    values = Object.freeze(Object.fromEntries(APPLIANCE_PROPERTIES.map((p) => [p.key, p.defaultValue])));
    log('first-boot: no OVF environment (no "OVF ENV" CD, no guestinfo): defaults');
  }

  const report = await applyGuestSettings(values, {
    networkDir: under('/etc/systemd/network'), timesyncDir: under('/etc/systemd/timesyncd.conf.d'),
    pcgEtcDir: under(dirname(options.gatewayConfig)), passwdFile: under('/etc/passwd'), root: options.root,
  });
  report.applied.forEach((line) => log(`first-boot: ${line}`));
  report.problems.forEach((line) => log(`first-boot: not applied: ${line}`));

  const configured = (await readSetupRecord(installerDir)) !== undefined;
  let shownToken: string | undefined;
  if (!configured) {
    const token = await applySetupTokenProperty(values, installerDir);
    shownToken = token.shown;
    if (token.problem) {
      report.problems.push(token.problem);
      log(`first-boot: not applied: ${token.problem}`);
    }
    log(`first-boot: setup token ${token.summary} (${SETUP_TOKEN_FILE}, 0600)`);
  }
  // Made now rather than by the wizard, so the console shows the fingerprint before anyone connects.
  const tls = await loadWizardTls(installerDir, machineHosts(), systemClock.now());
  await writeConsoleIssues(options.root, { port: WIZARD_PORT, fingerprint: tls.fingerprint, token: shownToken, configured, problems: report.problems });
  log(`first-boot: wizard certificate SHA-256 ${tls.fingerprint}`);

  const settings = configured ? undefined : autoSetupSettings(values);
  if (settings && existsSync(join(installerDir, AUTO_SETUP_REPORT_FILE))) {
    // A code is tried once: retrying it at every boot would spend the relay's attempts on it.
    log(`first-boot: auto-setup already tried (${AUTO_SETUP_REPORT_FILE}); use the wizard`);
  } else if (settings) {
    await writeFileAtomic(join(installerDir, AUTO_SETUP_FILE), `${JSON.stringify(settings, null, 2)}\n`, 0o600);
    log(`first-boot: auto-setup prepared for ${settings.relayUrl} (pcg-auto-setup.service pairs once the network is up)`);
  }
}
