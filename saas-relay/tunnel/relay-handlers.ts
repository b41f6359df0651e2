import type { Logger } from 'pino';
import type { Clock } from '../../proto/clock.js';
import { HandlerTable } from '../../proto/frame-handlers.js';
import { GATEWAY_FRAME_TYPES } from '../../proto/schemas/frames.js';
import type { GatewayStore } from '../store/gateway-store.js';
import type { CertificateAuthority } from '../tls/certificate-authority.js';
import { certRenewalHandlers } from './handlers/cert-renewal-handlers.js';
import { echoHandlers } from './handlers/echo-handlers.js';
import { heartbeatHandlers } from './handlers/heartbeat-handlers.js';
import { inventoryHandlers } from './handlers/inventory-handlers.js';
import { jobHandlers, type JobHandlerDeps } from './handlers/job-handlers.js';
import { packSyncHandlers, type PackSyncHandlerDeps } from './handlers/pack-sync-handlers.js';
import { peerErrorHandlers } from './handlers/peer-error-handlers.js';
import { vcenterInfoHandlers } from './handlers/vcenter-info-handlers.js';
import type { TunnelSession } from './tunnel-session.js';

export interface RelayHandlerDeps {
  readonly gateways: GatewayStore;
  readonly ca: CertificateAuthority;
  readonly clock: Clock;
  readonly log: Logger;
  readonly clientCertLifetimeMs: number;
  /** Job acks, reports and drift (jobs/). */
  readonly jobs: JobHandlerDeps;
  /** Gateways' pack indexes (registry/pack-sync-store.ts). */
  readonly packSync: PackSyncHandlerDeps;
}

/** Every frame the relay handles, by feature: a new frame type is one more line here. */
export function relayHandlers(deps: RelayHandlerDeps): HandlerTable<TunnelSession> {
  return HandlerTable.register<TunnelSession>(GATEWAY_FRAME_TYPES, [
    heartbeatHandlers(deps),
    certRenewalHandlers(deps),
    vcenterInfoHandlers(deps),
    inventoryHandlers(),
    jobHandlers(deps.jobs),
    packSyncHandlers(deps.packSync),
    echoHandlers(),
    peerErrorHandlers(deps),
  ]);
}
