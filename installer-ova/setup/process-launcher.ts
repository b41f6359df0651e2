import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
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

/** SIGTERM lets the gateway close its tunnel and journal; past this, SIGKILL. */
const STOP_GRACE_MS = 10_000;

/**
 * For tests and development: `node dist/gateway/cli.js run --config FILE`, detached (it outlives
 * setup and the wizard), output appended to installer-dir/gateway.log, pid in installer-dir/gateway.pid
 * so whoever cleans up can stop it by pid. The environment is this process's plus the proxy settings.
 *
 * start() first stops the gateway gateway.pid names (an earlier attempt's, maybe another process's),
 * as `systemctl restart` does on the appliance; a pid is only signalled while /proc says it is a
 * `gateway/cli.js run`, since after a reboot or a long while it may be anything.
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
    await this.stop();
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

  /** Stops the gateway gateway.pid names, if it still is one: SIGTERM, SIGKILL after 10 s. Idempotent. */
  async stop(): Promise<void> {
    const pidFile = join(this.installerDir, GATEWAY_PID_FILE);
    const pid = Number((await readFile(pidFile, 'utf8').catch(() => '')).trim());
    this.#pid = undefined;
    if (!Number.isInteger(pid) || pid <= 0) return;
    if (isGatewayProcess(pid)) {
      signal(pid, 'SIGTERM');
      if (!(await gone(pid, STOP_GRACE_MS))) {
        signal(pid, 'SIGKILL');
        await gone(pid, STOP_GRACE_MS);
      }
    }
    await rm(pidFile, { force: true });
  }

  stoppedReason(): string | undefined {
    if (this.#pid === undefined || isGatewayProcess(this.#pid)) return undefined;
    return `the gateway process ${this.#pid} exited; see ${join(this.installerDir, GATEWAY_LOG_FILE)}`;
  }
}

/**
 * `pid` is alive, not a zombie, and runs `…/gateway/cli.js run` (its /proc cmdline). A zombie's
 * cmdline is empty: a detached gateway whose parent exited may stay one where PID 1 does not reap.
 */
export function isGatewayProcess(pid: number): boolean {
  if (!processAlive(pid)) return false;
  let args: string[];
  try {
    args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return false;
  }
  const cli = args.findIndex((a) => a.endsWith('/gateway/cli.js'));
  return cli >= 0 && args[cli + 1] === 'run';
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // Gone between the look and the signal.
  }
}

async function gone(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isGatewayProcess(pid)) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return true;
}
