import type { Kysely } from 'kysely';
import type { Clock } from '../../proto/clock.js';
import type { ClusterEventTable, ClusterTable, RelayDatabase } from './schema.js';

export type ClusterEvent = Omit<ClusterEventTable, 'id'> & { id: number };

/** What event readers need of a cluster: whose it is and whether it is gone. */
export type ClusterScope = Pick<ClusterTable, 'id' | 'tenant_id' | 'project_id' | 'gateway_id' | 'state' | 'deleted_at'>;

export interface NewClusterEvent {
  readonly clusterId: string;
  readonly tenantId: string;
  readonly step: string;
  readonly message: string;
  readonly level?: 'info' | 'warn' | 'error';
  readonly node?: string | undefined;
  /** With `seq`: a gateway's job event; (job_id, seq) is stored once however often it is resent. */
  readonly jobId?: string | undefined;
  readonly seq?: number | undefined;
  /** @default clock.now() */
  readonly at?: number | undefined;
}

/** What happened to each cluster, in order. Appended by the API and by job reports; read by the event routes. */
export class ClusterEventStore {
  constructor(private readonly db: Kysely<RelayDatabase>, private readonly clock: Clock) {}

  /** Appends events; a job event already stored (same job and seq) is skipped, not an error. */
  async append(events: readonly NewClusterEvent[], db: Kysely<RelayDatabase> = this.db): Promise<void> {
    if (events.length === 0) return;
    const now = this.clock.now();
    await db.insertInto('cluster_events').values(events.map((e) => ({
      cluster_id: e.clusterId, tenant_id: e.tenantId, job_id: e.jobId ?? null, seq: e.seq ?? null, at: e.at ?? now,
      step: e.step, node: e.node ?? null, level: e.level ?? 'info', message: e.message,
    }))).onConflict((oc) => oc.columns(['job_id', 'seq']).doNothing()).execute();
  }

  /** Events of one cluster of one tenant after `afterId`, oldest first. */
  async after(tenantId: string, clusterId: string, afterId: number, limit = 500): Promise<ClusterEvent[]> {
    const rows = await this.db.selectFrom('cluster_events').selectAll()
      .where('tenant_id', '=', tenantId).where('cluster_id', '=', clusterId).where('id', '>', afterId)
      .orderBy('id').limit(limit).execute();
    return rows.map((r) => ({ ...r, id: Number(r.id) }));
  }

  /** A cluster of one tenant (deleted ones included: their events stay readable), or undefined. */
  cluster(tenantId: string, clusterId: string): Promise<ClusterScope | undefined> {
    return this.db.selectFrom('clusters').select(['id', 'tenant_id', 'project_id', 'gateway_id', 'state', 'deleted_at'])
      .where('id', '=', clusterId).where('tenant_id', '=', tenantId).executeTakeFirst();
  }
}
