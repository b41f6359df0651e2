import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { existsSync } from 'node:fs';
import { writeFileAtomic } from '../../proto/atomic-file.js';
import { exitWithError } from '../../proto/cli-support.js';
import { systemClock } from '../../proto/clock.js';
import { PcgError } from '../../proto/errors.js';
import { Secret } from '../../proto/secret.js';
import { APPLIANCE_PATHS } from '../appliance/appliance-paths.js';
import { launcherOf } from '../setup/setup-command.js';
import { readSetupRecord } from '../setup/setup-record.js';
import { ensureSetupToken, readTokenFile, SETUP_TOKEN_FILE, SetupToken } from '../setup/setup-token.js';
import { WizardServer } from './wizard-server.js';
import { loadWizardTls, machineHosts } from './wizard-tls.js';

export interface ServeOptions {
  readonly host: string;
  readonly port: string;
  readonly setupTokenFile?: string;
  readonly installerDir: string;
  readonly gatewayStateDir: string;
  readonly gatewayConfig: string;
  readonly launcher: 'systemd' | 'process';
}

/**
 * `pcg-installer serve`: the wizard until SIGTERM/SIGINT. Prints `listening on https://HOST:PORT`
 * as its first stdout line and `fingerprint AB:CD:…` as its second. The token comes from
 * --setup-token-file, else installer-dir/setup-token (made now when first boot did not, then
 * shown once on stderr and, on the appliance, on the console).
 */
export async function serveCommand(options: ServeOptions): Promise<void> {
  const port = Number(options.port);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new PcgError('PCG_ERR_CONFIG_INVALID', `--port: "${options.port}" is not a port number`);
  await mkdir(options.installerDir, { recursive: true, mode: 0o700 });
  const tls = await loadWizardTls(options.installerDir, machineHosts(), systemClock.now());
  const token = await loadToken(options, tls.fingerprint, port);
  const server = await WizardServer.create({
    host: options.host, port, tls, token, installerDir: options.installerDir, gatewayStateDir: options.gatewayStateDir,
    gatewayConfig: options.gatewayConfig, launcher: launcherOf(options.launcher, options.installerDir),
  });
  const url = await server.listen();
  process.stdout.write(`listening on ${url}\nfingerprint ${tls.fingerprint}\n`);
  const stop = (): void => {
    server.close().then(() => process.exit(0), exitWithError);
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

async function loadToken(options: ServeOptions, fingerprint: string, port: number): Promise<SetupToken> {
  if (await readSetupRecord(options.installerDir)) return new SetupToken(new Secret(''), true);
  if (options.setupTokenFile) return new SetupToken(await readTokenFile(options.setupTokenFile), false);
  const { token, created } = await ensureSetupToken(options.installerDir);
  if (created) {
    // Never the token itself: stderr ends in the journal and on the serial console's log.
    process.stderr.write(`setup token: made, in ${join(options.installerDir, SETUP_TOKEN_FILE)} (0600) and on the VM console\n`);
    await writeConsoleIssue(options, token, fingerprint, port);
  }
  return new SetupToken(token, false);
}

/**
 * On the appliance only (tests pass their own installer dir and must never write the host's
 * /run/issue.d): the getty snippet with the URL, fingerprint and token, when its directory exists.
 */
async function writeConsoleIssue(options: ServeOptions, token: Secret<string>, fingerprint: string, port: number): Promise<void> {
  const file = APPLIANCE_PATHS.consoleIssueFile;
  if (options.installerDir !== APPLIANCE_PATHS.installerDir || !existsSync(dirname(file))) return;
  const addresses = machineHosts().filter((h) => /^\d+\.\d+\.\d+\.\d+$/.test(h) && !h.startsWith('127.'));
  const urls = addresses.map((a) => `https://${a}:${port}`).join('  ') || `https://<this VM>:${port}`;
  await writeFileAtomic(file, `PCG installer wizard: ${urls}\nCertificate SHA-256: ${fingerprint}\nSetup token: ${token.reveal()}\n\n`, 0o600).catch(() => undefined);
}
