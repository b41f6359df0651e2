import { sql, type ExpressionBuilder, type Kysely, type RawBuilder, type Transaction } from 'kysely';
import type { Clock } from '../../proto/clock.js';
import { PcgError } from '../../proto/errors.js';
import type { ClusterSpec, JobAction, JobEvent, JobKind, JobOutcome, JobResult, JobState } from '../../proto/schemas/jobs.js';
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

/** Event rows per INSERT: 9 parameters each, well under SQLite's 32,766 and PostgreSQL's 65,535. */
const EVENTS_PER_INSERT = 1000;

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

/** A report as it came over the tunnel (proto JobReportFrame without the framing). */
export interface JobReport {
  readonly job_id: string;
  readonly events: readonly JobEvent[];
  readonly result?: JobResult | undefined;
}

/** A report and the session it came over: a gateway and that session's epoch. */
export interface SessionReport {
  readonly gatewayId: string;
  readonly epoch: number;
  readonly report: JobReport;
}

export interface ReportApplied {
  readonly job: JobTable;
  /** Highest event seq stored for the job: the gateway may forget everything up to it. */
  readonly seq: number;
  /** Events stored by this report (0 for a resend). */
  readonly stored: number;
  /** This report made the job terminal. */
  readonly finished: boolean;
  /** It finished, and a queued job of the same cluster waited behind it: that one may go now. */
  readonly unblocked: boolean;
}

/** One report of a batch: what it did, or why nothing of it was stored. */
export type ReportOutcome = { readonly applied: ReportApplied; readonly error?: undefined } | { readonly applied?: undefined; readonly error: PcgError };

export type CancelOutcome = 'cancelled' | 'cancel-requested' | 'already-finished';

/**
 * Jobs in the relay store: `queued → dispatched → running → succeeded | failed | cancelled`.
 * Every state change is one conditional UPDATE (the condition is the state it moves from), so of
 * two relays racing for a job exactly one moves it, and the other sees zero rows changed.
 * Reports and acks are fenced by the gateway's session epoch: they count only when they came over
 * the session the store knows as current.
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
    if (stale.length > 0) throw new PcgError('PCG_ERR_STALE_EPOCH', `session epoch ${epoch} of gateway ${gatewayId} is superseded; not stored`);
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
   * Stores a report: its events once each (by job and seq, so a resend stores nothing twice) and,
   * with a result, the job's terminal state together with what follows for its cluster (hooks),
   * all in one transaction fenced by the session epoch. A result for a job already terminal (the
   * relay cancelled it outright, or this is a resend) changes nothing; the ack tells its state.
   * Throws PCG_ERR_STALE_EPOCH (superseded session) or PCG_ERR_NOT_FOUND (not this gateway's job).
   */
  async applyReport(gatewayId: string, epoch: number, report: JobReport): Promise<ReportApplied> {
    const [outcome] = await this.applyReports([{ gatewayId, epoch, report }]);
    if (outcome!.error) throw outcome!.error;
    return outcome!.applied;
  }

  /**
   * Many reports (of any gateways) in one transaction, each exactly as applyReport would store it,
   * in a fixed number of statements however many there are: one fence for every session, one
   * conditional UPDATE finishing the jobs with a result, one moving last_seq of the others, one
   * INSERT of all events, the hooks for all finished jobs. A report over a superseded epoch, or for
   * a job not of its gateway, gets its error and stores nothing; the others are unaffected. A job
   * reported twice in a batch is applied in order (the second in a later round, same transaction).
   */
  async applyReports(reports: readonly SessionReport[]): Promise<ReportOutcome[]> {
    if (reports.length === 0) return [];
    const outcomes = await this.db.transaction().execute(async (trx) => {
      const out: ReportOutcome[] = new Array<ReportOutcome>(reports.length);
      const current = await fenceEpochs(trx, reports);
      let round: number[] = [];
      reports.forEach((r, i) => {
        if (current.has(sessionKey(r.gatewayId, r.epoch))) round.push(i);
        else out[i] = { error: staleEpoch(r.gatewayId, r.epoch) };
      });
      while (round.length > 0) {
        const seen = new Set<string>();
        const now: number[] = [];
        const later: number[] = [];
        for (const i of round) {
          const jobId = reports[i]!.report.job_id;
          (seen.has(jobId) ? later : now).push(i);
          seen.add(jobId);
        }
        const applied = await this.#applyRound(trx, now.map((i) => reports[i]!));
        now.forEach((i, k) => (out[i] = applied[k]!));
        round = later;
      }
      return out;
    });
    // After commit: a job queued behind one of these now is either seen here or queued later
    // (then its own job_queued wake finds the cluster free), so no wake-up is lost in between.
    const clusters = [...new Set(outcomes.flatMap((o) => (o.applied?.finished ? [o.applied.job.cluster_id] : [])))];
    if (clusters.length === 0) return outcomes;
    const waiting = new Set((await this.db.selectFrom('jobs').select('cluster_id').distinct()
      .where('cluster_id', 'in', clusters).where('state', '=', 'queued').execute()).map((r) => r.cluster_id));
    return outcomes.map((o) => (o.applied?.finished && waiting.has(o.applied.job.cluster_id) ? { applied: { ...o.applied, unblocked: true } } : o));
  }

  /** Reports of distinct jobs, all over current sessions: the statements of applyReports. */
  async #applyRound(trx: Transaction<RelayDatabase>, reports: readonly SessionReport[]): Promise<ReportOutcome[]> {
    const now = this.clock.now();
    const items = reports.map((r) => ({ jobId: r.report.job_id, gatewayId: r.gatewayId, report: r.report, maxSeq: r.report.events.reduce((m, e) => Math.max(m, e.seq), 0) }));
    const rows = new Map<string, JobTable>();
    const ending = items.filter((i) => i.report.result !== undefined);
    if (ending.length > 0) {
      const results = ending.map((i) => [i.jobId, i.report.result!] as const);
      const ended = await trx.updateTable('jobs')
        .set({
          last_seq: lastSeqCase(ending), updated_at: now, finished_at: now, lease_until: null,
          state: byJob<JobState>('state', results.map(([id, r]) => [id, r.outcome])),
          result: byJob<string | null>('result', results.map(([id, r]) => [id, JSON.stringify(r)])),
          error_code: byJob<string | null>('error_code', results.map(([id, r]) => [id, r.error?.code ?? null])),
          error_message: byJob<string | null>('error_message', results.map(([id, r]) => [id, r.error?.message ?? null])),
        })
        .where(ofTheirGateways(ending)).where('state', 'in', UNFINISHED_JOB_STATES)
        .returningAll().execute();
      for (const row of ended) rows.set(row.id, row);
    }
    const finished = new Set(rows.keys());
    const rest = items.filter((i) => !finished.has(i.jobId));
    if (rest.length > 0) {
      // max() in SQL: two reports of one job committed out of order never move last_seq back.
      const moved = await trx.updateTable('jobs').set({ last_seq: lastSeqCase(rest), updated_at: now })
        .where(ofTheirGateways(rest)).returningAll().execute();
      for (const row of moved) rows.set(row.id, row);
    }
    const events = items.flatMap((i) => {
      const job = rows.get(i.jobId);
      return job ? i.report.events.map((e) => ({
        cluster_id: job.cluster_id, tenant_id: job.tenant_id, job_id: job.id, seq: e.seq, at: e.at, step: e.step, node: e.node ?? null, level: e.level, message: e.message,
      })) : [];
    });
    const stored = new Map<string, number>();
    // In chunks: a batch may carry up to 200 events per report, more than a statement's parameters.
    for (let at = 0; at < events.length; at += EVENTS_PER_INSERT) {
      const inserted = await trx.insertInto('cluster_events').values(events.slice(at, at + EVENTS_PER_INSERT))
        .onConflict((oc) => oc.columns(['job_id', 'seq']).doNothing()).returning('job_id').execute();
      for (const { job_id: id } of inserted) stored.set(id!, (stored.get(id!) ?? 0) + 1);
    }
    const done = items.filter((i) => finished.has(i.jobId)).map((i) => ({ job: rows.get(i.jobId)!, outcome: i.report.result!.outcome, result: i.report.result! }));
    if (done.length > 0) await this.#hooks?.finished(trx, done);
    return items.map((i): ReportOutcome => {
      const job = rows.get(i.jobId);
      if (!job) return { error: new PcgError('PCG_ERR_NOT_FOUND', `job ${i.jobId} is not a job of this gateway`) };
      return { applied: { job, seq: job.last_seq, stored: stored.get(i.jobId) ?? 0, finished: finished.has(i.jobId), unblocked: false } };
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
 * Epoch fencing: counts only if `epoch` is the gateway's current session. The no-op UPDATE takes
 * the gateway row's lock, so a new session (beginSession bumps the epoch) cannot commit between
 * this check and the caller's commit: on PostgreSQL it waits, on SQLite the write lock is held.
 */
export async function fenceEpoch(trx: Kysely<RelayDatabase>, gatewayId: string, epoch: number): Promise<void> {
  const r = await trx.updateTable('gateways').set((eb) => ({ epoch: eb.ref('epoch') }))
    .where('id', '=', gatewayId).where('epoch', '=', epoch).executeTakeFirst();
  if (r.numUpdatedRows !== 1n) throw new PcgError('PCG_ERR_STALE_EPOCH', `session epoch ${epoch} of gateway ${gatewayId} is superseded; not stored`);
}


const sessionKey = (gatewayId: string, epoch: number): string => `${gatewayId}:${epoch}`;

const staleEpoch = (gatewayId: string, epoch: number): PcgError =>
  new PcgError('PCG_ERR_STALE_EPOCH', `session epoch ${epoch} of gateway ${gatewayId} is superseded; not stored`);

/**
 * fenceEpoch for many sessions in one statement; returns the `gateway:epoch` keys that are current.
 * Each current gateway row stays locked until the caller's transaction ends.
 */
async function fenceEpochs(trx: Kysely<RelayDatabase>, sessions: ReadonlyArray<{ gatewayId: string; epoch: number }>): Promise<Set<string>> {
  const pairs = [...new Map(sessions.map((s) => [sessionKey(s.gatewayId, s.epoch), s])).values()];
  const fenced = await trx.updateTable('gateways').set((eb) => ({ epoch: eb.ref('epoch') }))
    .where((eb) => eb.or(pairs.map((p) => eb.and([eb('id', '=', p.gatewayId), eb('epoch', '=', p.epoch)]))))
    .returning(['id', 'epoch']).execute();
  return new Set(fenced.map((r) => sessionKey(r.id, r.epoch)));
}

/**
 * Rows of `jobs` that are these jobs of these gateways, as one condition: `id in (…)` picks them
 * by primary key, the row-value list keeps each to its own gateway (a gateway never moves another's job).
 */
function ofTheirGateways(items: ReadonlyArray<{ jobId: string; gatewayId: string }>) {
  return (eb: ExpressionBuilder<RelayDatabase, 'jobs'>) => eb.and([
    eb('id', 'in', items.map((i) => i.jobId)),
    sql<boolean>`(${sql.ref('id')}, ${sql.ref('gateway_id')}) in (values ${sql.join(items.map((i) => sql`(${i.jobId}, ${i.gatewayId})`))})`,
  ]);
}

/** `last_seq` raised to each job's highest reported seq, never lowered (max() per row, in SQL). */
function lastSeqCase(items: ReadonlyArray<{ jobId: string; maxSeq: number }>): RawBuilder<number> {
  const raising = items.filter((i) => i.maxSeq > 0);
  if (raising.length === 0) return sql<number>`${sql.ref('last_seq')}`;
  return sql<number>`case ${sql.join(raising.map((i) => sql`when ${sql.ref('id')} = ${i.jobId} and ${sql.ref('last_seq')} < ${i.maxSeq} then ${i.maxSeq}`), sql` `)} else ${sql.ref('last_seq')} end`;
}

/** A column set to a value per job in one UPDATE: `case id when … then … else <column> end`. */
function byJob<T>(column: 'state' | 'result' | 'error_code' | 'error_message', values: ReadonlyArray<readonly [jobId: string, value: T]>): RawBuilder<T> {
  return sql<T>`case ${sql.ref('id')} ${sql.join(values.map(([id, value]) => sql`when ${id} then ${value}`), sql` `)} else ${sql.ref(column)} end`;
}
