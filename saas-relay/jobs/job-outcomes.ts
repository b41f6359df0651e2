import type { Transaction } from 'kysely';
import type { Clock } from '../../proto/clock.js';
import type { JobKind, JobOutcome, JobResult, NodeStatus } from '../../proto/schemas/jobs.js';
import type { FinishedJob, JobLifecycleHooks } from '../store/job-store.js';
import type { ClusterState, JobTable, RelayDatabase } from '../store/schema.js';

/** What a cluster shows while a job of each kind is with its gateway. */
export const BUSY_STATE: Readonly<Record<JobKind, ClusterState>> = {
  create: 'provisioning',
  // A repair re-provisions nodes that went missing; the cluster is not usable as declared meanwhile.
  repair: 'provisioning',
  scale: 'scaling',
  delete: 'deleting',
};

/**
 * The cluster state a finished job leaves behind. Decisions:
 * - a failed delete leaves the cluster `failed`, not `deleting`: nothing is running for it any
 *   more, and `failed` is the state a user can act on (delete again);
 * - a cancelled create or delete leaves it `failed` (half built or half removed); a cancelled
 *   scale or repair leaves it `running` with the nodes the gateway reported, as before the job.
 */
export const OUTCOME_STATE: Readonly<Record<JobKind, Readonly<Record<JobOutcome, ClusterState>>>> = {
  create: { succeeded: 'running', failed: 'failed', cancelled: 'failed' },
  scale: { succeeded: 'running', failed: 'failed', cancelled: 'running' },
  repair: { succeeded: 'running', failed: 'failed', cancelled: 'running' },
  delete: { succeeded: 'deleted', failed: 'failed', cancelled: 'failed' },
};

/**
 * The cluster follows its jobs, in the transaction that moves the job (JobStore calls these):
 *
 *   job running              → cluster BUSY_STATE[kind]
 *   apply succeeded          → running; cluster_nodes = result.nodes (present, vm, uuid, ip, ready);
 *                              nodes not in the result removed, their addresses released
 *   delete succeeded         → deleted (deleted_at); every node removed, every address released
 *   failed / cancelled       → OUTCOME_STATE; nodes the gateway reported are recorded, none removed
 *
 * Once a cluster is `deleting` (a delete is queued behind the job) or `deleted`, only a delete job
 * moves its state: a create finishing under a pending delete must not show `running`.
 */
export class JobOutcomes implements JobLifecycleHooks {
  constructor(private readonly clock: Clock) {}

  async started(trx: Transaction<RelayDatabase>, jobs: readonly JobTable[]): Promise<void> {
    const byKind = new Map<JobKind, string[]>();
    for (const job of jobs) {
      // A job re-acknowledged after a cancel request (or a delete behind it) keeps the state the user set.
      if (job.cancel_requested_at !== null && job.kind !== 'delete') continue;
      byKind.set(job.kind, [...(byKind.get(job.kind) ?? []), job.cluster_id]);
    }
    const now = this.clock.now();
    for (const [kind, clusterIds] of byKind) {
      await trx.updateTable('clusters').set({ state: BUSY_STATE[kind], updated_at: now })
        .where('id', 'in', clusterIds).where('deleted_at', 'is', null)
        .where('state', 'not in', kind === 'delete' ? ['deleted', BUSY_STATE[kind]] : ['deleting', 'deleted', BUSY_STATE[kind]])
        .execute();
    }
  }

  async finished(trx: Transaction<RelayDatabase>, jobs: readonly FinishedJob[]): Promise<void> {
    // One pass per cluster seen: a second job of a cluster in the batch sees what the first left.
    let rest = jobs;
    while (rest.length > 0) {
      const seen = new Set<string>();
      const pass: FinishedJob[] = [];
      const later: FinishedJob[] = [];
      for (const f of rest) {
        (seen.has(f.job.cluster_id) ? later : pass).push(f);
        seen.add(f.job.cluster_id);
      }
      await this.#finishPass(trx, pass);
      rest = later;
    }
  }

  /**
   * Jobs of distinct clusters, in a fixed number of statements however many: read the clusters,
   * insert the events, upsert the reported nodes, remove what is gone, set the states by target.
   */
  async #finishPass(trx: Transaction<RelayDatabase>, jobs: readonly FinishedJob[]): Promise<void> {
    const now = this.clock.now();
    const clusters = new Map((await trx.selectFrom('clusters').select(['id', 'state', 'deleted_at'])
      .where('id', 'in', jobs.map((f) => f.job.cluster_id)).execute()).map((c) => [c.id, c]));
    await trx.insertInto('cluster_events').values(jobs.map(({ job, outcome, result }) => ({
      cluster_id: job.cluster_id, tenant_id: job.tenant_id, job_id: job.id, seq: null, at: now, step: 'job', node: null,
      level: outcome === 'succeeded' ? 'info' as const : outcome === 'failed' ? 'error' as const : 'warn' as const,
      message: describe(job, outcome, result),
    }))).execute();
    const live = jobs.filter((f) => {
      const cluster = clusters.get(f.job.cluster_id);
      return cluster !== undefined && cluster.deleted_at === null;
    });
    const deleted = live.filter((f) => f.job.action === 'delete' && f.outcome === 'succeeded');
    const kept = live.filter((f) => !(f.job.action === 'delete' && f.outcome === 'succeeded'));
    await this.#recordNodes(trx, kept.flatMap((f) => (f.result?.nodes ?? []).map((n) => ({ clusterId: f.job.cluster_id, node: n }))), now);
    // A successful apply's result is the whole cluster as built: whatever it does not name is gone.
    // A successful delete leaves nothing.
    const applied = kept.filter((f) => f.job.action === 'apply' && f.outcome === 'succeeded');
    const removeAll = [...deleted, ...applied.filter((f) => (f.result?.nodes ?? []).length === 0)].map((f) => f.job.cluster_id);
    const removeSome = applied.filter((f) => (f.result?.nodes ?? []).length > 0).map((f) => ({ clusterId: f.job.cluster_id, keep: f.result!.nodes.map((n) => n.name) }));
    if (removeAll.length > 0 || removeSome.length > 0) {
      await trx.deleteFrom('cluster_nodes').where((eb) => eb.or([
        ...(removeAll.length > 0 ? [eb('cluster_id', 'in', removeAll)] : []),
        ...removeSome.map((r) => eb.and([eb('cluster_id', '=', r.clusterId), eb('name', 'not in', r.keep)])),
      ])).execute();
      await trx.deleteFrom('ip_allocations').where((eb) => eb.or([
        ...(removeAll.length > 0 ? [eb('cluster_id', 'in', removeAll)] : []),
        ...removeSome.map((r) => eb.and([eb('cluster_id', '=', r.clusterId), eb('node_name', 'not in', r.keep)])),
      ])).execute();
    }
    if (deleted.length > 0) {
      await trx.updateTable('clusters').set({ state: 'deleted', deleted_at: now, updated_at: now }).where('id', 'in', deleted.map((f) => f.job.cluster_id)).execute();
    }
    const byState = new Map<ClusterState, string[]>();
    for (const f of kept) {
      const pendingDelete = clusters.get(f.job.cluster_id)!.state === 'deleting' && f.job.kind !== 'delete';
      if (pendingDelete) continue;
      const state = OUTCOME_STATE[f.job.kind][f.outcome];
      byState.set(state, [...(byState.get(state) ?? []), f.job.cluster_id]);
    }
    for (const [state, ids] of byState) await trx.updateTable('clusters').set({ state, updated_at: now }).where('id', 'in', ids).execute();
  }

  async #recordNodes(trx: Transaction<RelayDatabase>, nodes: ReadonlyArray<{ clusterId: string; node: NodeStatus }>, now: number): Promise<void> {
    if (nodes.length === 0) return;
    await trx.insertInto('cluster_nodes').values(nodes.map(({ clusterId, node: n }) => ({
      cluster_id: clusterId, name: n.name, role: n.role, state: 'present' as const, vm: n.vm, instance_uuid: n.instanceUuid, ip: n.ip, ready: n.ready ? 1 : 0, updated_at: now,
    }))).onConflict((oc) => oc.columns(['cluster_id', 'name']).doUpdateSet((eb) => ({
      role: eb.ref('excluded.role'), state: eb.ref('excluded.state'), vm: eb.ref('excluded.vm'), instance_uuid: eb.ref('excluded.instance_uuid'),
      ip: eb.ref('excluded.ip'), ready: eb.ref('excluded.ready'), updated_at: eb.ref('excluded.updated_at'),
    }))).execute();
  }
}

function describe(job: JobTable, outcome: JobOutcome, result: JobResult | null): string {
  const error = result?.error ?? (outcome === 'cancelled' && !result ? { code: 'PCG_ERR_JOB_CANCELLED', message: 'cancelled before the gateway ran it' } : undefined);
  return `${job.kind} job ${outcome}${error ? `: ${error.code}: ${error.message}` : ''}`.slice(0, 2048);
}
