import type { Database, Statement } from 'better-sqlite3';
import type { Clock } from '../../proto/clock.js';
import type { CallJournal, CallRecord, VsphereOp } from './job-executor.js';

interface CallRow {
  cluster_id: string;
  node: string;
  op: VsphereOp;
  job_id: string;
  state: CallRecord['state'];
  task: string | null;
  target: string | null;
  at: number;
}

const toRecord = (row: CallRow): CallRecord => Object.freeze({
  clusterId: row.cluster_id, node: row.node, op: row.op, jobId: row.job_id, state: row.state, task: row.task, target: row.target, at: row.at,
});

/**
 * The CallJournal port over the journal's `vsphere_calls` table. Every method is one
 * synchronous statement, so the record is on disk (synchronous=FULL) before the caller goes on
 * to make the vSphere call it announces.
 */
export class SqliteCallJournal implements CallJournal {
  readonly #intent: Statement;
  readonly #issued: Statement;
  readonly #finished: Statement;
  readonly #get: Statement;
  readonly #unresolved: Statement;

  constructor(db: Database, private readonly clock: Clock) {
    this.#intent = db.prepare(`INSERT INTO vsphere_calls (cluster_id, node, op, job_id, state, task, target, at) VALUES (?, ?, ?, ?, 'intent', NULL, NULL, ?)
      ON CONFLICT (cluster_id, node, op) DO UPDATE SET job_id = excluded.job_id, state = 'intent', task = NULL, target = NULL, at = excluded.at`);
    this.#issued = db.prepare(`UPDATE vsphere_calls SET state = 'issued', task = ?, at = ? WHERE cluster_id = ? AND node = ? AND op = ?`);
    this.#finished = db.prepare(`UPDATE vsphere_calls SET state = ?, target = COALESCE(?, target), at = ? WHERE cluster_id = ? AND node = ? AND op = ?`);
    this.#get = db.prepare(`SELECT * FROM vsphere_calls WHERE cluster_id = ? AND node = ? AND op = ?`);
    this.#unresolved = db.prepare(`SELECT * FROM vsphere_calls WHERE cluster_id = ? AND state IN ('intent', 'issued') ORDER BY at, node, op`);
  }

  intent(clusterId: string, node: string, op: VsphereOp, jobId: string): void {
    this.#intent.run(clusterId, node, op, jobId, this.clock.now());
  }

  issued(clusterId: string, node: string, op: VsphereOp, task: string): void {
    this.#expectOne(this.#issued.run(task, this.clock.now(), clusterId, node, op).changes, clusterId, node, op);
  }

  finished(clusterId: string, node: string, op: VsphereOp, outcome: 'done' | 'failed', target?: string): void {
    this.#expectOne(this.#finished.run(outcome, target ?? null, this.clock.now(), clusterId, node, op).changes, clusterId, node, op);
  }

  get(clusterId: string, node: string, op: VsphereOp): CallRecord | undefined {
    const row = this.#get.get(clusterId, node, op) as CallRow | undefined;
    return row ? toRecord(row) : undefined;
  }

  unresolved(clusterId: string): CallRecord[] {
    return (this.#unresolved.all(clusterId) as CallRow[]).map(toRecord);
  }

  /** A call issued or finished without its intent is a bug in the executor: the crash story depends on the intent. */
  #expectOne(changes: number, clusterId: string, node: string, op: VsphereOp): void {
    if (changes !== 1) throw new Error(`no journaled intent for ${op} of ${clusterId}/${node || '(cluster)'}`);
  }
}
