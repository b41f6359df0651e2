import type { Kysely } from 'kysely';
import type { Clock } from '../../proto/clock.js';
import { PcgError } from '../../proto/errors.js';
import type { ClusterSpec } from '../../proto/schemas/jobs.js';
import { fenceEpoch } from '../store/epoch-fence.js';
import { UNFINISHED_JOB_STATES, type JobStore } from '../store/job-store.js';
import type { RelayDatabase } from '../store/schema.js';

export interface DriftApplied {
  readonly clusterId: string;
  /** The repair job queued, or null (cluster not running, a job of it unfinished, or nothing to repair from). */
  readonly repairJobId: string | null;
}

/**
 * A gateway saw VMs of a cluster gone from vCenter (removed by hand). In one transaction fenced by
 * the session epoch: the nodes are marked missing, a warning event names them, and a repair job is
 * queued with the spec of the cluster's last succeeded apply, so the gateway recreates exactly the
 * declared nodes. No repair while the cluster is not `running` or any of its jobs is unfinished:
 * a drift report during a create, a scale, a delete or a repair in progress queues nothing, and a
 * repair that fails leaves the cluster `failed`, which stops further repairs. Nothing loops.
 */
export class ClusterDrift {
  constructor(private readonly db: Kysely<RelayDatabase>, private readonly jobs: JobStore, private readonly clock: Clock) {}

  async apply(gatewayId: string, epoch: number, clusterId: string, missing: readonly string[]): Promise<DriftApplied> {
    return this.db.transaction().execute(async (trx) => {
      await fenceEpoch(trx, gatewayId, epoch);
      const cluster = await trx.selectFrom('clusters').select(['id', 'tenant_id', 'state', 'deleted_at'])
        .where('id', '=', clusterId).where('gateway_id', '=', gatewayId).executeTakeFirst();
      if (!cluster) throw new PcgError('PCG_ERR_NOT_FOUND', `cluster ${clusterId} is not a cluster of this gateway`);
      const now = this.clock.now();
      const names = [...new Set(missing)];
      await trx.updateTable('cluster_nodes').set({ state: 'missing', ready: 0, updated_at: now })
        .where('cluster_id', '=', clusterId).where('name', 'in', names).execute();
      await trx.insertInto('cluster_events').values({
        cluster_id: clusterId, tenant_id: cluster.tenant_id, job_id: null, seq: null, at: now, step: 'drift', level: 'warn',
        node: names.length === 1 ? names[0]! : null,
        message: `VM${names.length === 1 ? '' : 's'} of node${names.length === 1 ? '' : 's'} ${names.join(', ')} missing from vCenter`.slice(0, 2048),
      }).execute();
      if (cluster.state !== 'running' || cluster.deleted_at !== null) return { clusterId, repairJobId: null };
      const busy = await trx.selectFrom('jobs').select('id').where('cluster_id', '=', clusterId).where('state', 'in', UNFINISHED_JOB_STATES).executeTakeFirst();
      if (busy) return { clusterId, repairJobId: null };
      const last = await trx.selectFrom('jobs').select('spec').where('cluster_id', '=', clusterId).where('action', '=', 'apply').where('state', '=', 'succeeded')
        .orderBy('finished_at', 'desc').orderBy('created_at', 'desc').executeTakeFirst();
      if (!last) return { clusterId, repairJobId: null };
      const repair = await this.jobs.enqueue({
        tenantId: cluster.tenant_id, clusterId, gatewayId, kind: 'repair', action: 'apply', spec: JSON.parse(last.spec) as ClusterSpec,
      }, trx);
      await trx.insertInto('cluster_events').values({
        cluster_id: clusterId, tenant_id: cluster.tenant_id, job_id: repair.id, seq: null, at: now, step: 'drift', level: 'info', node: null,
        message: `repair job ${repair.id} queued to recreate ${names.join(', ')}`.slice(0, 2048),
      }).execute();
      return { clusterId, repairJobId: repair.id };
    });
  }
}
