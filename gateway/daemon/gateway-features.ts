import type { Logger } from 'pino';
import type { Clock } from '../../proto/clock.js';
import type { IdentityStore, GatewayIdentity } from '../identity/identity-store.js';
import { CertRenewal } from '../tunnel/handlers/cert-renewal.js';
import { echoFeature } from '../tunnel/handlers/echo-handlers.js';
import { heartbeatAckFeature } from '../tunnel/handlers/heartbeat-ack-handlers.js';
import { inventoryFeature } from '../tunnel/handlers/inventory-handlers.js';
import { peerErrorFeature } from '../tunnel/handlers/peer-error-handlers.js';
import { vcenterInfoReporter } from '../tunnel/handlers/vcenter-info-reporter.js';
import type { TunnelClient } from '../tunnel/tunnel-client.js';
import type { TunnelFeature } from '../tunnel/tunnel-feature.js';
import type { VcenterPort } from '../vsphere/vcenter-service.js';

export interface FeatureDeps {
  readonly identity: GatewayIdentity;
  readonly identityStore: IdentityStore;
  readonly vcenter: VcenterPort | undefined;
  /** The client the features ride on; read lazily, it is created with them. */
  readonly tunnel: () => TunnelClient;
  readonly clock: Clock;
  readonly log: Logger;
}

/** Everything that rides the tunnel on the gateway, by feature: a new frame type is one more line here. */
export function gatewayFeatures(deps: FeatureDeps): TunnelFeature[] {
  const { vcenter, log, clock } = deps;
  return [
    heartbeatAckFeature((at) => deps.tunnel().heartbeatAcked(at), () => clock.now()),
    new CertRenewal({
      signKey: deps.identity.signKey, clock, log,
      certWindow: () => deps.tunnel().certWindow,
      renewed: async (pem) => {
        await deps.identityStore.saveClientCertificate(pem);
        deps.tunnel().useCertificate(pem);
      },
    }),
    ...(vcenter ? [vcenterInfoReporter(vcenter, log)] : []),
    inventoryFeature(vcenter, log),
    echoFeature(),
    peerErrorFeature(log),
  ];
}
