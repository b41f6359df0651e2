import type { Kysely } from 'kysely';
import type { Clock } from '../../proto/clock.js';
import { PcgError } from '../../proto/errors.js';
import type { ClusterNodeTable, ClusterState, ClusterTable, JobTable, RelayDatabase } from './schema.js';

/** Jobs that have not ended: the dispatcher may still deliver or run them. */
export const ACTIVE_JOB_STATES: ReadonlyArray<JobTable['state']> = ['queued', 'dispatched', 'running'];

export type JobSummary = Pick<JobTable, 'id' | 'kind' | 'state' | 'action'>;

/**
 * Clusters and their nodes, tenant-scoped. Writes that must be decided one at a time per cluster
 * (scale, delete) start with `lock()`, so two relays on PostgreSQL never both queue a job for one
 * cluster from the same stale view.
 */
export class ClusterStore {
  constructor(private readonly db: Kysely<RelayDatabase>, private readonly clock: Clock) {}

  async insert(cluster: ClusterTable, nodes: readonly ClusterNodeTable[], db: Kysely<RelayDatabase> = this.db): Promise<void> {
    await db.insertInto('clusters').values(cluster).execute();
    if (nodes.length > 0) await db.insertInto('cluster_nodes').values([...nodes]).execute();
  }

  /** Tenant-scoped: another tenant's cluster is not found. */
  async get(tenantId: string, id: string, db: Kysely<RelayDatabase> = this.db): Promise<ClusterTable> {
    const row = await db.selectFrom('clusters').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
    if (!row) throw new PcgError('PCG_ERR_NOT_FOUND', `cluster ${id} not found`);
    return row;
  }

  /**
   * Takes the cluster's row lock for the rest of the transaction `db` (PostgreSQL; SQLite runs one
   * write transaction at a time anyway) and returns the row as it is now.
   */
  async lock(tenantId: string, id: string, db: Kysely<RelayDatabase>): Promise<ClusterTable> {
    await db.updateTable('clusters').set((eb) => ({ updated_at: eb.ref('updated_at') })).where('tenant_id', '=', tenantId).where('id', '=', id).execute();
    return this.get(tenantId, id, db);
  }

  /**
   * Serialises cluster creation within a project (its row lock) so the name check and the insert
   * of two concurrent creates cannot interleave.
   */
  async lockProject(tenantId: string, projectId: string, db: Kysely<RelayDatabase>): Promise<void> {
    await db.updateTable('projects').set((eb) => ({ name: eb.ref('name') })).where('tenant_id', '=', tenantId).where('id', '=', projectId).execute();
  }

  list(tenantId: string, projectId: string): Promise<ClusterTable[]> {
    return this.db.selectFrom('clusters').selectAll().where('tenant_id', '=', tenantId).where('project_id', '=', projectId)
      .orderBy('created_at').orderBy('id').execute();
  }

  /** A cluster of that name that is not deleted, in the project. */
  findLiveByName(tenantId: string, projectId: string, name: string, db: Kysely<RelayDatabase> = this.db): Promise<Pick<ClusterTable, 'id'> | undefined> {
    return db.selectFrom('clusters').select('id').where('tenant_id', '=', tenantId).where('project_id', '=', projectId)
      .where('name', '=', name).where('state', '!=', 'deleted').executeTakeFirst();
  }

  /** Nodes in name order within role: control plane first, then workers by index (worker-10 after worker-9). */
  async nodes(clusterId: string, db: Kysely<RelayDatabase> = this.db): Promise<ClusterNodeTable[]> {
    const rows = await db.selectFrom('cluster_nodes').selectAll().where('cluster_id', '=', clusterId).execute();
    return rows.sort(compareNodes);
  }

  async addNodes(nodes: readonly ClusterNodeTable[], db: Kysely<RelayDatabase> = this.db): Promise<void> {
    if (nodes.length > 0) await db.insertInto('cluster_nodes').values([...nodes]).execute();
  }

  /** Drops nodes from the desired set; the job outcome removes the rows (and their addresses) once the VMs are gone. */
  async markRemoving(clusterId: string, names: readonly string[], db: Kysely<RelayDatabase> = this.db): Promise<void> {
    if (names.length === 0) return;
    await db.updateTable('cluster_nodes').set({ state: 'removing', updated_at: this.clock.now() })
      .where('cluster_id', '=', clusterId).where('name', 'in', [...names]).execute();
  }

  async update(clusterId: string, changes: Partial<Pick<ClusterTable, 'state' | 'node_pools' | 'next_worker'>> & { state?: ClusterState }, db: Kysely<RelayDatabase> = this.db): Promise<void> {
    await db.updateTable('clusters').set({ ...changes, updated_at: this.clock.now() }).where('id', '=', clusterId).execute();
  }

  /** The cluster's jobs that have not ended, oldest first. */
  activeJobs(clusterId: string, db: Kysely<RelayDatabase> = this.db): Promise<JobSummary[]> {
    return db.selectFrom('jobs').select(['id', 'kind', 'state', 'action']).where('cluster_id', '=', clusterId)
      .where('state', 'in', [...ACTIVE_JOB_STATES]).orderBy('created_at').orderBy('id').execute();
  }

  /** Asks for every unfinished job of the cluster to be cancelled; the dispatcher delivers the cancel. */
  async requestCancel(clusterId: string, db: Kysely<RelayDatabase> = this.db): Promise<number> {
    const now = this.clock.now();
    const result = await db.updateTable('jobs').set({ cancel_requested_at: now, updated_at: now }).where('cluster_id', '=', clusterId)
      .where('state', 'in', [...ACTIVE_JOB_STATES]).where('cancel_requested_at', 'is', null).executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  /** The newest job of each cluster (by creation), for list and get views. */
  async latestJobs(clusterIds: readonly string[]): Promise<Map<string, JobSummary>> {
    if (clusterIds.length === 0) return new Map();
    const rows = await this.db.selectFrom('jobs').select(['id', 'kind', 'state', 'action', 'cluster_id', 'created_at'])
      .where('cluster_id', 'in', [...clusterIds]).orderBy('created_at', 'desc').orderBy('id', 'desc').execute();
    const latest = new Map<string, JobSummary>();
    for (const row of rows) if (!latest.has(row.cluster_id)) latest.set(row.cluster_id, { id: row.id, kind: row.kind, state: row.state, action: row.action });
    return latest;
  }
}

/** cp-0 < cp-2 < worker-0 < worker-9 < worker-10. */
export function compareNodes(a: Pick<ClusterNodeTable, 'role' | 'name'>, b: Pick<ClusterNodeTable, 'role' | 'name'>): number {
  if (a.role !== b.role) return a.role === 'control-plane' ? -1 : 1;
  return nodeIndex(a.name) - nodeIndex(b.name) || a.name.localeCompare(b.name);
}

/** The number at the end of a node name (`worker-12` → 12). */
export function nodeIndex(name: string): number {
  return Number(/-(\d+)$/.exec(name)?.[1] ?? -1);
}
