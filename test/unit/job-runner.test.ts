import { strict as assert } from 'node:assert';
import { ManualClock } from '../../proto/clock.js';
import { PcgError } from '../../proto/errors.js';
import { JobJournal } from '../../gateway/jobs/job-journal.js';
import { JobRunner } from '../../gateway/jobs/job-runner.js';
import { unconfiguredExecutor } from '../../gateway/jobs/unconfigured-executor.js';
import type { JobExecutor } from '../../gateway/jobs/job-executor.js';
import { CLUSTER_A, CLUSTER_B, CLUSTER_C, FakeExecutor, makeJob, noReadiness, settle, silentLog } from '../support/job-fixtures.js';
import { tempDir } from '../support/temp-dir.js';
import { waitFor } from '../support/wait-for.js';

describe('JobRunner', () => {
  let dir: ReturnType<typeof tempDir>;
  let journal: JobJournal;
  let executor: FakeExecutor;
  const runners: JobRunner[] = [];
  const journals: JobJournal[] = [];
  let changed: string[];
  let checkpoints: string[];

  const runner = (options: { maxConcurrent?: number; executor?: JobExecutor; journal?: JobJournal } = {}): JobRunner => {
    const r = JobRunner.create({ maxConcurrent: options.maxConcurrent ?? 4 }, {
      journal: options.journal ?? journal, executor: options.executor ?? executor, readiness: noReadiness, clock: new ManualClock(), log: silentLog,
      checkpoint: (name) => checkpoints.push(name), outboxChanged: (jobId) => changed.push(jobId),
    }).start();
    runners.push(r);
    return r;
  };
  const openJournal = (): JobJournal => {
    const j = JobJournal.open(dir.path, new ManualClock());
    journals.push(j);
    return j;
  };

  beforeEach(() => {
    dir = tempDir('runner');
    journal = openJournal();
    executor = new FakeExecutor();
    changed = [];
    checkpoints = [];
  });
  afterEach(async () => {
    await Promise.all(runners.splice(0).map((r) => r.close()));
    for (const j of journals.splice(0)) j.close();
    dir.remove();
  });

  it('runs a redelivered offer once: accepted, then running, then finished', async () => {
    const r = runner();
    const job = makeJob(CLUSTER_A);
    assert.equal(r.offer(job), 'accepted');
    assert.equal(r.offer(job), 'running');
    await settle();
    assert.equal(r.offer({ ...job, attempt: 2 }), 'running');
    executor.get(job.id).finish([{ name: 'cp-0', role: 'control-plane', vm: 'vm-1', instanceUuid: 'u', ip: '10.0.0.5', ready: true }]);
    await waitFor('finished', () => journal.get(job.id)?.state === 'finished');
    assert.equal(r.offer(job), 'finished');
    await settle();
    assert.deepEqual(executor.calls, [job.id]);
    assert.deepEqual(journal.get(job.id)!.result, { outcome: 'succeeded', nodes: [{ name: 'cp-0', role: 'control-plane', vm: 'vm-1', instanceUuid: 'u', ip: '10.0.0.5', ready: true }] });
    assert.deepEqual(journal.unackedEvents(job.id, 10).map((e) => [e.step, e.message]), [['job', 'started (attempt 1)']]);
  });

  it('an offer of a job already finished and delivered puts its result back in the outbox', async () => {
    const r = runner();
    const job = makeJob(CLUSTER_A);
    r.offer(job);
    await settle();
    executor.get(job.id).finish();
    await waitFor('finished', () => journal.get(job.id)?.state === 'finished');
    journal.markDelivered(job.id);
    changed.length = 0;
    assert.equal(r.offer(job), 'finished');
    assert.deepEqual([journal.get(job.id)!.delivered, changed], [false, [job.id]]);
  });

  it('executes at most maxConcurrent jobs at once; the rest start in journal order as slots free', async () => {
    const r = runner({ maxConcurrent: 2 });
    const jobs = [CLUSTER_A, CLUSTER_B, CLUSTER_C, 'cls_dddddddddddd', 'cls_eeeeeeeeeeee'].map((c) => makeJob(c));
    for (const job of jobs) assert.equal(r.offer(job), 'accepted');
    await settle();
    assert.deepEqual([...executor.running.keys()], [jobs[0]!.id, jobs[1]!.id]);
    assert.deepEqual(r.counts, { running: 2, queued: 3 });
    executor.get(jobs[1]!.id).finish();
    await waitFor('third started', () => executor.running.has(jobs[2]!.id));
    assert.deepEqual([...executor.running.keys()].sort(), [jobs[0]!.id, jobs[2]!.id].sort());
    for (const job of jobs.slice(2)) {
      await waitFor(`${job.id} started`, () => executor.running.has(job.id));
      executor.get(job.id).finish();
    }
    executor.get(jobs[0]!.id).finish();
    await waitFor('all finished', () => jobs.every((j) => journal.get(j.id)?.state === 'finished'));
    assert.equal(executor.maxParallel, 2);
    assert.deepEqual(executor.calls, jobs.map((j) => j.id));
    assert.deepEqual(r.counts, { running: 0, queued: 0 });
  });

  it('never runs two jobs of one cluster at once; other clusters pass the waiting one', async () => {
    const r = runner({ maxConcurrent: 4 });
    const a1 = makeJob(CLUSTER_A);
    const a2 = makeJob(CLUSTER_A);
    const b1 = makeJob(CLUSTER_B);
    r.offer(a1);
    r.offer(a2);
    r.offer(b1);
    await settle();
    assert.deepEqual([...executor.running.keys()], [a1.id, b1.id]);
    assert.equal(r.isClusterBusy(CLUSTER_A), true);
    assert.equal(r.isClusterBusy(CLUSTER_C), false);
    await settle(5);
    assert.equal(executor.running.has(a2.id), false, 'a2 waits for a1');
    executor.get(a1.id).finish();
    await waitFor('a2 started', () => executor.running.has(a2.id));
    executor.get(a2.id).finish();
    executor.get(b1.id).finish();
    await waitFor('done', () => journal.get(a2.id)?.state === 'finished' && journal.get(b1.id)?.state === 'finished');
    assert.deepEqual(executor.calls, [a1.id, b1.id, a2.id]);
  });

  it('after a crash, a reopened journal runs the interrupted job again from the start, then reports it once', async () => {
    const first = runner();
    const job = makeJob(CLUSTER_A);
    first.offer(job);
    await settle();
    executor.get(job.id).context.event('clone', 'cloning cp-0', { node: 'cp-0' });
    // The crash: nothing more is written by the first process; a second one opens the same file.
    const reopened = openJournal();
    const executor2 = new FakeExecutor();
    const second = runner({ journal: reopened, executor: executor2 });
    await settle();
    assert.deepEqual(executor2.calls, [job.id]);
    assert.equal(second.offer(job), 'running');
    executor2.get(job.id).finish();
    await waitFor('finished', () => reopened.get(job.id)?.state === 'finished');
    assert.deepEqual(reopened.unackedEvents(job.id, 10).map((e) => [e.seq, e.message]), [
      [1, 'started (attempt 1)'], [2, 'cloning cp-0'], [3, 'resumed after a gateway restart (attempt 1)'],
    ]);
    assert.equal(reopened.get(job.id)!.outcome, 'succeeded');
  });

  it('close() aborts running jobs without finishing them; the next start runs them again', async () => {
    const first = runner();
    const job = makeJob(CLUSTER_A);
    first.offer(job);
    await settle();
    const signal = executor.get(job.id).context.signal;
    await first.close();
    assert.equal(signal.aborted, true);
    assert.equal(journal.get(job.id)!.state, 'running', 'not finished');
    assert.throws(() => first.offer(makeJob(CLUSTER_B)), (err: unknown) => err instanceof PcgError && err.code === 'PCG_ERR_TUNNEL_CLOSED');
    const second = runner({ executor: (executor = new FakeExecutor()) });
    await settle();
    executor.get(job.id).finish();
    await waitFor('finished', () => journal.get(job.id)?.state === 'finished');
    assert.equal(second.counts.running, 0);
  });

  it('cancel: a running job ends cancelled, a waiting one at once without executing, unknown and finished say so', async () => {
    const r = runner({ maxConcurrent: 1 });
    const running = makeJob(CLUSTER_A);
    const waiting = makeJob(CLUSTER_B);
    r.offer(running);
    r.offer(waiting);
    await settle();
    assert.equal(r.cancel('job_neverseen000'), 'unknown');
    assert.equal(r.cancel(waiting.id), 'cancelling');
    assert.deepEqual([journal.get(waiting.id)!.outcome, journal.get(waiting.id)!.result!.error!.code], ['cancelled', 'PCG_ERR_JOB_CANCELLED']);
    assert.equal(r.cancel(running.id), 'cancelling');
    assert.equal(r.cancel(running.id), 'cancelling');
    await waitFor('cancelled', () => journal.get(running.id)?.state === 'finished');
    const result = journal.get(running.id)!.result!;
    assert.deepEqual([result.outcome, result.error!.code, result.nodes], ['cancelled', 'PCG_ERR_JOB_CANCELLED', []]);
    assert.equal(r.cancel(running.id), 'finished');
    await settle();
    assert.deepEqual(executor.calls, [running.id]);
  });

  it('a job cancelled and interrupted by a restart before it ended is finished cancelled, not executed', async () => {
    const job = makeJob(CLUSTER_A);
    journal.accept(job);
    journal.requestCancel(job.id);
    runner();
    await waitFor('finished', () => journal.get(job.id)?.state === 'finished');
    assert.deepEqual([journal.get(job.id)!.outcome, executor.calls], ['cancelled', []]);
  });

  it('fails with the executor\'s PcgError code, PCG_ERR_INTERNAL for anything else, PCG_ERR_VCENTER_NOT_CONFIGURED without a vCenter', async () => {
    const r = runner();
    const placement = makeJob(CLUSTER_A);
    const bug = makeJob(CLUSTER_B);
    r.offer(placement);
    r.offer(bug);
    await settle();
    executor.get(placement.id).fail(new PcgError('PCG_ERR_PLACEMENT_UNKNOWN', 'datastore LocalDS_9 does not exist'));
    executor.get(bug.id).fail(new TypeError('x is undefined'));
    await waitFor('both finished', () => journal.get(placement.id)?.state === 'finished' && journal.get(bug.id)?.state === 'finished');
    assert.deepEqual(journal.get(placement.id)!.result!.error!.code, 'PCG_ERR_PLACEMENT_UNKNOWN');
    assert.match(journal.get(placement.id)!.result!.error!.message, /^datastore LocalDS_9 does not exist\. /);
    assert.deepEqual([journal.get(bug.id)!.outcome, journal.get(bug.id)!.result!.error!.code], ['failed', 'PCG_ERR_INTERNAL']);

    const bare = runner({ executor: unconfiguredExecutor });
    const job = makeJob(CLUSTER_C);
    bare.offer(job);
    await waitFor('failed', () => journal.get(job.id)?.state === 'finished');
    assert.deepEqual([journal.get(job.id)!.outcome, journal.get(job.id)!.result!.error!.code], ['failed', 'PCG_ERR_VCENTER_NOT_CONFIGURED']);
  });

  it('journals events before telling the reporter, and passes checkpoints to the hook', async () => {
    const r = runner();
    const job = makeJob(CLUSTER_A);
    r.offer(job);
    await settle();
    const { context } = executor.get(job.id);
    context.checkpoint('clone.intent');
    context.event('clone', 'cloned', { node: 'cp-0', level: 'info' });
    assert.deepEqual(journal.unackedEvents(job.id, 10).map((e) => e.seq), [1, 2]);
    executor.get(job.id).finish();
    await waitFor('finished', () => journal.get(job.id)?.state === 'finished');
    assert.deepEqual(checkpoints, ['job.started', 'clone.intent', 'job.finished']);
    assert.deepEqual(changed, [job.id, job.id, job.id]);
  });
});
