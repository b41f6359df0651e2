import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { PcgError } from '../../proto/errors.js';
import type { GatewayLauncher, LaunchSpec } from './gateway-launcher.js';

const run = promisify(execFile);

/** The unit the appliance image installs; it runs `pcg-gateway run --config /etc/pcg/gateway.json` with EnvironmentFile=/etc/pcg/gateway.env. */
export const GATEWAY_UNIT = 'pcg-gateway.service';

/**
 * On the appliance: `systemctl enable` (the gateway starts at every boot) and `systemctl restart`.
 * Not `enable --now`: that starts a stopped unit but leaves a running one as it is, so a retry
 * with corrected settings would keep the gateway of the failed attempt and its old configuration.
 */
export class SystemdLauncher implements GatewayLauncher {
  readonly kind = 'systemd';

  /** @param systemctl the command (tests pass a script that records its arguments). */
  constructor(private readonly systemctl = 'systemctl') {}

  async start(_spec: LaunchSpec): Promise<void> {
    await this.#run('enable', GATEWAY_UNIT);
    await this.#run('restart', GATEWAY_UNIT);
  }

  /** Setup failed after starting it: stopped, and not started at the next boot with half-done settings. */
  async stop(): Promise<void> {
    await this.#run('disable', '--now', GATEWAY_UNIT);
  }

  stoppedReason(): string | undefined {
    return undefined;
  }

  async #run(...args: string[]): Promise<void> {
    try {
      await run(this.systemctl, args, { timeout: 30_000 });
    } catch (err) {
      const output = (err as { stderr?: string | Buffer }).stderr;
      const stderr = (typeof output === 'string' ? output : output?.toString('utf8') ?? '').trim().split('\n')[0];
      throw new PcgError('PCG_ERR_INTERNAL', `systemctl ${args.join(' ')} failed: ${stderr || (err as Error).message}`, { cause: err });
    }
  }
}
