import { strict as assert } from 'node:assert';
import { ManualClock } from '../../proto/clock.js';
import { HandlerTable } from '../../proto/frame-handlers.js';
import { RELAY_FRAME_TYPES, type Frame, type FrameOf } from '../../proto/schemas/frames.js';
import { DriftWatcher } from '../../gateway/jobs/drift-watcher.js';
import { JobJournal } from '../../gateway/jobs/job-journal.js';
import { JobReporter } from '../../gateway/jobs/job-reporter.js';
import { JobRunner } from '../../gateway/jobs/job-runner.js';
import { jobFeature } from '../../gateway/tunnel/features/job-feature.js';
import { peerErrorFeature } from '../../gateway/tunnel/features/peer-error-feature.js';
import { GatewaySession } from '../../gateway/tunnel/gateway-session.js';
import { CLUSTER_A, FakeExecutor, makeJob, noReadiness, silentLog } from '../support/job-fixtures.js';
import { RecordingReceiver, SealedPair } from '../support/sealed-pair.js';
import { tempDir } from '../support/temp-dir.js';
import { waitFor } from '../support/wait-for.js';

const ofType = <K extends Frame['type']>(frames: Frame[], type: K): Array<FrameOf<K>> => frames.filter((f): f is FrameOf<K> => f.type === type);

/** The job feature on a real GatewaySession over a sealed loopback pair; the test plays the relay. */
describe('gateway job feature over a sealed channel', () => {
  let dir: ReturnType<typeof tempDir>;
  let pair: SealedPair;
  let journal: JobJournal;
  let runner: JobRunner;
  let reporter: JobReporter;
  let drift: DriftWatcher;
  let executor: FakeExecutor;
  let missing: string[];
  let relayIn: RecordingReceiver;
  let session: GatewaySession;

  beforeEach(async () => {
    dir = tempDir('job-feature');
    journal = JobJournal.open(dir.path, new ManualClock());
    executor = new FakeExecutor();
    missing = [];
    reporter = new JobReporter({}, { journal, log: silentLog, relayEnded: () => undefined });
    runner = JobRunner.create({ maxConcurrent: 2 }, {
      journal, executor, readiness: noReadiness, clock: new ManualClock(), log: silentLog, checkpoint: () => undefined, outboxChanged: (id) => reporter.changed(id),
    }).start();
    drift = new DriftWatcher({ intervalMs: 3_600_000 }, {
      journal, log: silentLog, clusterBusy: (id) => runner.isClusterBusy(id), inspector: { missingNodes: () => Promise.resolve(missing) },
    });
    pair = await SealedPair.open();
    // The relay: acknowledges every report (events up to the last, the result's outcome) and every drift.
    relayIn = new RecordingReceiver((frame) => {
      if (frame.type === 'job.report') {
        pair.relay.channel.send({ type: 'job.report.ack', id: frame.id, job_id: frame.job_id, seq: frame.events.at(-1)?.seq ?? 0, state: frame.result?.outcome ?? 'running' });
      }
      if (frame.type === 'cluster.drift') pair.relay.channel.send({ type: 'cluster.drift.ack', id: frame.id, cluster_id: frame.cluster_id, repair_job_id: 'job_repair000001' });
    });
    pair.relay.channel.start(relayIn);
    const feature = jobFeature(runner, reporter, drift);
    const handlers = HandlerTable.register<GatewaySession>(RELAY_FRAME_TYPES, [feature.handlers!, peerErrorFeature(silentLog).handlers!]);
    session = new GatewaySession({ type: 'welcome', epoch: 1, heartbeat_s: 3600, server_time: 0 }, pair.gateway.channel, handlers, {
      status: () => ({ version: 'test', uptime_s: 0 }), clock: pair.gateway.clock, log: silentLog,
    }).start([]);
    feature.opened!(session);
  });
  afterEach(async () => {
    session.close('normal');
    await drift.close();
    await runner.close();
    reporter.close();
    journal.close();
    await pair.close();
    dir.remove();
  });

  it('acks an offer before anything the job reports; a repeated offer says running; the result is reported and acknowledged once', async () => {
    const job = makeJob(CLUSTER_A);
    pair.relay.channel.send({ type: 'job.offer', id: 1, job });
    pair.relay.channel.send({ type: 'job.offer', id: 2, job });
    await waitFor('executing', () => executor.running.has(job.id));
    executor.get(job.id).finish();
    await waitFor('delivered', () => journal.get(job.id)?.delivered === true);
    const frames = relayIn.frames;
    assert.deepEqual(frames.slice(0, 2), [
      { type: 'job.ack', id: 1, job_id: job.id, state: 'accepted' },
      { type: 'job.ack', id: 2, job_id: job.id, state: 'running' },
    ]);
    const reports = ofType(frames, 'job.report');
    assert.deepEqual(reports.map((r) => [r.events.map((e) => e.seq), r.result?.outcome]), reports.length === 1 ? [[[1], 'succeeded']] : [[[1], undefined], [[], 'succeeded']]);
    assert.deepEqual(executor.calls, [job.id]);
  });

  it('answers job.cancel with cancelling, finished or unknown; the cancelled result follows', async () => {
    const job = makeJob(CLUSTER_A);
    pair.relay.channel.send({ type: 'job.offer', id: 1, job });
    await waitFor('executing', () => executor.running.has(job.id));
    pair.relay.channel.send({ type: 'job.cancel', id: 2, job_id: job.id });
    pair.relay.channel.send({ type: 'job.cancel', id: 3, job_id: 'job_neverseen000' });
    await waitFor('delivered', () => journal.get(job.id)?.delivered === true);
    pair.relay.channel.send({ type: 'job.cancel', id: 4, job_id: job.id });
    await waitFor('three cancel acks', () => ofType(relayIn.frames, 'job.cancel.ack').length === 3);
    assert.deepEqual(ofType(relayIn.frames, 'job.cancel.ack').map((f) => [f.id, f.state]), [[2, 'cancelling'], [3, 'unknown'], [4, 'finished']]);
    const last = ofType(relayIn.frames, 'job.report').at(-1)!;
    assert.deepEqual([last.result?.outcome, last.result?.error?.code], ['cancelled', 'PCG_ERR_JOB_CANCELLED']);
  });

  it('reports a missing set once; the same set again only after a new job of the cluster finished', async () => {
    const job = makeJob(CLUSTER_A, { nodes: ['cp-0', 'worker-0', 'worker-1'] });
    pair.relay.channel.send({ type: 'job.offer', id: 1, job });
    await waitFor('executing', () => executor.running.has(job.id));
    executor.get(job.id).finish();
    await waitFor('delivered', () => journal.get(job.id)?.delivered === true);
    await drift.check();
    assert.equal(ofType(relayIn.frames, 'cluster.drift').length, 0, 'nothing missing');
    missing = ['worker-1', 'worker-0'];
    await drift.check();
    await drift.check();
    await waitFor('drift', () => ofType(relayIn.frames, 'cluster.drift').length >= 1);
    missing = ['worker-0', 'worker-1', 'worker-1'];
    await drift.check();
    assert.deepEqual(ofType(relayIn.frames, 'cluster.drift').map((f) => [f.cluster_id, f.missing]), [[CLUSTER_A, ['worker-0', 'worker-1']]]);
    missing = ['worker-1'];
    await drift.check();
    assert.deepEqual(ofType(relayIn.frames, 'cluster.drift').map((f) => f.missing), [['worker-0', 'worker-1'], ['worker-1']], 'a different set is news');

    const repair = { ...makeJob(CLUSTER_A, { nodes: ['cp-0', 'worker-0', 'worker-1'] }), kind: 'repair' as const };
    pair.relay.channel.send({ type: 'job.offer', id: 2, job: repair });
    await waitFor('repair executing', () => executor.running.has(repair.id));
    await drift.check();
    assert.equal(ofType(relayIn.frames, 'cluster.drift').length, 2, 'a busy cluster is not checked');
    executor.get(repair.id).finish();
    await waitFor('repair delivered', () => journal.get(repair.id)?.delivered === true);
    await drift.check();
    assert.deepEqual(ofType(relayIn.frames, 'cluster.drift').map((f) => f.missing), [['worker-0', 'worker-1'], ['worker-1'], ['worker-1']], 'still missing after the repair: reported again, once');
  });
});
