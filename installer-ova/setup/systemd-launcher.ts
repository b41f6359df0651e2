import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { PcgError } from '../../proto/errors.js';
import type { GatewayLauncher, LaunchSpec } from './gateway-launcher.js';

const run = promisify(execFile);

/** The unit the appliance image installs; it runs `pcg-gateway run --config /etc/pcg/gateway.json` with EnvironmentFile=/etc/pcg/gateway.env. */
export const GATEWAY_UNIT = 'pcg-gateway.service';

/** On the appliance: `systemctl enable --now pcg-gateway.service`, so the gateway also starts at every boot. */
export class SystemdLauncher implements GatewayLauncher {
  readonly kind = 'systemd';

  async start(_spec: LaunchSpec): Promise<void> {
    try {
      await run('systemctl', ['enable', '--now', GATEWAY_UNIT], { timeout: 30_000 });
    } catch (err) {
      const output = (err as { stderr?: string | Buffer }).stderr;
      const stderr = (typeof output === 'string' ? output : output?.toString('utf8') ?? '').trim().split('\n')[0];
      throw new PcgError('PCG_ERR_INTERNAL', `systemctl enable --now ${GATEWAY_UNIT} failed: ${stderr || (err as Error).message}`, { cause: err });
    }
  }

  stoppedReason(): string | undefined {
    return undefined;
  }
}
