import type { Kysely } from 'kysely';
import type { Clock } from '../../proto/clock.js';
import type { ClusterSpec } from '../../proto/schemas/jobs.js';
import type { GatewayStore } from '../../saas-relay/store/gateway-store.js';
import { newId } from '../../saas-relay/store/ids.js';
import type { RelayDatabase } from '../../saas-relay/store/schema.js';
import type { TenancyStore } from '../../saas-relay/store/tenancy-store.js';

export interface Seeded {
  readonly tenantId: string;
  readonly projectId: string;
  readonly gatewayId: string;
  /** The gateway's current session epoch. */
  readonly epoch: number;
  readonly cloudAccountId: string;
  readonly poolId: string;
  readonly clusterId: string;
}

const PLACEMENT = { datacenter: 'DC0', folder: 'vm', computeResource: 'DC0_C0', datastore: 'LocalDS_0', network: 'VM Network' };

/** A cluster spec of `names` (cp-* are control planes), as the cluster routes would resolve it. */
export function specOf(clusterId: string, names: readonly string[]): ClusterSpec {
  return {
    clusterId, name: 'c1', template: 'DC0_H0_VM0', placement: PLACEMENT, packs: [],
    nodes: names.map((name) => ({ name, role: name.startsWith('cp') ? 'control-plane' as const : 'worker' as const, cpus: 2, memoryMiB: 2048, diskGiB: 20 })),
  };
}

/**
 * Rows a job needs, written straight into the store (tests do not depend on the cluster routes):
 * a tenant, a gateway with a session (epoch 1), its cloud account and an IP pool, and a cluster
 * whose nodes are desired and hold addresses. With `reuse`, only a new cluster of the same gateway.
 */
export async function seedCluster(db: Kysely<RelayDatabase>, tenancy: TenancyStore | undefined, gateways: GatewayStore, clock: Clock,
  options: { nodes: readonly string[]; reuse?: Seeded; gatewayId?: string; tenantId?: string; projectId?: string; state?: 'provisioning' | 'running' }): Promise<Seeded> {
  const now = clock.now();
  let base: Omit<Seeded, 'clusterId'>;
  if (options.reuse) {
    base = options.reuse;
  } else {
    let tenantId = options.tenantId;
    let projectId = options.projectId;
    if (!tenantId || !projectId) {
      const tenant = await tenancy!.createTenant(`t-${newId('ten').slice(4, 12)}`);
      tenantId = tenant.tenantId;
      projectId = tenant.projectId;
    }
    let gatewayId = options.gatewayId;
    let epoch: number;
    if (gatewayId) {
      epoch = (await db.selectFrom('gateways').select('epoch').where('id', '=', gatewayId).executeTakeFirstOrThrow()).epoch;
    } else {
      const gw = await gateways.create(tenantId, `gw-${newId('gw').slice(3, 10)}`);
      gatewayId = gw.id;
      epoch = await gateways.beginSession(gw, 'test', 'rly_test');
    }
    // A paired gateway has its cloud account already (one per gateway).
    const existing = await db.selectFrom('cloud_accounts').select('id').where('gateway_id', '=', gatewayId).executeTakeFirst();
    const cloudAccountId = existing?.id ?? newId('cld');
    if (!existing) await db.insertInto('cloud_accounts').values({ id: cloudAccountId, tenant_id: tenantId, gateway_id: gatewayId, name: `acct-${cloudAccountId}`, kind: 'gateway', metadata: '{}', created_at: now }).execute();
    const poolId = newId('ipp');
    await db.insertInto('ip_pools').values({
      id: poolId, tenant_id: tenantId, cloud_account_id: cloudAccountId, name: `pool-${poolId}`, first_ip: 167772161, last_ip: 167772260, prefix: 24,
      gateway: '10.0.0.254', dns: '[]', search_domains: '[]', created_at: now,
    }).execute();
    base = { tenantId, projectId, gatewayId, epoch, cloudAccountId, poolId };
  }
  const clusterId = newId('cls');
  await db.insertInto('clusters').values({
    id: clusterId, tenant_id: base.tenantId, project_id: base.projectId, name: 'c1', profile_id: 'prf_none', cloud_account_id: base.cloudAccountId,
    gateway_id: base.gatewayId, state: options.state ?? 'provisioning', placement: JSON.stringify(PLACEMENT), node_pools: '{}', addressing: JSON.stringify({ mode: 'static', poolId: base.poolId }),
    next_worker: 0, created_at: now, updated_at: now, deleted_at: null,
  }).execute();
  const taken = await db.selectFrom('ip_allocations').select(db.fn.max('ip').as('ip')).where('pool_id', '=', base.poolId).executeTakeFirst();
  let ip = Number(taken?.ip ?? 167772160);
  for (const name of options.nodes) {
    await db.insertInto('cluster_nodes').values({ cluster_id: clusterId, name, role: name.startsWith('cp') ? 'control-plane' : 'worker', state: 'desired', vm: null, instance_uuid: null, ip: null, ready: 0, updated_at: now }).execute();
    await db.insertInto('ip_allocations').values({ pool_id: base.poolId, ip: ++ip, cluster_id: clusterId, node_name: name, allocated_at: now }).execute();
  }
  return { ...base, clusterId };
}
