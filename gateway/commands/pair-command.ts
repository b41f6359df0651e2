import { systemClock } from '../../proto/clock.js';
import { requireFlag } from '../../proto/cli-support.js';
import { Secret } from '../../proto/secret.js';
import type { GatewayConfig } from '../config/gateway-config.js';
import { createGatewayLogger } from '../logger.js';
import { proxyEnvFrom } from '../net/proxy-for-url.js';
import { pairGateway } from '../pairing/pair-gateway.js';

/** `pcg-gateway pair`: redeems a pairing code and writes the identity; prints the new ids as JSON. */
export async function pairCommand(config: GatewayConfig, options: { readonly code?: string }): Promise<void> {
  const log = createGatewayLogger(config.logLevel, 'stderr');
  const code = new Secret(requireFlag(options.code, 'code'));
  const record = await pairGateway({
    stateDir: config.stateDir, relayUrl: requireFlag(config.relay.url, 'relay'), code, caPin: config.relay.caPin, caFile: config.relay.caFile,
    proxy: proxyEnvFrom(process.env), timeoutMs: config.connectTimeoutMs, clock: systemClock, log,
  });
  process.stdout.write(`${JSON.stringify({ gatewayId: record.gatewayId, tenantId: record.tenantId, cloudAccountId: record.cloudAccountId })}\n`);
}
