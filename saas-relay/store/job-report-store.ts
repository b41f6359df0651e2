import { sql, type Kysely, type RawBuilder, type Transaction } from 'kysely';
import type { Clock } from '../../proto/clock.js';
import { PcgError } from '../../proto/errors.js';
import type { JobEvent, JobResult, JobState } from '../../proto/schemas/jobs.js';
import { fenceEpochs, sessionKey, staleEpoch } from './epoch-fence.js';
import { ofTheirGateways, UNFINISHED_JOB_STATES, type JobLifecycleHooks, type JobStoreOptions } from './job-store.js';
import type { JobTable, RelayDatabase } from './schema.js';

/** Event rows per INSERT: 9 parameters each, well under SQLite's 32,766 and PostgreSQL's 65,535. */
const EVENTS_PER_INSERT = 1000;

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

/**
 * Reports of the gateways in the relay store: each job's events stored once (by job and seq), and
 * with a result the job's terminal state together with what follows for its cluster (hooks), all
 * fenced by the session epoch: a report counts only when it came over the session the store knows
 * as current. The jobs themselves (queue, claim, ack, cancel) are JobStore's.
 */
export class JobReportStore {
  readonly #hooks: JobLifecycleHooks | undefined;

  constructor(private readonly db: Kysely<RelayDatabase>, private readonly clock: Clock, options: Pick<JobStoreOptions, 'hooks'> = {}) {
    this.#hooks = options.hooks;
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
