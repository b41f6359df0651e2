import { chmodSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { processAlive } from '../../gateway/status/status-file.js';
import { GATEWAY_PID_FILE } from '../../installer-ova/setup/process-launcher.js';
import { ApiClient } from './api-client.js';
import { INSTALLER_CLI, runCli } from './child.js';
import { createGateway, type NewGateway } from './gateway-fixture.js';
import { RelayProcess, type Tenant } from './relay-fixture.js';
import { tempDir } from './temp-dir.js';
import { waitFor } from './wait-for.js';

/** The directories one appliance would use, in a temp dir; `args` are the path flags of pcg-installer. */
export interface InstallerDirs {
  readonly root: string;
  readonly installerDir: string;
  readonly stateDir: string;
  readonly configFile: string;
  readonly args: readonly string[];
}

/**
 * A relay with a tenant, fresh pairing codes, and appliance directories for `pcg-installer`;
 * cleanup() stops every gateway the process launcher started (by the pid in installer-dir) and
 * removes the directories. The gateways get PCG_HTTPS_PORT=0 so several run at once.
 */
export class InstallerLab {
  readonly #dirs: Array<{ path: string; remove: () => void }> = [];
  readonly #installerDirs: string[] = [];
  readonly #configFiles: string[] = [];

  private constructor(readonly relay: RelayProcess, readonly tenant: Tenant, readonly api: ApiClient) {}

  static async start(): Promise<InstallerLab> {
    const relay = await RelayProcess.start({ args: ['--heartbeat', '1s'] });
    try {
      const tenant = await relay.createTenant('acme');
      return new InstallerLab(relay, tenant, new ApiClient(relay.url, relay.caCert, tenant.apiKey));
    } catch (err) {
      await relay.stop();
      throw err;
    }
  }

  newGateway(name: string): Promise<NewGateway> {
    return createGateway(this.api, name);
  }

  dirs(): InstallerDirs {
    const dir = tempDir('installer');
    this.#dirs.push(dir);
    const installerDir = join(dir.path, 'installer');
    const stateDir = join(dir.path, 'gateway-state');
    const configFile = join(dir.path, 'etc', 'gateway.json');
    this.#installerDirs.push(installerDir);
    this.#configFiles.push(configFile);
    return {
      root: dir.path, installerDir, stateDir, configFile,
      args: ['--installer-dir', installerDir, '--gateway-state-dir', stateDir, '--gateway-config', configFile, '--launcher', 'process'],
    };
  }

  /** `pcg-installer setup --config FILE` with `settings` written 0600 (or `mode`). */
  setup(dirs: InstallerDirs, settings: unknown, options: { json?: boolean; mode?: number } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const file = join(dirs.root, `settings-${Math.random().toString(36).slice(2, 8)}.json`);
    writeFileSync(file, JSON.stringify(settings), { mode: 0o600 });
    chmodSync(file, options.mode ?? 0o600);
    return runCli(INSTALLER_CLI, ['setup', '--config', file, ...dirs.args, ...(options.json ? ['--json'] : [])], { PCG_HTTPS_PORT: '0' });
  }

  async gatewayStatus(id: string): Promise<string> {
    return (await this.api.get<{ status: string }>(`/v1/gateways/${id}`)).body.status;
  }

  online(id: string): Promise<boolean> {
    return waitFor(`gateway ${id} online at the relay`, async () => (await this.gatewayStatus(id)) === 'online', 20_000);
  }

  /**
   * Pids of the `gateway/cli.js run --config <configFile>` processes running now, by a look through
   * /proc (zombies have no cmdline and are left out): how a test counts gateways on one appliance.
   */
  static gatewayProcesses(configFile: string): number[] {
    const pids: number[] = [];
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      let args: string[];
      try {
        args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      } catch {
        continue;
      }
      const cli = args.findIndex((a) => a.endsWith('/gateway/cli.js'));
      const config = args.indexOf('--config');
      if (cli >= 0 && args[cli + 1] === 'run' && config >= 0 && args[config + 1] === configFile) pids.push(Number(entry));
    }
    return pids.sort((a, b) => a - b);
  }

  /** Files in `dir`, or [] when it does not exist. */
  static files(dir: string): string[] {
    return existsSync(dir) ? readdirSync(dir).sort() : [];
  }

  /**
   * Stops the gateways started from any installer dir of this lab, by pid: the one gateway.pid
   * names, and any other running with one of the lab's configuration files (a gateway a launcher
   * lost track of must not outlive the test).
   */
  async stopGateways(): Promise<void> {
    const pids = new Set<number>();
    for (const dir of this.#installerDirs) {
      const pidFile = join(dir, GATEWAY_PID_FILE);
      if (existsSync(pidFile)) pids.add(Number(readFileSync(pidFile, 'utf8').trim()));
    }
    for (const configFile of this.#configFiles) for (const pid of InstallerLab.gatewayProcesses(configFile)) pids.add(pid);
    for (const pid of pids) await stopGatewayProcess(pid);
  }

  async cleanup(): Promise<void> {
    await this.stopGateways();
    await this.relay.stop();
    for (const dir of this.#dirs) dir.remove();
  }
}

/** SIGTERM, then SIGKILL after 5 s; nothing when the process is gone (or a zombie) already. */
export async function stopGatewayProcess(pid: number): Promise<void> {
  if (!running(pid)) return;
  process.kill(pid, 'SIGTERM');
  try {
    await waitFor(`gateway ${pid} stopped`, () => !running(pid), 5_000);
  } catch {
    process.kill(pid, 'SIGKILL');
  }
}

/** Alive and not a zombie: a detached gateway whose parent is gone is reaped by whatever PID 1 is, if at all. */
function running(pid: number): boolean {
  if (!processAlive(pid)) return false;
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}
