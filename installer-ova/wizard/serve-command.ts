import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { exitWithError } from '../../proto/cli-support.js';
import { systemClock } from '../../proto/clock.js';
import { PcgError } from '../../proto/errors.js';
import { Secret } from '../../proto/secret.js';
import { APPLIANCE_PATHS } from '../appliance/appliance-paths.js';
import { onAppliance, readBannerFacts, reloadGettys, writeConfiguredConsoleIssues, writeConsoleIssues } from '../guest/console-issue.js';
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
 * named on stderr and, on the appliance, shown on tty1 only). On the appliance the console banners
 * lose the token when setup completes (guest/console-issue.ts).
 */
export async function serveCommand(options: ServeOptions): Promise<void> {
  const port = Number(options.port);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new PcgError('PCG_ERR_CONFIG_INVALID', `--port: "${options.port}" is not a port number`);
  await mkdir(options.installerDir, { recursive: true, mode: 0o700 });
  const tls = await loadWizardTls(options.installerDir, machineHosts(), systemClock.now());
  // Tests and development hosts pass their own installer dir and never touch the host's gettys.
  const banner = options.installerDir === APPLIANCE_PATHS.installerDir && onAppliance() ? { port, fingerprint: tls.fingerprint } : undefined;
  const token = await loadToken(options, banner);
  const server = await WizardServer.create({
    host: options.host, port, tls, token, installerDir: options.installerDir, gatewayStateDir: options.gatewayStateDir,
    gatewayConfig: options.gatewayConfig, launcher: launcherOf(options.launcher, options.installerDir),
  });
  const stopWatching = banner && !token.spent ? clearTokenWhenConfigured(server, banner) : undefined;
  const url = await server.listen();
  process.stdout.write(`listening on ${url}\nfingerprint ${tls.fingerprint}\n`);
  const stop = (): void => {
    stopWatching?.();
    server.close().then(() => process.exit(0), exitWithError);
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

type ConsoleFacts = { readonly port: number; readonly fingerprint: string };

async function loadToken(options: ServeOptions, banner: ConsoleFacts | undefined): Promise<SetupToken> {
  if (await readSetupRecord(options.installerDir)) return new SetupToken(new Secret(''), true);
  if (options.setupTokenFile) return new SetupToken(await readTokenFile(options.setupTokenFile), false);
  const { token, created } = await ensureSetupToken(options.installerDir);
  if (created) {
    // Never the token itself: stderr ends in the journal and on the serial console's log.
    process.stderr.write(`setup token: made, in ${join(options.installerDir, SETUP_TOKEN_FILE)} (0600)${banner ? ' and on the VM console (tty1)' : ''}\n`);
    // First boot did not make one (it failed): the banners are this wizard's to write, token on tty1 only.
    if (banner) {
      const stored = await readBannerFacts('/');
      await writeConsoleIssues('/', { ...banner, token: token.reveal(), configured: false, problems: stored?.problems ?? [] }).catch(() => undefined);
      await reloadGettys();
    }
  }
  return new SetupToken(token, false);
}

/**
 * Setup may complete in this wizard or elsewhere (the unattended first-boot pairing, `setup` on
 * the console); either way the feed turns `configured`. The token is spent then: the banners lose
 * it at once, and tty1's screen is cleared of it, rather than at the next boot.
 */
function clearTokenWhenConfigured(server: WizardServer, banner: ConsoleFacts): () => void {
  let done = false;
  const unsubscribe = server.feed.subscribe((state) => {
    if (state.phase !== 'configured' || done) return;
    done = true;
    unsubscribe();
    writeConfiguredConsoleIssues('/', banner).then(reloadGettys).catch((err: unknown) => {
      process.stderr.write(`console banner: not rewritten after setup (${(err as Error).message})\n`);
    });
  });
  return unsubscribe;
}
