import type { GatewayConfig } from '../config/gateway-config.js';
import { formatStatus, gatewayStatus } from '../status/gateway-status.js';

/** `pcg-gateway status`: pairing and tunnel state from the state dir, as text or one JSON line. */
export async function statusCommand(config: GatewayConfig, options: { readonly json?: boolean }): Promise<void> {
  const report = await gatewayStatus(config.stateDir);
  process.stdout.write(options.json ? `${JSON.stringify(report)}\n` : formatStatus(report));
}
