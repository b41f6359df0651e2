import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stopGatewayProcess } from './installer-lab.js';
import { WizardProcess } from './installer-wizard.js';
import { tempDir } from './temp-dir.js';

/**
 * A `pcg-installer serve` (--launcher process) with its own temp dirs and setup token file (0600),
 * as a browser test needs it. The gateway that setup starts is detached and writes its pid to
 * installer-dir/gateway.pid: stop() kills it by that pid, then removes the dirs.
 */
export class WizardSandbox {
  private constructor(readonly wizard: WizardProcess, private readonly dir: { path: string; remove: () => void }, readonly token: string) {}

  static async start(): Promise<WizardSandbox> {
    const dir = tempDir('wizard');
    const token = randomBytes(12).toString('base64url');
    const tokenFile = join(dir.path, 'setup-token');
    writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
    try {
      const wizard = await WizardProcess.start([
        '--launcher', 'process', '--setup-token-file', tokenFile, '--installer-dir', join(dir.path, 'installer'),
        '--gateway-state-dir', join(dir.path, 'state'), '--gateway-config', join(dir.path, 'gateway.json'),
      ], [], { HTTPS_PROXY: '', https_proxy: '', NO_PROXY: '', no_proxy: '' });
      return new WizardSandbox(wizard, dir, token);
    } catch (err) {
      dir.remove();
      throw err;
    }
  }

  get url(): string {
    return this.wizard.url;
  }

  get stateDir(): string {
    return join(this.dir.path, 'state');
  }

  get configFile(): string {
    return join(this.dir.path, 'gateway.json');
  }

  /** What setup wrote into the gateway's state dir (nothing, or no dir at all, until it paired). */
  stateDirEntries(): string[] {
    return existsSync(this.stateDir) ? readdirSync(this.stateDir) : [];
  }

  /** Idempotent. */
  async stop(): Promise<void> {
    await this.wizard.stop();
    const pidFile = join(this.dir.path, 'installer', 'gateway.pid');
    if (existsSync(pidFile)) await stopGatewayProcess(Number(readFileSync(pidFile, 'utf8').trim()));
    this.dir.remove();
  }
}
