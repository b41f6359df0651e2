import type { Kysely } from 'kysely';
import type { Clock } from '../../proto/clock.js';
import type { ClusterSpec, JobAction, JobKind } from '../../proto/schemas/jobs.js';
import { newId } from './ids.js';
import type { JobTable, RelayDatabase } from './schema.js';

export interface NewJob {
  readonly tenantId: string;
  readonly clusterId: string;
  readonly gatewayId: string;
  readonly kind: JobKind;
  readonly action: JobAction;
  readonly spec: ClusterSpec;
}

/**
 * Jobs in the relay store: `queued → dispatched → running → succeeded | failed | cancelled`.
 * Every state change is one conditional UPDATE, so two relays never both move a job.
 */
export class JobStore {
  constructor(private readonly db: Kysely<RelayDatabase>, private readonly clock: Clock) {}

  /**
   * Queues a job; pass the caller's transaction as `db` so the job exists exactly when the change
   * that asked for it does. The caller signals `job_queued` (gateway id) after commit.
   */
  async enqueue(job: NewJob, db: Kysely<RelayDatabase> = this.db): Promise<JobTable> {
    const now = this.clock.now();
    const row: JobTable = {
      id: newId('job'), tenant_id: job.tenantId, cluster_id: job.clusterId, gateway_id: job.gatewayId, kind: job.kind, action: job.action,
      state: 'queued', spec: JSON.stringify(job.spec), attempts: 0, lease_until: null, epoch: null, cancel_requested_at: null,
      last_seq: 0, result: null, error_code: null, error_message: null, created_at: now, updated_at: now, finished_at: null,
    };
    await db.insertInto('jobs').values(row).execute();
    return row;
  }
}
