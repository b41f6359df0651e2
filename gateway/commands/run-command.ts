import { systemClock } from '../../proto/clock.js';
import { exitWithError } from '../../proto/cli-support.js';
import type { GatewayConfig } from '../config/gateway-config.js';
import { GatewayDaemon } from '../daemon/gateway-daemon.js';
import { createGatewayLogger } from '../logger.js';
import { proxyEnvFrom } from '../net/proxy-for-url.js';

/** `pcg-gateway run`: the daemon until SIGTERM/SIGINT (exit 0) or a terminal refusal (exit 1 with its code). */
export async function runCommand(config: GatewayConfig): Promise<void> {
  const log = createGatewayLogger(config.logLevel);
  const daemon = (await GatewayDaemon.create(config, { clock: systemClock, log, proxy: proxyEnvFrom(process.env) })).start();
  log.info({ gatewayId: daemon.gatewayId }, 'gateway starting');
  const stop = (): void => {
    daemon.close().then(() => process.exit(0), exitWithError);
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  await daemon.done;
  if (daemon.stopReason) throw daemon.stopReason;
}
