import { sql, type ExpressionBuilder, type Kysely, type Transaction } from 'kysely';
import type { Clock } from '../../proto/clock.js';
import { PcgError } from '../../proto/errors.js';
import type { ClusterSpec, JobAction, JobKind, JobOutcome, JobResult, JobState } from '../../proto/schemas/jobs.js';
import { fenceEpochs, sessionKey, staleEpoch } from './epoch-fence.js';
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

/** States a job can still move from; everything else is terminal. */
export const UNFINISHED_JOB_STATES = ['queued', 'dispatched', 'running'] as const satisfies readonly JobState[];

/**
 * What follows a job's transitions inside the same transaction (saas-relay/jobs/job-outcomes.ts):
 * the cluster's state, nodes and addresses, and the user-facing event of a finished job.
 */
export interface JobLifecycleHooks {
  /** The gateway acknowledged these jobs: their clusters show them busy (provisioning, scaling, deleting). */
  started(trx: Transaction<RelayDatabase>, jobs: readonly JobTable[]): Promise<void>;
  /**
   * These jobs became terminal, in this order (a report batch ends many at once). A job's `result`
   * is null when the relay ended it (cancelled before it ran).
   */
  finished(trx: Transaction<RelayDatabase>, jobs: readonly FinishedJob[]): Promise<void>;
}

/** A job that just became terminal, and what ended it. */
export interface FinishedJob {
  readonly job: JobTable;
  readonly outcome: JobOutcome;
  readonly result: JobResult | null;
}

export interface JobStoreOptions {
  /** How long a dispatched job may wait for its ack before it is queued again. @default 15_000 */
  readonly leaseMs?: number;
  readonly hooks?: JobLifecycleHooks;
}

export type CancelOutcome = 'cancelled' | 'cancel-requested' | 'already-finished';

/**
 * Jobs in the relay store: `queued → dispatched → running → succeeded | failed | cancelled`.
 * Every state change is one conditional UPDATE (the condition is the state it moves from), so of
 * two relays racing for a job exactly one moves it, and the other sees zero rows changed.
 * Acks are fenced by the gateway's session epoch: they count only when they came over the session
 * the store knows as current. The gateways' reports are JobReportStore's (job-report-store.ts).
 */
export class JobStore {
  readonly #leaseMs: number;
  readonly #hooks: JobLifecycleHooks | undefined;

  constructor(private readonly db: Kysely<RelayDatabase>, private readonly clock: Clock, options: JobStoreOptions = {}) {
    this.#leaseMs = options.leaseMs ?? 15_000;
    this.#hooks = options.hooks;
  }

  /**
   * Queues a job; pass the caller's transaction as `db` so the job exists exactly when the change
   * that asked for it does. The caller signals `job_queued` (gateway id) after commit.
   */
  async enqueue(job: NewJob, db: Kysely<RelayDatabase> = this.db): Promise<JobTable> {
    // created_at is the cluster's queue order (ids are random): a create and a delete asked in the
    // same millisecond must not tie, or the delete could run first and the create leave orphan VMs.
    const last = await db.selectFrom('jobs').select((eb) => eb.fn.max('created_at').as('at')).where('cluster_id', '=', job.clusterId).executeTakeFirst();
    const now = Math.max(this.clock.now(), Number(last?.at ?? 0) + 1);
    const row: JobTable = {
      id: newId('job'), tenant_id: job.tenantId, cluster_id: job.clusterId, gateway_id: job.gatewayId, kind: job.kind, action: job.action,
      state: 'queued', spec: JSON.stringify(job.spec), attempts: 0, lease_until: null, epoch: null, cancel_requested_at: null,
      last_seq: 0, result: null, error_code: null, error_message: null, created_at: now, updated_at: now, finished_at: null,
    };
    await db.insertInto('jobs').values(row).execute();
    return row;
  }

  /** One job of one tenant (404 for every other tenant). */
  async get(tenantId: string, id: string): Promise<JobTable> {
    const row = await this.db.selectFrom('jobs').selectAll().where('id', '=', id).where('tenant_id', '=', tenantId).executeTakeFirst();
    if (!row) throw new PcgError('PCG_ERR_NOT_FOUND', `job ${id} not found`);
    return row;
  }

  /** A cluster's jobs, newest first. */
  listForCluster(tenantId: string, clusterId: string, limit = 100): Promise<JobTable[]> {
    return this.db.selectFrom('jobs').selectAll().where('tenant_id', '=', tenantId).where('cluster_id', '=', clusterId)
      .orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
  }

  /**
   * Gateways held by `relayId` (per the store) with work for their dispatcher: a queued job ready
   * to go (the oldest unfinished of its cluster), or an unfinished job with a cancel request.
   * What a relay's safety-net poll looks for.
   */
  async gatewaysWithWork(relayId: string, limit = 1000): Promise<string[]> {
    const rows = await this.db.selectFrom('jobs').select('jobs.gateway_id').distinct()
      .innerJoin('gateways', 'gateways.id', 'jobs.gateway_id')
      .where('gateways.relay_id', '=', relayId)
      .where((eb) => eb.or([
        eb.and([eb('jobs.state', '=', 'queued'), eb.not(eb.exists(this.#olderUnfinished()))]),
        eb.and([eb('jobs.state', 'in', UNFINISHED_JOB_STATES), eb('jobs.cancel_requested_at', 'is not', null)]),
      ]))
      .limit(limit).execute();
    return rows.map((r) => r.gateway_id);
  }

  /**
   * queued → dispatched (attempts + 1, a lease) for jobs of `gatewayIds`, oldest first, at most
   * `limit`. Only the oldest unfinished job of a cluster is ever taken, so one cluster's jobs run
   * in creation order; a job with a cancel request is never dispatched.
   */
  async claim(gatewayIds: readonly string[], limit: number): Promise<JobTable[]> {
    if (gatewayIds.length === 0) return [];
    const now = this.clock.now();
    // One statement: the candidates (no lock) in a subquery, and the UPDATE re-checks every
    // condition on each row it moves, so a candidate another relay took meanwhile is simply not
    // returned (on PostgreSQL the row is re-read once the other relay's transaction ends).
    const candidates = this.db.selectFrom('jobs').select('id')
      .where('gateway_id', 'in', gatewayIds).where('state', '=', 'queued').where('cancel_requested_at', 'is', null)
      .where((eb) => eb.not(eb.exists(this.#olderUnfinished())))
      .orderBy('created_at').orderBy('id').limit(limit);
    const rows = await this.db.updateTable('jobs')
      .set((eb) => ({ state: 'dispatched', attempts: eb('attempts', '+', 1), lease_until: now + this.#leaseMs, updated_at: now }))
      .where('id', 'in', candidates).where('state', '=', 'queued').where('cancel_requested_at', 'is', null)
      .where((eb) => eb.not(eb.exists(this.#olderUnfinished())))
      .returningAll().execute();
    return rows.sort((a, b) => a.created_at - b.created_at || (a.id < b.id ? -1 : 1));
  }

  /** An unfinished job of the same cluster created before the `jobs` row under test. */
  #olderUnfinished() {
    // `jobs.*` names the outer row (the subquery's own is aliased `older`), on both engines.
    return this.db.selectFrom('jobs as older').select('older.id')
      .where('older.cluster_id', '=', sql.ref<string>('jobs.cluster_id'))
      .where('older.state', 'in', UNFINISHED_JOB_STATES)
      .where((eb) => eb.or([
        eb('older.created_at', '<', sql.ref<number>('jobs.created_at')),
        eb.and([eb('older.created_at', '=', sql.ref<number>('jobs.created_at')), eb('older.id', '<', sql.ref<string>('jobs.id'))]),
      ]));
  }

  /** Jobs these gateways were given and have not finished (dispatched, running), oldest first: re-offered when a gateway reconnects. */
  inFlight(gatewayIds: readonly string[], limit = 1000): Promise<JobTable[]> {
    if (gatewayIds.length === 0) return Promise.resolve([]);
    return this.db.selectFrom('jobs').selectAll().where('gateway_id', 'in', gatewayIds).where('state', 'in', ['dispatched', 'running'])
      .orderBy('created_at').orderBy('id').limit(limit).execute();
  }

  /** Dispatched jobs offered again get a fresh lease; returns the ids renewed (the others moved on meanwhile). */
  async renewLeases(ids: readonly string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const now = this.clock.now();
    const rows = await this.db.updateTable('jobs').set({ lease_until: now + this.#leaseMs, updated_at: now })
      .where('id', 'in', ids).where('state', '=', 'dispatched').returning('id').execute();
    return new Set(rows.map((r) => r.id));
  }

  /**
   * dispatched → queued for an offer that could not be sent (the tunnel closed): only the attempt
   * that was claimed, so a later claim by another relay is never undone.
   */
  async release(id: string, attempts: number): Promise<boolean> {
    const r = await this.db.updateTable('jobs').set({ state: 'queued', lease_until: null, updated_at: this.clock.now() })
      .where('id', '=', id).where('state', '=', 'dispatched').where('attempts', '=', attempts).executeTakeFirst();
    return r.numUpdatedRows === 1n;
  }

  /** Dispatched jobs whose lease ran out go back to the queue; returns their gateways (to wake whoever holds them). */
  async requeueExpired(): Promise<string[]> {
    const now = this.clock.now();
    const rows = await this.db.updateTable('jobs').set({ state: 'queued', lease_until: null, updated_at: now })
      .where('state', '=', 'dispatched').where('lease_until', '<', now)
      .returning('gateway_id').execute();
    return [...new Set(rows.map((r) => r.gateway_id))];
  }

  /**
   * The gateway acknowledged an offer (accepted, already running, or finished): dispatched (or
   * queued again after a lost lease, or running under an older epoch) → running with the session's
   * epoch. Throws PCG_ERR_STALE_EPOCH when the session is not the gateway's current one.
   * Returns false when the job had already ended (its report beat the ack).
   */
  async ack(jobId: string, gatewayId: string, epoch: number): Promise<boolean> {
    const { started, stale } = await this.ackMany([{ jobId, gatewayId, epoch }]);
    if (stale.length > 0) throw staleEpoch(gatewayId, epoch);
    return started.length === 1;
  }

  /**
   * Many acks in one transaction (the dispatcher gathers those that arrive together): one fencing
   * statement for all their gateways, one UPDATE for all their jobs, the cluster states by kind.
   * Acks over a superseded epoch are returned as `stale` and change nothing.
   */
  async ackMany(acks: ReadonlyArray<{ jobId: string; gatewayId: string; epoch: number }>): Promise<{ started: string[]; stale: string[] }> {
    if (acks.length === 0) return { started: [], stale: [] };
    return this.db.transaction().execute(async (trx) => {
      const current = await fenceEpochs(trx, acks);
      const valid = acks.filter((a) => current.has(sessionKey(a.gatewayId, a.epoch)));
      const stale = acks.filter((a) => !current.has(sessionKey(a.gatewayId, a.epoch))).map((a) => a.jobId);
      if (valid.length === 0) return { started: [], stale };
      const now = this.clock.now();
      // The offer went to the job's own gateway, so the job takes the epoch its gateway row has
      // now: the fence above locked that row at the ack's epoch until this transaction ends.
      const rows = await trx.updateTable('jobs')
        .set((eb) => ({ state: 'running', epoch: eb.selectFrom('gateways').select('gateways.epoch').whereRef('gateways.id', '=', 'jobs.gateway_id'), lease_until: null, updated_at: now }))
        .where(ofTheirGateways(valid)).where('state', 'in', UNFINISHED_JOB_STATES)
        .returningAll().execute();
      if (rows.length > 0) await this.#hooks?.started(trx, rows);
      return { started: rows.map((r) => r.id), stale };
    });
  }

  /**
   * A user's cancel: queued → cancelled at once (with its cluster outcome); dispatched or running
   * → cancel_requested_at, and the gateway confirms with its result (the dispatcher sends
   * job.cancel). Code that cancels inside its own transaction (a cluster delete) may instead set
   * cancel_requested_at on the active jobs itself: the dispatcher treats both alike.
   */
  async requestCancel(tenantId: string, id: string): Promise<{ outcome: CancelOutcome; job: JobTable }> {
    const now = this.clock.now();
    const cancelled = await this.cancelOutright(id, 'queued', tenantId);
    if (cancelled) return { outcome: 'cancelled', job: cancelled };
    await this.db.updateTable('jobs').set({ cancel_requested_at: now, updated_at: now })
      .where('id', '=', id).where('tenant_id', '=', tenantId).where('state', 'in', ['dispatched', 'running']).where('cancel_requested_at', 'is', null)
      .execute();
    const job = await this.get(tenantId, id);
    if (job.state === 'queued') return this.requestCancel(tenantId, id); // lease expired in between: cancel it now
    return { outcome: job.state === 'dispatched' || job.state === 'running' ? 'cancel-requested' : 'already-finished', job };
  }

  /**
   * Ends a job as cancelled without its gateway: a queued job, or one the gateway says it never
   * saw (`unknown`) or whose lease ran out after a cancel request. Conditional on `from`.
   */
  async cancelOutright(id: string, from: 'queued' | 'requested', tenantId?: string): Promise<JobTable | undefined> {
    return this.db.transaction().execute(async (trx) => {
      const now = this.clock.now();
      const row = await trx.updateTable('jobs')
        .set({ state: 'cancelled', cancel_requested_at: now, finished_at: now, updated_at: now, lease_until: null, error_code: 'PCG_ERR_JOB_CANCELLED', error_message: 'cancelled before the gateway ran it' })
        .where('id', '=', id)
        .$if(tenantId !== undefined, (qb) => qb.where('tenant_id', '=', tenantId!))
        .$if(from === 'queued', (qb) => qb.where('state', '=', 'queued'))
        .$if(from === 'requested', (qb) => qb.where('state', 'in', UNFINISHED_JOB_STATES).where('cancel_requested_at', 'is not', null))
        .returningAll().executeTakeFirst();
      if (row) await this.#hooks?.finished(trx, [{ job: row, outcome: 'cancelled', result: null }]);
      return row;
    });
  }

  /** Unfinished jobs of these gateways with a cancel request: the dispatcher asks their gateway to stop them. */
  cancelRequested(gatewayIds: readonly string[], limit = 500): Promise<JobTable[]> {
    if (gatewayIds.length === 0) return Promise.resolve([]);
    return this.db.selectFrom('jobs').selectAll()
      .where('gateway_id', 'in', gatewayIds).where('state', 'in', UNFINISHED_JOB_STATES).where('cancel_requested_at', 'is not', null)
      .orderBy('created_at').limit(limit).execute();
  }

  /** Queued jobs someone marked for cancel directly (e.g. a cluster delete): any relay ends them. */
  queuedWithCancelRequest(limit = 500): Promise<JobTable[]> {
    return this.db.selectFrom('jobs').selectAll().where('state', '=', 'queued').where('cancel_requested_at', 'is not', null).limit(limit).execute();
  }
}

/**
 * Rows of `jobs` that are these jobs of these gateways, as one condition: `id in (…)` picks them
 * by primary key, the row-value list keeps each to its own gateway (a gateway never moves another's job).
 */
export function ofTheirGateways(items: ReadonlyArray<{ jobId: string; gatewayId: string }>) {
  return (eb: ExpressionBuilder<RelayDatabase, 'jobs'>) => eb.and([
    eb('id', 'in', items.map((i) => i.jobId)),
    sql<boolean>`(${sql.ref('id')}, ${sql.ref('gateway_id')}) in (values ${sql.join(items.map((i) => sql`(${i.jobId}, ${i.gatewayId})`))})`,
  ]);
}
