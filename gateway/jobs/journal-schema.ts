import type { Database } from 'better-sqlite3';

/**
 * The journal's schema, one step per version. `PRAGMA user_version` records the last step
 * applied, so a later version adds step N+1 and an older journal is migrated in place at start.
 * Steps only ever append: a step that shipped is never edited.
 */
const STEPS: ReadonlyArray<string> = [
  // 1: jobs, their event outbox, the vSphere call journal, node readiness, clusters as last applied.
  `
  CREATE TABLE jobs (
    ord INTEGER PRIMARY KEY AUTOINCREMENT,       -- journal order: jobs waiting for a slot start in this order
    id TEXT NOT NULL UNIQUE,
    cluster_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    action TEXT NOT NULL,
    job TEXT NOT NULL,                           -- the Job as offered (JSON)
    state TEXT NOT NULL CHECK (state IN ('running', 'finished')),
    outcome TEXT CHECK (outcome IN ('succeeded', 'failed', 'cancelled')),
    result TEXT,                                 -- the JobResult (JSON) once finished
    delivered INTEGER NOT NULL DEFAULT 0,        -- the relay acknowledged the result
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    received_at INTEGER NOT NULL,
    started_at INTEGER,
    finished_at INTEGER
  );
  CREATE INDEX jobs_unfinished ON jobs (state, ord);
  CREATE INDEX jobs_undelivered ON jobs (delivered, state);

  CREATE TABLE job_events (
    job_id TEXT NOT NULL,
    seq INTEGER NOT NULL,                        -- from 1 per job, the relay's dedupe key
    event TEXT NOT NULL,                         -- the JobEvent (JSON)
    acked INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (job_id, seq)
  ) WITHOUT ROWID;
  CREATE INDEX job_events_unacked ON job_events (acked, job_id, seq);

  CREATE TABLE vsphere_calls (
    cluster_id TEXT NOT NULL,
    node TEXT NOT NULL,
    op TEXT NOT NULL,
    job_id TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('intent', 'issued', 'done', 'failed')),
    task TEXT,
    target TEXT,
    at INTEGER NOT NULL,
    PRIMARY KEY (cluster_id, node, op)
  ) WITHOUT ROWID;

  CREATE TABLE node_ready (
    cluster_id TEXT NOT NULL,
    node TEXT NOT NULL,
    at INTEGER NOT NULL,
    PRIMARY KEY (cluster_id, node)
  ) WITHOUT ROWID;

  CREATE TABLE clusters (
    cluster_id TEXT PRIMARY KEY,
    last_job_id TEXT NOT NULL,
    last_outcome TEXT NOT NULL,
    applied_spec TEXT,                           -- the ClusterSpec of the last successful apply; null after a delete
    drift_reported TEXT                          -- the missing set last reported (JSON array); reset by every finished job
  ) WITHOUT ROWID;
  `,
];

/** The version this code writes. */
export const JOURNAL_VERSION = STEPS.length;

/** Applies the steps the file lacks, each in one transaction with its version bump. */
export function migrateJournal(db: Database): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > JOURNAL_VERSION) {
    throw new Error(`journal.db has schema version ${current}, newer than this gateway's ${JOURNAL_VERSION}; run the newer gateway version`);
  }
  for (let version = current + 1; version <= JOURNAL_VERSION; version++) {
    db.transaction(() => {
      db.exec(STEPS[version - 1]!);
      db.pragma(`user_version = ${version}`);
    })();
  }
}
