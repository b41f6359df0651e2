import type { Logger } from 'pino';
import type { Clock } from '../../proto/clock.js';
import type { DriftWatcher } from '../jobs/drift-watcher.js';
import type { JobReporter } from '../jobs/job-reporter.js';
import type { JobRunner } from '../jobs/job-runner.js';
import type { IdentityStore, GatewayIdentity } from '../identity/identity-store.js';
import { CertRenewal } from '../tunnel/features/cert-renewal.js';
import { echoFeature } from '../tunnel/features/echo-feature.js';
import { heartbeatAckFeature } from '../tunnel/features/heartbeat-ack-feature.js';
import { inventoryFeature } from '../tunnel/features/inventory-feature.js';
import { jobFeature } from '../tunnel/features/job-feature.js';
import { packSyncFeature } from '../tunnel/features/pack-sync-feature.js';
import { PackSyncReporter } from '../registry/pack-sync-reporter.js';
import { openPackSyncSource, packIndexFile } from '../registry/pack-sync-source.js';
import { peerErrorFeature } from '../tunnel/features/peer-error-feature.js';
import { vcenterInfoReporter } from '../tunnel/features/vcenter-info-reporter.js';
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
  /** The job engine; absent in harnesses that carry no jobs (benchmarks). */
  readonly jobs?: { readonly runner: JobRunner; readonly reporter: JobReporter; readonly drift: DriftWatcher | undefined };
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
    ...(deps.jobs ? [jobFeature(deps.jobs.runner, deps.jobs.reporter, deps.jobs.drift)] : []),
    packSyncFeature(new PackSyncReporter({}, { openSource: () => openPackSyncSource(packIndexFile(deps.identityStore.stateDir)), log })),
    echoFeature(),
    peerErrorFeature(log),
  ];
}
