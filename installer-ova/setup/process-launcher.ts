import { spawn } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomic } from '../../proto/atomic-file.js';
import { PcgError } from '../../proto/errors.js';
import { processAlive } from '../../gateway/status/status-file.js';
import type { GatewayLauncher, LaunchSpec } from './gateway-launcher.js';

/** The gateway CLI of the same build: dist/installer-ova/setup/ → dist/gateway/cli.js. */
const GATEWAY_CLI = fileURLToPath(new URL('../../gateway/cli.js', import.meta.url));

export const GATEWAY_PID_FILE = 'gateway.pid';
export const GATEWAY_LOG_FILE = 'gateway.log';

/**
 * For tests and development: `node dist/gateway/cli.js run --config FILE`, detached (it outlives
 * setup and the wizard), output appended to installer-dir/gateway.log, pid in installer-dir/gateway.pid
 * so whoever cleans up can stop it by pid. The environment is this process's plus the proxy settings.
 */
export class ProcessLauncher implements GatewayLauncher {
  readonly kind = 'process';
  #pid: number | undefined;

  constructor(private readonly installerDir: string) {}

  get pid(): number | undefined {
    return this.#pid;
  }

  async start(spec: LaunchSpec): Promise<void> {
    await mkdir(this.installerDir, { recursive: true, mode: 0o700 });
    const logFile = join(this.installerDir, GATEWAY_LOG_FILE);
    const log = openSync(logFile, 'a', 0o600);
    try {
      const child = spawn(process.execPath, [GATEWAY_CLI, 'run', '--config', spec.configFile], {
        detached: true, stdio: ['ignore', log, log], env: { ...process.env, ...spec.env },
      });
      const pid = await new Promise<number>((resolve, reject) => {
        child.once('spawn', () => resolve(child.pid!));
        child.once('error', (err) => reject(new PcgError('PCG_ERR_INTERNAL', `cannot start ${GATEWAY_CLI}: ${err.message}`, { cause: err })));
      });
      child.unref();
      this.#pid = pid;
      await writeFileAtomic(join(this.installerDir, GATEWAY_PID_FILE), `${pid}\n`, 0o644);
    } finally {
      closeSync(log);
    }
  }

  stoppedReason(): string | undefined {
    if (this.#pid === undefined || processAlive(this.#pid)) return undefined;
    return `the gateway process ${this.#pid} exited; see ${join(this.installerDir, GATEWAY_LOG_FILE)}`;
  }
}
