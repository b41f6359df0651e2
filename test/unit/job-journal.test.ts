import { strict as assert } from 'node:assert';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import Sqlite from 'better-sqlite3';
import { ManualClock } from '../../proto/clock.js';
import { JOURNAL_FILE, JobJournal } from '../../gateway/jobs/job-journal.js';
import { JOURNAL_VERSION } from '../../gateway/jobs/journal-schema.js';
import { CLUSTER_A, CLUSTER_B, makeJob } from '../support/job-fixtures.js';
import { tempDir } from '../support/temp-dir.js';

describe('JobJournal', () => {
  let dir: ReturnType<typeof tempDir>;
  let clock: ManualClock;
  let journal: JobJournal;

  beforeEach(() => {
    dir = tempDir('journal');
    clock = new ManualClock();
    journal = JobJournal.open(dir.path, clock);
  });
  afterEach(() => {
    journal.close();
    dir.remove();
  });

  it('is journal.db, mode 0600, WAL with synchronous=FULL, at the current schema version; close is idempotent', () => {
    const path = join(dir.path, JOURNAL_FILE);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.equal(statSync(`${path}-wal`).mode & 0o777, 0o600);
    const db = new Sqlite(path, { readonly: true });
    try {
      assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
      assert.equal(db.pragma('user_version', { simple: true }), JOURNAL_VERSION);
    } finally {
      db.close();
    }
    journal.close();
    journal.close();
    assert.equal(journal.isOpen, false);
    journal = JobJournal.open(dir.path, clock);
  });

  it('accepts a job id once: the insert decides, across a reopen', () => {
    const job = makeJob(CLUSTER_A);
    assert.equal(journal.accept(job), true);
    assert.equal(journal.accept(job), false);
    journal.close();
    journal = JobJournal.open(dir.path, clock);
    assert.equal(journal.accept({ ...job, attempt: 2 }), false);
    const stored = journal.get(job.id)!;
    assert.deepEqual([stored.state, stored.clusterId, stored.job.attempt, stored.outcome, stored.delivered], ['running', CLUSTER_A, 1, null, false]);
    assert.deepEqual(journal.unfinished().map((j) => j.id), [job.id]);
  });

  it('numbers events from 1 per job, acknowledges up to a seq, and lists jobs with something unacknowledged', () => {
    const a = makeJob(CLUSTER_A);
    const b = makeJob(CLUSTER_B);
    journal.accept(a);
    journal.accept(b);
    for (let i = 1; i <= 3; i++) journal.appendEvent(a.id, 'clone', `vm ${i}`, { node: `worker-${i}` });
    const e = journal.appendEvent(b.id, 'folder', 'made', { level: 'warn' });
    assert.deepEqual(e, { seq: 1, at: clock.now(), step: 'folder', level: 'warn', message: 'made' });
    assert.deepEqual(journal.unackedEvents(a.id, 10).map((x) => [x.seq, x.node]), [[1, 'worker-1'], [2, 'worker-2'], [3, 'worker-3']]);
    assert.deepEqual(journal.pendingReports(), [a.id, b.id]);
    assert.equal(journal.ackEvents(a.id, 2), 2);
    assert.equal(journal.ackEvents(a.id, 2), 0);
    assert.deepEqual(journal.unackedEvents(a.id, 10).map((x) => x.seq), [3]);
    assert.equal(journal.ackEvents(a.id, 3), 1);
    assert.equal(journal.ackEvents(b.id, 1), 1);
    assert.deepEqual(journal.pendingReports(), []);
    assert.equal(journal.appendEvent(a.id, 'power-on', 'on').seq, 4);
  });

  it('finishes a job once; the result stays pending until delivered; a successful apply is watched for drift, a delete ends the watch', () => {
    const apply = makeJob(CLUSTER_A, { nodes: ['cp-0', 'worker-0'] });
    journal.accept(apply);
    assert.equal(journal.finish(apply.id, { outcome: 'succeeded', nodes: [] }), true);
    assert.equal(journal.finish(apply.id, { outcome: 'failed', nodes: [] }), false);
    assert.equal(journal.get(apply.id)!.outcome, 'succeeded');
    assert.deepEqual(journal.pendingReports(), [apply.id]);
    journal.markDelivered(apply.id);
    assert.deepEqual(journal.pendingReports(), []);
    journal.reopenDelivery(apply.id);
    assert.deepEqual(journal.pendingReports(), [apply.id]);

    const watched = journal.watchedClusters();
    assert.deepEqual(watched.map((w) => [w.clusterId, w.lastJobId, w.spec.nodes.map((n) => n.name), w.reportedMissing]), [[CLUSTER_A, apply.id, ['cp-0', 'worker-0'], null]]);
    journal.markDriftReported(CLUSTER_A, apply.id, ['worker-0']);
    assert.deepEqual(journal.watchedClusters()[0]!.reportedMissing, ['worker-0']);
    journal.markDriftReported(CLUSTER_A, 'job_notthelastone', ['cp-0']);
    assert.deepEqual(journal.watchedClusters()[0]!.reportedMissing, ['worker-0'], 'a report for an older job does not land');

    const failed = makeJob(CLUSTER_A);
    journal.accept(failed);
    journal.finish(failed.id, { outcome: 'failed', error: { code: 'PCG_ERR_VCENTER_FAULT', message: 'x' }, nodes: [] });
    assert.deepEqual(journal.watchedClusters(), [], 'last job failed: not watched');

    const repaired = makeJob(CLUSTER_A);
    journal.accept(repaired);
    journal.finish(repaired.id, { outcome: 'succeeded', nodes: [] });
    assert.deepEqual(journal.watchedClusters().map((w) => [w.lastJobId, w.reportedMissing]), [[repaired.id, null]], 'a new job clears the reported set');

    const deleted = makeJob(CLUSTER_A, { action: 'delete' });
    journal.accept(deleted);
    journal.finish(deleted.id, { outcome: 'succeeded', nodes: [] });
    assert.deepEqual(journal.watchedClusters(), []);
  });

  it('journals vSphere calls: intent, issued, finished; unresolved lists intents and issued calls; a new intent replaces', () => {
    const { calls } = journal;
    calls.intent(CLUSTER_A, 'cp-0', 'clone', 'job_1234567890');
    clock.advance(10);
    calls.intent(CLUSTER_A, 'worker-0', 'clone', 'job_1234567890');
    calls.issued(CLUSTER_A, 'worker-0', 'clone', 'task-7');
    calls.intent(CLUSTER_A, '', 'create-folder', 'job_1234567890');
    calls.finished(CLUSTER_A, '', 'create-folder', 'done', 'group-v9');
    assert.deepEqual(calls.unresolved(CLUSTER_A).map((c) => [c.node, c.op, c.state, c.task]), [['cp-0', 'clone', 'intent', null], ['worker-0', 'clone', 'issued', 'task-7']]);
    assert.deepEqual(calls.get(CLUSTER_A, '', 'create-folder'), {
      clusterId: CLUSTER_A, node: '', op: 'create-folder', jobId: 'job_1234567890', state: 'done', task: null, target: 'group-v9', at: clock.now(),
    });
    calls.finished(CLUSTER_A, 'worker-0', 'clone', 'done', 'vm-42');
    assert.equal(calls.get(CLUSTER_A, 'worker-0', 'clone')!.task, 'task-7', 'the task reference stays');
    calls.intent(CLUSTER_A, 'worker-0', 'clone', 'job_0987654321');
    assert.deepEqual(calls.get(CLUSTER_A, 'worker-0', 'clone'), { ...calls.get(CLUSTER_A, 'worker-0', 'clone')!, state: 'intent', task: null, target: null, jobId: 'job_0987654321' });
    assert.throws(() => calls.issued(CLUSTER_B, 'cp-0', 'clone', 'task-1'), /no journaled intent/);
    assert.deepEqual(calls.unresolved(CLUSTER_B), []);
  });

  it('keeps node readiness until forgotten', () => {
    assert.equal(journal.readyAt(CLUSTER_A, 'cp-0'), undefined);
    journal.nodeReady(CLUSTER_A, 'cp-0');
    assert.equal(journal.readyAt(CLUSTER_A, 'cp-0'), clock.now());
    journal.forgetReady(CLUSTER_A, 'cp-0');
    assert.equal(journal.readyAt(CLUSTER_A, 'cp-0'), undefined);
  });

  it('refuses a journal from a newer gateway version', () => {
    journal.close();
    const db = new Sqlite(join(dir.path, JOURNAL_FILE));
    db.pragma(`user_version = ${JOURNAL_VERSION + 1}`);
    db.close();
    assert.throws(() => JobJournal.open(dir.path, clock), /newer than this gateway/);
    journal = { close: () => undefined } as unknown as JobJournal;
  });
});
