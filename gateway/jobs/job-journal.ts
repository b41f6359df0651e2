import Sqlite, { type Database } from 'better-sqlite3';
import { chmodSync, closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import type { Clock } from '../../proto/clock.js';
import { PcgError } from '../../proto/errors.js';
import type { ClusterSpec, Job, JobEvent, JobOutcome, JobResult } from '../../proto/schemas/jobs.js';
import type { CallJournal, EventLevel } from './job-executor.js';
import { migrateJournal } from './journal-schema.js';
import { SqliteCallJournal } from './sqlite-call-journal.js';

/** The file in the state dir. */
export const JOURNAL_FILE = 'journal.db';

/** A job as the journal holds it. `running` means accepted and not finished: waiting for a slot or executing. */
export interface JournaledJob {
  readonly id: string;
  readonly clusterId: string;
  readonly job: Job;
  readonly state: 'running' | 'finished';
  readonly outcome: JobOutcome | null;
  readonly result: JobResult | null;
  readonly delivered: boolean;
  readonly cancelRequested: boolean;
  readonly receivedAt: number;
  readonly startedAt: number | null;
  readonly finishedAt: number | null;
}

/** A built cluster the drift watcher looks at: its last job succeeded and it was applied, not deleted. */
export interface WatchedCluster {
  readonly clusterId: string;
  /** The job the spec and the reported set belong to. */
  readonly lastJobId: string;
  readonly spec: ClusterSpec;
  /** The missing set reported since the cluster's last job, sorted; null when none was. */
  readonly reportedMissing: readonly string[] | null;
}

interface JobRow {
  id: string; cluster_id: string; job: string; state: 'running' | 'finished'; outcome: JobOutcome | null; result: string | null;
  delivered: number; cancel_requested: number; received_at: number; started_at: number | null; finished_at: number | null;
}

const toJob = (row: JobRow): JournaledJob => ({
  id: row.id, clusterId: row.cluster_id, job: JSON.parse(row.job) as Job, state: row.state, outcome: row.outcome,
  result: row.result === null ? null : JSON.parse(row.result) as JobResult, delivered: row.delivered === 1,
  cancelRequested: row.cancel_requested === 1, receivedAt: row.received_at, startedAt: row.started_at, finishedAt: row.finished_at,
});

/**
 * The gateway's durable memory of jobs (SQLite `journal.db` in the state dir, mode 0600): every
 * job id seen, each job's event outbox, the vSphere call journal, node readiness and, per
 * cluster, the spec last applied. Synchronous by design: a write is on disk when the call returns
 * (WAL, synchronous=FULL), so "journal, then act" holds across kill -9 and power loss.
 */
export class JobJournal {
  #open = true;

  private constructor(private readonly db: Database, private readonly clock: Clock, readonly calls: CallJournal) {}

  static open(stateDir: string, clock: Clock): JobJournal {
    const path = join(stateDir, JOURNAL_FILE);
    try {
      // Created 0600 before SQLite opens it: SQLite gives its -wal and -shm files the same mode.
      closeSync(openSync(path, 'a', 0o600));
      chmodSync(path, 0o600);
    } catch (err) {
      throw new PcgError('PCG_ERR_STATE_DIR', `cannot create ${path}: ${(err as Error).message}`, { cause: err });
    }
    const db = new Sqlite(path);
    try {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      db.pragma('busy_timeout = 5000');
      migrateJournal(db);
      return new JobJournal(db, clock, new SqliteCallJournal(db, clock));
    } catch (err) {
      db.close();
      throw err;
    }
  }

  get isOpen(): boolean {
    return this.#open;
  }

  // ---- jobs -------------------------------------------------------------------------------

  /** Journals a job seen for the first time. False when its id is known: the insert decides, so a redelivery never runs twice. */
  accept(job: Job): boolean {
    return this.db.prepare(`INSERT INTO jobs (id, cluster_id, kind, action, job, state, received_at) VALUES (?, ?, ?, ?, ?, 'running', ?) ON CONFLICT (id) DO NOTHING`)
      .run(job.id, job.cluster.clusterId, job.kind, job.action, JSON.stringify(job), this.clock.now()).changes === 1;
  }

  get(jobId: string): JournaledJob | undefined {
    const row = this.db.prepare(`SELECT * FROM jobs WHERE id = ?`).get(jobId) as JobRow | undefined;
    return row ? toJob(row) : undefined;
  }

  /** Jobs accepted and not finished, in journal order: after a restart, these run again from the start. */
  unfinished(): JournaledJob[] {
    return (this.db.prepare(`SELECT * FROM jobs WHERE state = 'running' ORDER BY ord`).all() as JobRow[]).map(toJob);
  }

  markStarted(jobId: string): void {
    this.db.prepare(`UPDATE jobs SET started_at = ? WHERE id = ? AND state = 'running'`).run(this.clock.now(), jobId);
  }

  /** Remembered so a cancel survives a restart that falls between the cancel and the job's end. */
  requestCancel(jobId: string): void {
    this.db.prepare(`UPDATE jobs SET cancel_requested = 1 WHERE id = ? AND state = 'running'`).run(jobId);
  }

  /**
   * Records a job's result and what it means for its cluster, in one transaction: a successful
   * apply becomes the spec drift is checked against, a successful delete ends the watch, and any
   * finished job clears the drift already reported (a new job ran). False when it was finished already.
   */
  finish(jobId: string, result: JobResult): boolean {
    return this.db.transaction(() => {
      const row = this.db.prepare(`SELECT * FROM jobs WHERE id = ?`).get(jobId) as JobRow | undefined;
      if (!row || row.state !== 'running') return false;
      const now = this.clock.now();
      this.db.prepare(`UPDATE jobs SET state = 'finished', outcome = ?, result = ?, delivered = 0, finished_at = ? WHERE id = ?`)
        .run(result.outcome, JSON.stringify(result), now, jobId);
      const job = JSON.parse(row.job) as Job;
      const applied = result.outcome !== 'succeeded' ? undefined : job.action === 'apply' ? JSON.stringify(job.cluster) : null;
      this.db.prepare(`INSERT INTO clusters (cluster_id, last_job_id, last_outcome, applied_spec, drift_reported) VALUES (?, ?, ?, ?, NULL)
        ON CONFLICT (cluster_id) DO UPDATE SET last_job_id = excluded.last_job_id, last_outcome = excluded.last_outcome,
          applied_spec = CASE WHEN ? THEN excluded.applied_spec ELSE applied_spec END, drift_reported = NULL`)
        .run(job.cluster.clusterId, jobId, result.outcome, applied ?? null, applied === undefined ? 0 : 1);
      return true;
    })();
  }

  /** The relay offered a finished job again: it lacks the result (lost ack, stale epoch), so it is reported again. */
  reopenDelivery(jobId: string): void {
    this.db.prepare(`UPDATE jobs SET delivered = 0 WHERE id = ? AND state = 'finished'`).run(jobId);
  }

  markDelivered(jobId: string): void {
    this.db.prepare(`UPDATE jobs SET delivered = 1 WHERE id = ? AND state = 'finished'`).run(jobId);
  }

  /** How many jobs are not finished (running or waiting). */
  countUnfinished(): number {
    return (this.db.prepare(`SELECT count(*) AS n FROM jobs WHERE state = 'running'`).get() as { n: number }).n;
  }

  // ---- event outbox -----------------------------------------------------------------------

  /** Appends the job's next event (seq from 1) and returns it; on disk when this returns. */
  appendEvent(jobId: string, step: string, message: string, options: { readonly node?: string | undefined; readonly level?: EventLevel | undefined } = {}): JobEvent {
    return this.db.transaction(() => {
      const { next } = this.db.prepare(`SELECT COALESCE(MAX(seq), 0) + 1 AS next FROM job_events WHERE job_id = ?`).get(jobId) as { next: number };
      const event: JobEvent = {
        seq: next, at: this.clock.now(), step: step.slice(0, 64), level: options.level ?? 'info', message: message.slice(0, 2048),
        ...(options.node ? { node: options.node } : {}),
      };
      this.db.prepare(`INSERT INTO job_events (job_id, seq, event) VALUES (?, ?, ?)`).run(jobId, next, JSON.stringify(event));
      return event;
    })();
  }

  /** The oldest unacknowledged events of a job, in seq order. */
  unackedEvents(jobId: string, limit: number): JobEvent[] {
    return (this.db.prepare(`SELECT event FROM job_events WHERE job_id = ? AND acked = 0 ORDER BY seq LIMIT ?`).all(jobId, limit) as Array<{ event: string }>)
      .map((r) => JSON.parse(r.event) as JobEvent);
  }

  /** Marks events up to `seq` acknowledged; returns how many were newly acknowledged. */
  ackEvents(jobId: string, seq: number): number {
    return this.db.prepare(`UPDATE job_events SET acked = 1 WHERE job_id = ? AND seq <= ? AND acked = 0`).run(jobId, seq).changes;
  }

  /** Jobs with something the relay has not acknowledged (events, or a finished job's result), in journal order. */
  pendingReports(): string[] {
    return (this.db.prepare(`SELECT id FROM jobs WHERE (state = 'finished' AND delivered = 0)
      OR id IN (SELECT DISTINCT job_id FROM job_events WHERE acked = 0) ORDER BY ord`).all() as Array<{ id: string }>).map((r) => r.id);
  }

  // ---- node readiness ---------------------------------------------------------------------

  nodeReady(clusterId: string, node: string): void {
    this.db.prepare(`INSERT INTO node_ready (cluster_id, node, at) VALUES (?, ?, ?) ON CONFLICT (cluster_id, node) DO UPDATE SET at = excluded.at`)
      .run(clusterId, node, this.clock.now());
  }

  readyAt(clusterId: string, node: string): number | undefined {
    return (this.db.prepare(`SELECT at FROM node_ready WHERE cluster_id = ? AND node = ?`).get(clusterId, node) as { at: number } | undefined)?.at;
  }

  forgetReady(clusterId: string, node: string): void {
    this.db.prepare(`DELETE FROM node_ready WHERE cluster_id = ? AND node = ?`).run(clusterId, node);
  }

  // ---- clusters (drift) -------------------------------------------------------------------

  watchedClusters(): WatchedCluster[] {
    const rows = this.db.prepare(`SELECT cluster_id, last_job_id, applied_spec, drift_reported FROM clusters WHERE last_outcome = 'succeeded' AND applied_spec IS NOT NULL ORDER BY cluster_id`)
      .all() as Array<{ cluster_id: string; last_job_id: string; applied_spec: string; drift_reported: string | null }>;
    return rows.map((r) => ({
      clusterId: r.cluster_id, lastJobId: r.last_job_id, spec: JSON.parse(r.applied_spec) as ClusterSpec,
      reportedMissing: r.drift_reported === null ? null : JSON.parse(r.drift_reported) as string[],
    }));
  }

  /** Only while `lastJobId` is still the cluster's last job: a job that finished meanwhile cleared the report for good reason. */
  markDriftReported(clusterId: string, lastJobId: string, missing: readonly string[]): void {
    this.db.prepare(`UPDATE clusters SET drift_reported = ? WHERE cluster_id = ? AND last_job_id = ?`).run(JSON.stringify([...missing].sort()), clusterId, lastJobId);
  }

  /** Idempotent. Writes after close throw: the runner stops using the journal before closing it. */
  close(): void {
    if (!this.#open) return;
    this.#open = false;
    this.db.close();
  }
}
