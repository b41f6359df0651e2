import { strict as assert } from 'node:assert';
import { ManualClock } from '../../proto/clock.js';
import { PcgError } from '../../proto/errors.js';
import { RequestTracker } from '../../proto/request-tracker.js';
import type { Frame, JobReportFrame } from '../../proto/schemas/frames.js';
import type { JobState } from '../../proto/schemas/jobs.js';
import { JobJournal } from '../../gateway/jobs/job-journal.js';
import { JobReporter, type ReportSession } from '../../gateway/jobs/job-reporter.js';
import { CLUSTER_A, CLUSTER_B, makeJob, settle, silentLog } from '../support/job-fixtures.js';
import { tempDir } from '../support/temp-dir.js';
import { sleep, waitFor } from '../support/wait-for.js';

/** A session the test plays the relay for: it records reports and answers them by hand. */
class FakeSession implements ReportSession {
  readonly requests = new RequestTracker();
  readonly reports: JobReportFrame[] = [];
  isOpen = true;

  send(frame: Frame): void {
    if (!this.isOpen) throw new PcgError('PCG_ERR_TUNNEL_CLOSED');
    if (frame.type !== 'job.report') throw new Error(`unexpected ${frame.type}`);
    this.reports.push(frame);
  }

  ack(report: JobReportFrame, seq: number, state: JobState): void {
    assert.equal(this.requests.resolve(report.id, { type: 'job.report.ack', id: report.id, job_id: report.job_id, seq, state }), true);
  }

  close(): void {
    this.isOpen = false;
    this.requests.close(new PcgError('PCG_ERR_TUNNEL_CLOSED', 'closed'));
  }
}

const summary = (r: JobReportFrame): [string, number, number, number, string | undefined] =>
  [r.job_id, r.events.length, r.events[0]?.seq ?? 0, r.events.at(-1)?.seq ?? 0, r.result?.outcome];

describe('JobReporter', () => {
  let dir: ReturnType<typeof tempDir>;
  let journal: JobJournal;
  let reporter: JobReporter;
  let relayEnded: Array<[string, JobState]>;

  beforeEach(() => {
    dir = tempDir('reporter');
    journal = JobJournal.open(dir.path, new ManualClock());
    relayEnded = [];
    reporter = new JobReporter({ retryMs: 40, maxRetryMs: 40 }, { journal, log: silentLog, relayEnded: (jobId, state) => relayEnded.push([jobId, state]) });
  });
  afterEach(() => {
    reporter.close();
    journal.close();
    dir.remove();
  });

  it('sends 200 events a report in seq order, the result with the last, and marks the job delivered on a terminal ack', async () => {
    const job = makeJob(CLUSTER_A);
    journal.accept(job);
    for (let i = 0; i < 450; i++) journal.appendEvent(job.id, 'clone', `event ${i + 1}`);
    journal.finish(job.id, { outcome: 'succeeded', nodes: [] });
    const session = new FakeSession();
    reporter.opened(session);
    reporter.changed(job.id);
    assert.deepEqual(session.reports.map(summary), [[job.id, 200, 1, 200, undefined]], 'one report in flight per job');
    session.ack(session.reports[0]!, 200, 'running');
    await waitFor('second report', () => session.reports.length === 2);
    assert.deepEqual(summary(session.reports[1]!), [job.id, 200, 201, 400, undefined]);
    session.ack(session.reports[1]!, 400, 'running');
    await waitFor('third report', () => session.reports.length === 3);
    assert.deepEqual(summary(session.reports[2]!), [job.id, 50, 401, 450, 'succeeded']);
    session.ack(session.reports[2]!, 450, 'succeeded');
    await settle();
    assert.deepEqual([journal.get(job.id)!.delivered, journal.pendingReports(), reporter.inFlight], [true, [], 0]);
    await sleep(100);
    assert.equal(session.reports.length, 3, 'nothing more is sent');
  });

  it('acknowledges up to the acked seq only; the rest goes out again', async () => {
    const job = makeJob(CLUSTER_A);
    journal.accept(job);
    for (let i = 0; i < 5; i++) journal.appendEvent(job.id, 'step', `e${i + 1}`);
    const session = new FakeSession();
    reporter.opened(session);
    session.ack(session.reports[0]!, 3, 'running');
    await waitFor('rest resent', () => session.reports.length === 2);
    assert.deepEqual(summary(session.reports[1]!), [job.id, 2, 4, 5, undefined]);
  });

  it('resends everything unacknowledged when the next session opens, including results made while offline', async () => {
    const a = makeJob(CLUSTER_A);
    const b = makeJob(CLUSTER_B);
    journal.accept(a);
    journal.accept(b);
    journal.appendEvent(a.id, 'clone', 'one');
    journal.appendEvent(a.id, 'clone', 'two');
    const first = new FakeSession();
    reporter.opened(first);
    assert.deepEqual(first.reports.map(summary), [[a.id, 2, 1, 2, undefined]]);
    first.close();
    reporter.closed(first);
    await settle();
    // Offline: a finishes, b fails; nothing can be sent.
    journal.appendEvent(a.id, 'power-on', 'three');
    journal.finish(a.id, { outcome: 'succeeded', nodes: [] });
    reporter.changed(a.id);
    journal.finish(b.id, { outcome: 'failed', error: { code: 'PCG_ERR_VCENTER_FAULT', message: 'boom' }, nodes: [] });
    reporter.changed(b.id);
    assert.equal(first.reports.length, 1);

    const second = new FakeSession();
    reporter.opened(second);
    assert.deepEqual(second.reports.map(summary), [[a.id, 3, 1, 3, 'succeeded'], [b.id, 0, 0, 0, 'failed']]);
    second.ack(second.reports[0]!, 3, 'succeeded');
    second.ack(second.reports[1]!, 0, 'failed');
    await settle();
    assert.deepEqual([journal.pendingReports(), journal.get(a.id)!.delivered, journal.get(b.id)!.delivered], [[], true, true]);
  });

  it('an ack that moves nothing forward waits for the retry timer (no tight loop)', async () => {
    const job = makeJob(CLUSTER_A);
    journal.accept(job);
    journal.appendEvent(job.id, 'step', 'one');
    const session = new FakeSession();
    reporter.opened(session);
    session.ack(session.reports[0]!, 0, 'running');
    await settle();
    assert.equal(session.reports.length, 1, 'not resent at once');
    await waitFor('resent by the timer', () => session.reports.length === 2, 2000, 5);
    session.ack(session.reports[1]!, 1, 'running');
    await settle();
    assert.deepEqual(journal.pendingReports(), []);
  });

  it('a report refused by the relay (error) is retried by the timer', async () => {
    const job = makeJob(CLUSTER_A);
    journal.accept(job);
    journal.appendEvent(job.id, 'step', 'one');
    const session = new FakeSession();
    reporter.opened(session);
    session.requests.reject(session.reports[0]!.id, new PcgError('PCG_ERR_STALE_EPOCH'));
    await waitFor('retried', () => session.reports.length === 2, 2000, 5);
  });

  it('tells the runner when the relay holds a job still running here as ended', async () => {
    const job = makeJob(CLUSTER_A);
    journal.accept(job);
    journal.appendEvent(job.id, 'step', 'one');
    const session = new FakeSession();
    reporter.opened(session);
    session.ack(session.reports[0]!, 1, 'cancelled');
    await settle();
    assert.deepEqual(relayEnded, [[job.id, 'cancelled']]);
  });
});
