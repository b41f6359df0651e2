import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Clock } from '../../proto/clock.js';
import { PcgError } from '../../proto/errors.js';
import type { JobKind, Placement } from '../../proto/schemas/jobs.js';
import type { ClusterEventStore } from '../store/cluster-event-store.js';
import type { ClusterStore } from '../store/cluster-store.js';
import { gatewayStatus, type GatewayStore } from '../store/gateway-store.js';
import { newId } from '../store/ids.js';
import type { IpPoolStore } from '../store/ip-pool-store.js';
import type { JobStore } from '../store/job-store.js';
import type { ClusterProfile, ProfileStore } from '../store/profile-store.js';
import type { RelaySignals } from '../store/relay-signals.js';
import type { ClusterNodeTable, ClusterTable, RelayDatabase } from '../store/schema.js';
import { buildClusterSpec, desiredNode, initialNodeNames, type ClusterAddressing, type NodePoolSizes } from './cluster-spec.js';
import { checkPlacement, type InventoryReader } from './placement-check.js';

export interface NewCluster {
  readonly name: string;
  readonly profileId: string;
  readonly cloudAccountId: string;
  readonly placement: Placement;
  readonly nodePools: NodePoolSizes;
  readonly addressing: ClusterAddressing;
}

export interface ClusterServiceDeps {
  readonly db: Kysely<RelayDatabase>;
  readonly clusters: ClusterStore;
  readonly profiles: ProfileStore;
  readonly pools: IpPoolStore;
  readonly jobs: JobStore;
  readonly events: ClusterEventStore;
  readonly gateways: GatewayStore;
  readonly signals: RelaySignals;
  readonly clock: Clock;
  readonly log: Logger;
  /** A gateway not heard from for this long is offline: its placement is not checked. */
  readonly offlineAfterMs: number;
  /** Live inventory of a gateway, through whichever relay holds its tunnel. */
  readonly inventory: (gatewayId: string) => InventoryReader;
}

/**
 * Create, scale and delete: each refuses what cannot work before anything is written, then writes
 * the cluster change, its addresses, the job and a 'queued' event in one transaction, and wakes
 * the relay holding the gateway's tunnel after the commit.
 */
export class ClusterService {
  constructor(private readonly deps: ClusterServiceDeps) {}

  async create(tenantId: string, projectId: string, input: NewCluster): Promise<string> {
    const { deps } = this;
    if (await deps.clusters.findLiveByName(tenantId, projectId, input.name)) throw duplicate(input.name);
    const profile = await this.#profileFor(tenantId, projectId, input.profileId);
    const account = await deps.gateways.getCloudAccount(tenantId, input.cloudAccountId);
    const nodeNames = initialNodeNames(input.nodePools.controlPlane.count, input.nodePools.workers.count);
    if (input.addressing.mode === 'static') {
      const pool = await deps.pools.get(tenantId, input.addressing.poolId);
      if (pool.cloud_account_id !== account.id) throw new PcgError('PCG_ERR_BAD_REQUEST', `IP pool ${pool.id} belongs to cloud account ${pool.cloud_account_id}, not ${account.id}`);
      if (pool.free < nodeNames.length) {
        throw new PcgError('PCG_ERR_IP_POOL_EXHAUSTED', `IP pool ${pool.name} (${pool.id}) has ${pool.free} free addresses; the cluster needs ${nodeNames.length}`);
      }
    }
    await this.#checkPlacementIfOnline(tenantId, account.gateway_id, input.placement, profile.template);

    const now = deps.clock.now();
    const cluster: ClusterTable = {
      id: newId('cls'), tenant_id: tenantId, project_id: projectId, name: input.name, profile_id: profile.id, cloud_account_id: account.id,
      gateway_id: account.gateway_id, state: 'provisioning', placement: JSON.stringify(input.placement), node_pools: JSON.stringify(input.nodePools),
      addressing: JSON.stringify(input.addressing), next_worker: input.nodePools.workers.count, created_at: now, updated_at: now, deleted_at: null,
    };
    const nodes = nodeNames.map((n) => desiredNode(cluster.id, n.name, n.role, now));
    await deps.db.transaction().execute(async (trx) => {
      await deps.clusters.lockProject(tenantId, projectId, trx);
      if (await deps.clusters.findLiveByName(tenantId, projectId, input.name, trx)) throw duplicate(input.name);
      // Read again inside: a profile deleted meanwhile must not be built from.
      const current = await deps.profiles.get(tenantId, profile.id, trx);
      await deps.clusters.insert(cluster, nodes, trx);
      await this.#queue(trx, cluster, current, nodes, 'create', nodes, `create queued: ${describe(input.nodePools)}`);
    });
    await this.#wake(cluster.gateway_id);
    return cluster.id;
  }

  /**
   * Sets the worker count. New workers get new names (`worker-<next_worker>`) and addresses;
   * removal takes the newest workers first. Refused with PCG_ERR_CLUSTER_BUSY while another apply
   * job of the cluster has not ended. Returns false when the count is already that.
   */
  async scale(tenantId: string, clusterId: string, workers: number): Promise<boolean> {
    const { deps } = this;
    let changed = false;
    let gatewayId = '';
    await deps.db.transaction().execute(async (trx) => {
      const cluster = await deps.clusters.lock(tenantId, clusterId, trx);
      gatewayId = cluster.gateway_id;
      if (cluster.state === 'deleting' || cluster.state === 'deleted') throw new PcgError('PCG_ERR_CONFLICT', `cluster ${cluster.name} is ${cluster.state}`);
      const busy = (await deps.clusters.activeJobs(cluster.id, trx)).find((j) => j.action === 'apply');
      if (busy) throw new PcgError('PCG_ERR_CLUSTER_BUSY', `cluster ${cluster.name} has ${busy.kind} job ${busy.id} ${busy.state}`);
      const all = await deps.clusters.nodes(cluster.id, trx);
      const current = all.filter((n) => n.role === 'worker' && n.state !== 'removing');
      if (current.length === workers) return;
      changed = true;
      const pools = JSON.parse(cluster.node_pools) as NodePoolSizes;
      const nodePools: NodePoolSizes = { ...pools, workers: { ...pools.workers, count: workers } };
      let nextWorker = cluster.next_worker;
      let desired: ClusterNodeTable[];
      if (workers > current.length) {
        const now = deps.clock.now();
        const added = Array.from({ length: workers - current.length }, () => desiredNode(cluster.id, `worker-${nextWorker++}`, 'worker', now));
        await deps.clusters.addNodes(added, trx);
        desired = [...all.filter((n) => n.state !== 'removing'), ...added];
      } else {
        // `current` is in index order: the newest workers are at its end.
        const removed = current.slice(workers).map((n) => n.name);
        await deps.clusters.markRemoving(cluster.id, removed, trx);
        desired = all.filter((n) => n.state !== 'removing' && !removed.includes(n.name));
      }
      await deps.clusters.update(cluster.id, { state: 'scaling', node_pools: JSON.stringify(nodePools), next_worker: nextWorker }, trx);
      const added = desired.filter((n) => !all.includes(n));
      const updated = { ...cluster, node_pools: JSON.stringify(nodePools) };
      await this.#queue(trx, updated, await deps.profiles.get(tenantId, cluster.profile_id, trx), desired, 'scale', added,
        `scale queued: workers ${current.length} → ${workers}`);
    });
    if (changed) await this.#wake(gatewayId);
    return changed;
  }

  /**
   * Deletes: state `deleting`, a delete job over every node the cluster has, and a cancel request
   * on its unfinished jobs. Always accepted; a second call while deleting queues nothing more.
   */
  async delete(tenantId: string, clusterId: string): Promise<void> {
    const { deps } = this;
    let queued = false;
    let gatewayId = '';
    await deps.db.transaction().execute(async (trx) => {
      const cluster = await deps.clusters.lock(tenantId, clusterId, trx);
      gatewayId = cluster.gateway_id;
      if (cluster.state === 'deleting' || cluster.state === 'deleted') return;
      queued = true;
      const cancelled = await deps.clusters.requestCancel(cluster.id, trx);
      await deps.clusters.update(cluster.id, { state: 'deleting' }, trx);
      const nodes = await deps.clusters.nodes(cluster.id, trx);
      const profile = await deps.profiles.get(tenantId, cluster.profile_id, trx).catch(() => undefined);
      // The profile cannot go while the cluster lives, but a delete must never depend on it.
      const packs = profile ?? { packs: [], template: '-' };
      await this.#queue(trx, cluster, packs, nodes, 'delete', [], `delete queued${cancelled > 0 ? ` (${cancelled} unfinished job(s) asked to cancel)` : ''}`);
    });
    if (queued) await this.#wake(gatewayId);
  }

  /** Builds the spec, enqueues the job and appends the 'queued' event, all in `trx`. */
  async #queue(trx: Kysely<RelayDatabase>, cluster: ClusterTable, profile: Pick<ClusterProfile, 'packs' | 'template'>, nodes: readonly ClusterNodeTable[],
    kind: JobKind, allocateFor: readonly ClusterNodeTable[], message: string): Promise<void> {
    const { deps } = this;
    const addressing = JSON.parse(cluster.addressing) as ClusterAddressing;
    let pool;
    if (addressing.mode === 'static') {
      await deps.pools.allocate(cluster.tenant_id, addressing.poolId, cluster.id, allocateFor.map((n) => n.name), trx);
      pool = await trx.selectFrom('ip_pools').selectAll().where('tenant_id', '=', cluster.tenant_id).where('id', '=', addressing.poolId).executeTakeFirst();
    }
    const addresses = addressing.mode === 'static' ? await deps.pools.addressesOf(cluster.id, trx) : new Map<string, string>();
    const spec = buildClusterSpec({ cluster, profile, nodes, addresses, pool });
    const job = await deps.jobs.enqueue({ tenantId: cluster.tenant_id, clusterId: cluster.id, gatewayId: cluster.gateway_id, kind, action: kind === 'delete' ? 'delete' : 'apply', spec }, trx);
    await deps.events.append([{ clusterId: cluster.id, tenantId: cluster.tenant_id, jobId: job.id, step: 'queued', message }], trx);
  }

  async #profileFor(tenantId: string, projectId: string, profileId: string): Promise<ClusterProfile> {
    const profile = await this.deps.profiles.get(tenantId, profileId);
    if (profile.project_id !== null && profile.project_id !== projectId) throw new PcgError('PCG_ERR_NOT_FOUND', `cluster profile ${profileId} not found in project ${projectId}`);
    return profile;
  }

  /**
   * Only a definite answer refuses: when the gateway is offline, slow or its vCenter unreachable, the
   * job is queued anyway and the gateway checks the placement when it runs it.
   */
  async #checkPlacementIfOnline(tenantId: string, gatewayId: string, placement: Placement, template: string): Promise<void> {
    const gateway = await this.deps.gateways.get(tenantId, gatewayId);
    if (gatewayStatus(gateway, this.deps.clock.now(), this.deps.offlineAfterMs) !== 'online') return;
    try {
      await checkPlacement(this.deps.inventory(gatewayId), placement, template);
    } catch (err) {
      if (err instanceof PcgError && (err.code === 'PCG_ERR_PLACEMENT_UNKNOWN' || err.code === 'PCG_ERR_TEMPLATE_INVALID')) throw err;
      this.deps.log.warn({ err, gatewayId }, 'placement not checked; the gateway checks it when it runs the job');
    }
  }

  /** A lost wake-up costs latency only: the dispatcher's poll finds the job. */
  async #wake(gatewayId: string): Promise<void> {
    try {
      await this.deps.signals.notify('job_queued', gatewayId);
    } catch (err) {
      this.deps.log.warn({ err, gatewayId }, 'job_queued signal not sent; the dispatcher poll finds the job');
    }
  }
}

const duplicate = (name: string) => new PcgError('PCG_ERR_CONFLICT', `a cluster named "${name}" already exists in this project`);

function describe(pools: NodePoolSizes): string {
  return `${pools.controlPlane.count} control plane, ${pools.workers.count} worker${pools.workers.count === 1 ? '' : 's'}`;
}
