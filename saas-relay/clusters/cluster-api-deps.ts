import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Clock } from '../../proto/clock.js';
import type { ClusterRouteDeps } from '../api/cluster-routes.js';
import type { IpPoolRouteDeps } from '../api/ip-pool-routes.js';
import type { ProfileRouteDeps } from '../api/profile-routes.js';
import { ClusterEventStore } from '../store/cluster-event-store.js';
import { ClusterStore } from '../store/cluster-store.js';
import type { GatewayStore } from '../store/gateway-store.js';
import { IpPoolStore } from '../store/ip-pool-store.js';
import { JobStore } from '../store/job-store.js';
import { ProfileStore } from '../store/profile-store.js';
import type { RelaySignals } from '../store/relay-signals.js';
import type { RelayDatabase } from '../store/schema.js';
import type { TenancyStore } from '../store/tenancy-store.js';
import type { GatewayCalls } from '../tunnel/gateway-calls.js';
import { inventoryOperation } from '../tunnel/handlers/inventory-handlers.js';
import { ClusterService } from './cluster-service.js';

export interface ClusterApiInput {
  readonly db: Kysely<RelayDatabase>;
  readonly tenancy: TenancyStore;
  readonly gateways: GatewayStore;
  /** Routed work for gateways: the placement check reads live inventory through it. */
  readonly calls: GatewayCalls;
  /** `job_queued` after each commit wakes the relay holding the gateway's tunnel. */
  readonly signals: RelaySignals;
  readonly clock: Clock;
  readonly log: Logger;
  readonly offlineAfterMs: number;
  readonly inventoryTimeoutMs: number;
}

/** The stores and the service behind the profile, IP pool and cluster routes, built once at start. */
export function clusterApiDeps(input: ClusterApiInput): ProfileRouteDeps & IpPoolRouteDeps & ClusterRouteDeps {
  const { db, clock } = input;
  const profiles = new ProfileStore(db, clock);
  const pools = new IpPoolStore(db, clock);
  const clusters = new ClusterStore(db, clock);
  const service = new ClusterService({
    db, clusters, profiles, pools, jobs: new JobStore(db, clock), events: new ClusterEventStore(db, clock), gateways: input.gateways,
    signals: input.signals, clock, log: input.log, offlineAfterMs: input.offlineAfterMs,
    inventory: (gatewayId) => (kind, datacenter) =>
      input.calls.call(gatewayId, inventoryOperation, { kind, datacenter }, { timeoutMs: input.inventoryTimeoutMs }),
  });
  return { profiles, pools, clusters, service, tenancy: input.tenancy, gateways: input.gateways };
}
