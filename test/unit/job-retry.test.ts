import { strict as assert } from 'node:assert';
import { ManualClock } from '../../proto/clock.js';
import { PcgError } from '../../proto/errors.js';
import type { NodeStatus } from '../../proto/schemas/jobs.js';
import type { JobContext, JobExecutor } from '../../gateway/jobs/job-executor.js';
import { JobJournal } from '../../gateway/jobs/job-journal.js';
import { JobRetryPolicy, NO_OUTAGES, type OutageDetector } from '../../gateway/jobs/job-retry-policy.js';
import { JobRunner } from '../../gateway/jobs/job-runner.js';
import { SessionRenewedError } from '../../gateway/vsphere/session-renewed-error.js';
import { vcenterOutage } from '../../gateway/vsphere/vcenter-outage.js';
import { VimFault } from '../../gateway/vsphere/vim-fault.js';
import { CLUSTER_A, makeJob, noReadiness, silentLog } from '../support/job-fixtures.js';
import { tempDir } from '../support/temp-dir.js';
import { waitFor } from '../support/wait-for.js';

const unreachable = (n: number): PcgError => new PcgError('PCG_ERR_VCENTER_UNREACHABLE', `cannot reach 127.0.0.1:4430${n} (ECONNREFUSED)`);
const notFound = (): VimFault => new VimFault('ManagedObjectNotFound', 'The object has already been deleted', {}, 'RetrievePropertiesEx');

/** An executor that plays a script: each execution throws the next error, or succeeds when the script is out. */
class ScriptedExecutor implements JobExecutor {
  executions = 0;
  /** Runs as an execution starts (before its outcome): a test moves the fake session here. */
  onExecute: (execution: number) => void = () => undefined;
  constructor(private readonly script: Error[]) {}

  execute(context: JobContext): Promise<{ readonly nodes: NodeStatus[] }> {
    this.executions++;
    this.onExecute(this.executions);
    context.event('clone', `execution ${this.executions}`);
    const error = this.script[this.executions - 1];
    return error === undefined ? Promise.resolve({ nodes: [] }) : Promise.reject(error);
  }
}

/** VcenterService's outage rule with a session-renewal counter the test moves by hand. */
class FakeVcenter implements OutageDetector {
  renewals = 0;
  watch(): (err: unknown) => string | undefined {
    const at = this.renewals;
    return (err) => vcenterOutage(err, this.renewals !== at);
  }
}

describe('job retry after a vCenter outage', () => {
  let dir: ReturnType<typeof tempDir>;
  let journal: JobJournal;
  let clock: ManualClock;
  let sleeps: number[];
  const runners: JobRunner[] = [];

  /** Sleeps are recorded and end at once, or on abort: no test waits out a backoff. */
  const start = (executor: JobExecutor, outages: OutageDetector, retry = { retryLimit: 3, retryInitialMs: 2_000, retryMaxMs: 5_000 }, sleep?: (ms: number, signal: AbortSignal) => Promise<void>): JobRunner => {
    const runner = JobRunner.create({ maxConcurrent: 2, retry }, {
      journal, executor, readiness: noReadiness, clock, log: silentLog, outages,
      checkpoint: () => undefined, outboxChanged: () => undefined,
      sleep: sleep ?? ((ms) => {
        sleeps.push(ms);
        clock.advance(ms);
        return Promise.resolve();
      }),
    }).start();
    runners.push(runner);
    return runner;
  };
  const events = (jobId: string): Array<[string, string, string]> => journal.unackedEvents(jobId, 100).map((e) => [e.step, e.level, e.message]);
  const finished = (jobId: string): Promise<unknown> => waitFor('job finished', () => journal.get(jobId)?.state === 'finished');

  beforeEach(() => {
    dir = tempDir('job-retry');
    clock = new ManualClock(Date.UTC(2026, 0, 1, 12, 0, 0));
    journal = JobJournal.open(dir.path, clock);
    sleeps = [];
  });
  afterEach(async () => {
    await Promise.all(runners.splice(0).map((r) => r.close()));
    journal.close();
    dir.remove();
  });

  it('vCenter unreachable twice: two retries with doubling delays, a warn event each, then succeeded', async () => {
    const executor = new ScriptedExecutor([unreachable(1), unreachable(2)]);
    const job = makeJob(CLUSTER_A);
    start(executor, new FakeVcenter()).offer(job);
    await finished(job.id);
    assert.equal(journal.get(job.id)!.outcome, 'succeeded');
    assert.deepEqual([executor.executions, sleeps], [3, [2_000, 4_000]]);
    assert.deepEqual(events(job.id), [
      ['job', 'info', 'started (attempt 1)'],
      ['clone', 'info', 'execution 1'],
      ['retry', 'warn', 'vCenter is unreachable (cannot reach 127.0.0.1:44301 (ECONNREFUSED)); retry 1 of 3 runs the job again from the start in 2 s (at 2026-01-01T12:00:02.000Z)'],
      ['clone', 'info', 'execution 2'],
      ['retry', 'warn', 'vCenter is unreachable (cannot reach 127.0.0.1:44302 (ECONNREFUSED)); retry 2 of 3 runs the job again from the start in 4 s (at 2026-01-01T12:00:06.000Z)'],
      ['clone', 'info', 'execution 3'],
    ]);
  });

  it('a session lost while the execution ran makes any error an outage (objects of the old vCenter are gone)', async () => {
    const vcenter = new FakeVcenter();
    const executor = new ScriptedExecutor([notFound()]);
    executor.onExecute = (n) => {
      if (n === 1) vcenter.renewals++;
    };
    const job = makeJob(CLUSTER_A);
    start(executor, vcenter).offer(job);
    await finished(job.id);
    assert.deepEqual([journal.get(job.id)!.outcome, executor.executions, sleeps], ['succeeded', 2, [2_000]]);
    assert.match(events(job.id)[2]![2], /^the vCenter session was lost while the job ran \(vCenter restarted\?\), then RetrievePropertiesEx: ManagedObjectNotFound: The object has already been deleted; retry 1 of 3/);
  });

  for (const [what, error] of [
    ['a vim fault', notFound()],
    ['an unknown placement', new PcgError('PCG_ERR_PLACEMENT_UNKNOWN', 'datastore LocalDS_9 does not exist')],
    ['a node timeout', new PcgError('PCG_ERR_NODE_TIMEOUT', 'node cp-0 did not report ready within 60000 ms')],
    ['a bug', new TypeError('x is undefined')],
  ] as const) {
    it(`${what} fails the job at once: one execution, no retry event`, async () => {
      const executor = new ScriptedExecutor([error]);
      const job = makeJob(CLUSTER_A);
      start(executor, new FakeVcenter()).offer(job);
      await finished(job.id);
      const entry = journal.get(job.id)!;
      assert.deepEqual([entry.outcome, entry.result!.error!.code, executor.executions, sleeps], ['failed', error instanceof PcgError ? error.code : 'PCG_ERR_INTERNAL', 1, []]);
      assert.deepEqual(events(job.id).filter(([step]) => step === 'retry'), []);
    });
  }

  it('limit reached: retryLimit retries, then failed with the last error and an error event', async () => {
    const executor = new ScriptedExecutor([unreachable(1), unreachable(2), unreachable(3), unreachable(4)]);
    const job = makeJob(CLUSTER_A);
    start(executor, new FakeVcenter(), { retryLimit: 2, retryInitialMs: 3_000, retryMaxMs: 4_000 }).offer(job);
    await finished(job.id);
    const entry = journal.get(job.id)!;
    assert.deepEqual([entry.outcome, entry.result!.error!.code, executor.executions, sleeps], ['failed', 'PCG_ERR_VCENTER_UNREACHABLE', 3, [3_000, 4_000]]);
    assert.match(entry.result!.error!.message, /^cannot reach 127\.0\.0\.1:44303 \(ECONNREFUSED\)\. /, 'the last error, not the first');
    assert.deepEqual(events(job.id).filter(([step]) => step === 'retry').map(([, level, message]) => [level, message.replace(/ runs the job.*/, '')]), [
      ['warn', 'vCenter is unreachable (cannot reach 127.0.0.1:44301 (ECONNREFUSED)); retry 1 of 2'],
      ['warn', 'vCenter is unreachable (cannot reach 127.0.0.1:44302 (ECONNREFUSED)); retry 2 of 2'],
      ['error', 'vCenter is unreachable (cannot reach 127.0.0.1:44303 (ECONNREFUSED)); no retry left after 2 (jobs.retryLimit 2)'],
    ]);
  });

  it('without an outage detector (no vCenter configured) nothing is retried', async () => {
    const executor = new ScriptedExecutor([unreachable(1)]);
    const job = makeJob(CLUSTER_A);
    start(executor, NO_OUTAGES).offer(job);
    await finished(job.id);
    assert.deepEqual([journal.get(job.id)!.outcome, executor.executions], ['failed', 1]);
  });

  it('a cancel during the backoff ends the job cancelled, with no further execution', async () => {
    const executor = new ScriptedExecutor([unreachable(1)]);
    const job = makeJob(CLUSTER_A);
    let sleeping = false;
    const runner = start(executor, new FakeVcenter(), undefined, (ms, signal) => new Promise((_, reject) => {
      sleeping = true;
      signal.addEventListener('abort', () => reject(signal.reason instanceof Error ? signal.reason : new Error('aborted')), { once: true });
    }));
    runner.offer(job);
    await waitFor('in backoff', () => sleeping);
    assert.equal(runner.cancel(job.id), 'cancelling');
    await finished(job.id);
    assert.deepEqual([journal.get(job.id)!.outcome, executor.executions], ['cancelled', 1]);
  });

  it('vcenterOutage: outages anywhere in the cause chain; everything else only after a lost session', () => {
    const wrapped = new PcgError('PCG_ERR_VCENTER_FAULT', 'reading the inventory failed', { cause: unreachable(9) });
    const cases: Array<[unknown, boolean, string | undefined]> = [
      [unreachable(1), false, 'vCenter is unreachable (cannot reach 127.0.0.1:44301 (ECONNREFUSED))'],
      [wrapped, false, 'vCenter is unreachable (cannot reach 127.0.0.1:44309 (ECONNREFUSED))'],
      [new VimFault('NotAuthenticated', 'The session is not authenticated.', {}, 'Login'), false, 'the vCenter session was lost (Login: NotAuthenticated)'],
      [new SessionRenewedError('CreateFilter'), false, 'the vCenter session was lost twice during CreateFilter'],
      [notFound(), false, undefined],
      [new PcgError('PCG_ERR_VCENTER_TASK_TIMEOUT', 'task task-9 did not finish in time (600000 ms)'), false, undefined],
      [new PcgError('PCG_ERR_NODE_TIMEOUT', 'the VM of node cp-0 (vm-60) was removed while waiting for its address'), true,
        'the vCenter session was lost while the job ran (vCenter restarted?), then the VM of node cp-0 (vm-60) was removed while waiting for its address'],
    ];
    for (const [err, lost, reason] of cases) assert.equal(vcenterOutage(err, lost), reason, String(err));
  });

  it('JobRetryPolicy: delays double from retryInitialMs up to retryMaxMs; bad options are refused', () => {
    const policy = new JobRetryPolicy({ retryInitialMs: 1_000, retryMaxMs: 6_000 }, NO_OUTAGES);
    assert.deepEqual([1, 2, 3, 4, 40].map((n) => policy.delayBefore(n)), [1_000, 2_000, 4_000, 6_000, 6_000]);
    assert.deepEqual(policy.options, { retryLimit: 5, retryInitialMs: 1_000, retryMaxMs: 6_000 });
    assert.throws(() => new JobRetryPolicy({ retryLimit: -1 }, NO_OUTAGES), RangeError);
    assert.throws(() => new JobRetryPolicy({ retryInitialMs: 10_000, retryMaxMs: 5_000 }, NO_OUTAGES), RangeError);
  });
});
