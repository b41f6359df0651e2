import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { ManualClock } from '../../proto/clock.js';
import { PcgError } from '../../proto/errors.js';
import type { ClusterSpec, JobResult, NodeStatus } from '../../proto/schemas/jobs.js';
import { ClusterDrift } from '../../saas-relay/jobs/cluster-drift.js';
import { JobOutcomes } from '../../saas-relay/jobs/job-outcomes.js';
import { SecretHasher } from '../../saas-relay/security/secret-hasher.js';
import { openDatabase, type Database } from '../../saas-relay/store/database.js';
import { GatewayStore } from '../../saas-relay/store/gateway-store.js';
import { JobReportStore } from '../../saas-relay/store/job-report-store.js';
import { JobStore } from '../../saas-relay/store/job-store.js';
import { TenancyStore } from '../../saas-relay/store/tenancy-store.js';
import { PostgresServer } from '../support/postgres-fixture.js';
import { tempDir } from '../support/temp-dir.js';
import { seedCluster, specOf, type Seeded } from '../support/job-seed.js';

const LEASE_MS = 10_000;

const rejectsWith = (code: string) => (err: unknown): boolean => {
  assert.ok(err instanceof PcgError, `expected PcgError, got ${String(err)}`);
  assert.equal(err.code, code);
  return true;
};

const node = (name: string, role: 'control-plane' | 'worker' = 'worker'): NodeStatus =>
  ({ name, role, vm: `vm-${name}`, instanceUuid: `uuid-${name}`, ip: '10.0.0.1', ready: true });
const succeeded = (...names: string[]): JobResult => ({ outcome: 'succeeded', nodes: names.map((n) => node(n, n.startsWith('cp') ? 'control-plane' : 'worker')) });
const event = (seq: number, message = `step ${seq}`) => ({ seq, at: Date.UTC(2026, 0, 1), step: 'clone', level: 'info' as const, message });

/** The same suite on each engine: transitions must hold identically on both. */
function jobStoreSuite(engine: 'sqlite' | 'postgres', open: () => Promise<{ target: string; cleanup: () => Promise<void> | void }>): void {
  describe(`job store on ${engine}`, function () {
    this.timeout(60_000);
    let database: Database;
    let second: Database;
    let cleanup: () => Promise<void> | void;
    let clock: ManualClock;
    let jobs: JobStore;
    let reports: JobReportStore;
    let gateways: GatewayStore;
    let seeded: Seeded;

    beforeEach(async () => {
      const opened = await open();
      cleanup = opened.cleanup;
      database = await openDatabase(opened.target);
      second = await openDatabase(opened.target);
      clock = new ManualClock();
      const hooks = new JobOutcomes(clock);
      jobs = new JobStore(database.db, clock, { leaseMs: LEASE_MS, hooks });
      reports = new JobReportStore(database.db, clock, { hooks });
      gateways = new GatewayStore(database.db, clock);
      const tenancy = new TenancyStore(database.db, new SecretHasher(randomBytes(32)), clock);
      seeded = await seedCluster(database.db, tenancy, gateways, clock, { nodes: ['cp-0', 'worker-0', 'worker-1'] });
    });
    afterEach(async () => {
      await second.close();
      await database.close();
      await cleanup();
    });

    const enqueue = (kind: 'create' | 'scale' | 'delete' | 'repair' = 'create', clusterId = seeded.clusterId, spec: ClusterSpec = specOf(clusterId, ['cp-0', 'worker-0', 'worker-1'])) =>
      jobs.enqueue({ tenantId: seeded.tenantId, clusterId, gatewayId: seeded.gatewayId, kind, action: kind === 'delete' ? 'delete' : 'apply', spec });
    const cluster = () => database.db.selectFrom('clusters').selectAll().where('id', '=', seeded.clusterId).executeTakeFirstOrThrow();
    const nodes = async () => (await database.db.selectFrom('cluster_nodes').select(['name', 'state']).where('cluster_id', '=', seeded.clusterId).orderBy('name').execute()).map((n) => `${n.name}:${n.state}`);
    const allocations = async () => (await database.db.selectFrom('ip_allocations').select('node_name').where('cluster_id', '=', seeded.clusterId).orderBy('node_name').execute()).map((a) => a.node_name);

    it('two stores racing to claim the same jobs: every job is claimed exactly once', async () => {
      const clusters = [seeded.clusterId];
      for (let i = 1; i < 40; i++) clusters.push((await seedCluster(database.db, undefined, gateways, clock, { reuse: seeded, nodes: [] })).clusterId);
      for (const id of clusters) await enqueue('create', id, specOf(id, ['cp-0']));
      const other = new JobStore(second.db, clock, { leaseMs: LEASE_MS });
      const got: string[][] = [[], []];
      await Promise.all([jobs, other].map(async (store, i) => {
        for (let round = 0; round < 20; round++) got[i]!.push(...(await store.claim([seeded.gatewayId], 3)).map((j) => j.id));
      }));
      const all = [...got[0]!, ...got[1]!];
      assert.equal(all.length, 40, `claimed ${got[0]!.length} + ${got[1]!.length}`);
      assert.equal(new Set(all).size, 40, 'no job claimed twice');
      const rows = await database.db.selectFrom('jobs').select(['state', 'attempts', 'lease_until']).execute();
      assert.ok(rows.every((r) => r.state === 'dispatched' && r.attempts === 1 && r.lease_until === clock.now() + LEASE_MS));
      // better-sqlite3 runs each statement synchronously, so on SQLite one store may take them all.
      if (engine === 'postgres') assert.ok(got[0]!.length > 0 && got[1]!.length > 0, 'both stores took part');
    });

    it('dispatches only the oldest unfinished job of a cluster; the next one after it finishes', async () => {
      const first = await enqueue('create');
      clock.advance(1);
      const second = await enqueue('scale');
      assert.deepEqual((await jobs.claim([seeded.gatewayId], 10)).map((j) => j.id), [first.id]);
      assert.deepEqual(await jobs.claim([seeded.gatewayId], 10), []);
      assert.equal(await jobs.ack(first.id, seeded.gatewayId, seeded.epoch), true);
      assert.equal((await cluster()).state, 'provisioning');
      assert.deepEqual(await jobs.claim([seeded.gatewayId], 10), [], 'a running job still blocks its cluster');
      await reports.applyReport(seeded.gatewayId, seeded.epoch, { job_id: first.id, events: [], result: succeeded('cp-0', 'worker-0', 'worker-1') });
      assert.deepEqual((await jobs.claim([seeded.gatewayId], 10)).map((j) => j.id), [second.id]);
    });

    it('jobs of one cluster queued in the same millisecond run in the order they were queued (a delete never overtakes its create)', async () => {
      for (let round = 0; round < 20; round++) {
        const { clusterId } = await seedCluster(database.db, undefined, gateways, clock, { reuse: seeded, nodes: [] });
        const create = await enqueue('create', clusterId, specOf(clusterId, ['cp-0']));
        const remove = await enqueue('delete', clusterId, specOf(clusterId, ['cp-0']));
        assert.ok(remove.created_at > create.created_at, 'queue order is recorded, not left to the ids');
        assert.deepEqual((await jobs.claim([seeded.gatewayId], 10)).map((j) => j.id), [create.id], `round ${round}`);
        await reports.applyReport(seeded.gatewayId, seeded.epoch, { job_id: create.id, events: [], result: { outcome: 'failed', error: { code: 'PCG_ERR_VCENTER_FAULT', message: 'x' }, nodes: [] } }).catch(() => undefined);
        await database.db.updateTable('jobs').set({ state: 'cancelled' }).where('cluster_id', '=', clusterId).execute();
      }
    });

    it('a report over a superseded epoch is refused and stores nothing', async () => {
      const job = await enqueue();
      await jobs.claim([seeded.gatewayId], 1);
      await jobs.ack(job.id, seeded.gatewayId, seeded.epoch);
      const gw = await gateways.get(seeded.tenantId, seeded.gatewayId);
      const newer = await gateways.beginSession(gw, 'test', 'rly_other');
      assert.equal(newer, seeded.epoch + 1);
      await assert.rejects(reports.applyReport(seeded.gatewayId, seeded.epoch, { job_id: job.id, events: [event(1)], result: succeeded('cp-0') }), rejectsWith('PCG_ERR_STALE_EPOCH'));
      await assert.rejects(jobs.ack(job.id, seeded.gatewayId, seeded.epoch), rejectsWith('PCG_ERR_STALE_EPOCH'));
      const row = await jobs.get(seeded.tenantId, job.id);
      assert.deepEqual([row.state, row.last_seq, row.result], ['running', 0, null]);
      assert.equal((await database.db.selectFrom('cluster_events').select('id').where('job_id', '=', job.id).execute()).length, 0);
      // The current session's report counts.
      const applied = await reports.applyReport(seeded.gatewayId, newer, { job_id: job.id, events: [event(1)] });
      assert.deepEqual([applied.seq, applied.stored, applied.job.state], [1, 1, 'running']);
    });

    it('a resent report stores its events once; the result finishes the job and builds the cluster', async () => {
      const job = await enqueue();
      await jobs.claim([seeded.gatewayId], 1);
      await jobs.ack(job.id, seeded.gatewayId, seeded.epoch);
      const report = { job_id: job.id, events: [event(1), event(2), event(3)] };
      assert.deepEqual(pick(await reports.applyReport(seeded.gatewayId, seeded.epoch, report)), { seq: 3, stored: 3, finished: false, state: 'running' });
      assert.deepEqual(pick(await reports.applyReport(seeded.gatewayId, seeded.epoch, report)), { seq: 3, stored: 0, finished: false, state: 'running' });
      const final = { job_id: job.id, events: [event(3), event(4)], result: succeeded('cp-0', 'worker-0', 'worker-1') };
      assert.deepEqual(pick(await reports.applyReport(seeded.gatewayId, seeded.epoch, final)), { seq: 4, stored: 1, finished: true, state: 'succeeded' });
      assert.deepEqual(pick(await reports.applyReport(seeded.gatewayId, seeded.epoch, final)), { seq: 4, stored: 0, finished: false, state: 'succeeded' });
      const events = await database.db.selectFrom('cluster_events').select(['seq', 'step']).where('job_id', '=', job.id).orderBy('id').execute();
      assert.deepEqual(events.map((e) => `${e.step}:${e.seq}`), ['clone:1', 'clone:2', 'clone:3', 'clone:4', 'job:null']);
      assert.equal((await cluster()).state, 'running');
      assert.deepEqual(await nodes(), ['cp-0:present', 'worker-0:present', 'worker-1:present']);
      const row = await jobs.get(seeded.tenantId, job.id);
      assert.deepEqual([row.state, row.epoch, row.finished_at, JSON.parse(row.result!)], ['succeeded', seeded.epoch, clock.now(), final.result]);
    });

    it('a batch of reports: a stale-epoch report and another gateway\'s job are refused alone; the good ones land, each cluster its own outcome', async () => {
      const tenancy = new TenancyStore(database.db, new SecretHasher(randomBytes(32)), clock);
      const other = await seedCluster(database.db, tenancy, gateways, clock, { nodes: ['cp-0'] });
      const second = await seedCluster(database.db, undefined, gateways, clock, { reuse: seeded, nodes: ['cp-0'] });
      const create = await enqueue();
      const del = await enqueue('delete', second.clusterId, specOf(second.clusterId, ['cp-0']));
      const theirs = await jobs.enqueue({ tenantId: other.tenantId, clusterId: other.clusterId, gatewayId: other.gatewayId, kind: 'create', action: 'apply', spec: specOf(other.clusterId, ['cp-0']) });
      await jobs.claim([seeded.gatewayId, other.gatewayId], 10);
      await jobs.ackMany([{ jobId: create.id, gatewayId: seeded.gatewayId, epoch: seeded.epoch }, { jobId: del.id, gatewayId: seeded.gatewayId, epoch: seeded.epoch }, { jobId: theirs.id, gatewayId: other.gatewayId, epoch: other.epoch }]);
      const newer = await gateways.beginSession(await gateways.get(other.tenantId, other.gatewayId), 'test', 'rly_other');
      const outcomes = await reports.applyReports([
        { gatewayId: other.gatewayId, epoch: other.epoch, report: { job_id: theirs.id, events: [event(1)], result: succeeded('cp-0') } },
        { gatewayId: seeded.gatewayId, epoch: seeded.epoch, report: { job_id: create.id, events: [event(1), event(2)], result: succeeded('cp-0', 'worker-0') } },
        { gatewayId: seeded.gatewayId, epoch: seeded.epoch, report: { job_id: theirs.id, events: [event(1)], result: succeeded('cp-0') } },
        { gatewayId: seeded.gatewayId, epoch: seeded.epoch, report: { job_id: del.id, events: [event(1)], result: { outcome: 'succeeded', nodes: [] } } },
      ]);
      assert.deepEqual(outcomes.map((o) => o.error?.code ?? (o.applied && pick(o.applied))), [
        'PCG_ERR_STALE_EPOCH', { seq: 2, stored: 2, finished: true, state: 'succeeded' }, 'PCG_ERR_NOT_FOUND', { seq: 1, stored: 1, finished: true, state: 'succeeded' },
      ]);
      // Nothing of the refused reports: their job still runs, no event, its cluster untouched.
      const untouched = await jobs.get(other.tenantId, theirs.id);
      assert.deepEqual([untouched.state, untouched.last_seq, untouched.result], ['running', 0, null]);
      assert.equal((await database.db.selectFrom('cluster_events').select('id').where('job_id', '=', theirs.id).execute()).length, 0);
      const otherCluster = await database.db.selectFrom('clusters').select('state').where('id', '=', other.clusterId).executeTakeFirstOrThrow();
      assert.equal(otherCluster.state, 'provisioning');
      // The good ones: the create built its cluster (worker-1 not in the result: removed, address released), the delete removed its own.
      assert.equal((await cluster()).state, 'running');
      assert.deepEqual(await nodes(), ['cp-0:present', 'worker-0:present']);
      assert.deepEqual(await allocations(), ['cp-0', 'worker-0']);
      const gone = await database.db.selectFrom('clusters').select(['state', 'deleted_at']).where('id', '=', second.clusterId).executeTakeFirstOrThrow();
      assert.deepEqual([gone.state, gone.deleted_at], ['deleted', clock.now()]);
      assert.equal((await database.db.selectFrom('ip_allocations').select('ip').where('cluster_id', '=', second.clusterId).execute()).length, 0);
      // The refused report, sent again over the current session, lands.
      const again = await reports.applyReports([{ gatewayId: other.gatewayId, epoch: newer, report: { job_id: theirs.id, events: [event(1)], result: succeeded('cp-0') } }]);
      assert.deepEqual(again.map((o) => o.applied && pick(o.applied)), [{ seq: 1, stored: 1, finished: true, state: 'succeeded' }]);
    });

    it('a job reported twice in one batch: its events stored once, finished once, the second sees the first', async () => {
      const job = await enqueue();
      const next = await enqueue('scale', seeded.clusterId, specOf(seeded.clusterId, ['cp-0', 'worker-0']));
      await jobs.claim([seeded.gatewayId], 1);
      await jobs.ack(job.id, seeded.gatewayId, seeded.epoch);
      const final = { job_id: job.id, events: [event(1), event(2)], result: succeeded('cp-0', 'worker-0', 'worker-1') };
      const outcomes = await reports.applyReports([
        { gatewayId: seeded.gatewayId, epoch: seeded.epoch, report: { job_id: job.id, events: [event(1)] } },
        { gatewayId: seeded.gatewayId, epoch: seeded.epoch, report: final },
        { gatewayId: seeded.gatewayId, epoch: seeded.epoch, report: final },
      ]);
      assert.deepEqual(outcomes.map((o) => o.applied && pick(o.applied)), [
        { seq: 1, stored: 1, finished: false, state: 'running' },
        { seq: 2, stored: 1, finished: true, state: 'succeeded' },
        { seq: 2, stored: 0, finished: false, state: 'succeeded' },
      ]);
      // The job that finished had a job queued behind it on its cluster: that one may go now.
      assert.deepEqual(outcomes.map((o) => o.applied?.unblocked), [false, true, false]);
      const events = await database.db.selectFrom('cluster_events').select(['seq', 'step']).where('job_id', '=', job.id).orderBy('id').execute();
      assert.deepEqual(events.map((e) => `${e.step}:${e.seq}`), ['clone:1', 'clone:2', 'job:null']);
      assert.equal((await cluster()).state, 'running');
      assert.deepEqual((await jobs.claim([seeded.gatewayId], 5)).map((j) => j.id), [next.id]);
    });

    it('a report for a job of another gateway is refused as not found', async () => {
      const job = await enqueue();
      const other = await seedCluster(database.db, new TenancyStore(database.db, new SecretHasher(randomBytes(32)), clock), gateways, clock, { nodes: [] });
      await assert.rejects(reports.applyReport(other.gatewayId, other.epoch, { job_id: job.id, events: [event(1)] }), rejectsWith('PCG_ERR_NOT_FOUND'));
    });

    it('a lease that runs out puts the job back in the queue; the next claim counts attempt 2', async () => {
      const job = await enqueue();
      await jobs.claim([seeded.gatewayId], 1);
      clock.advance(LEASE_MS);
      assert.deepEqual(await jobs.requeueExpired(), [], 'not before the lease is over');
      clock.advance(1);
      assert.deepEqual(await jobs.requeueExpired(), [seeded.gatewayId]);
      assert.equal((await jobs.get(seeded.tenantId, job.id)).state, 'queued');
      const again = await jobs.claim([seeded.gatewayId], 1);
      assert.deepEqual(again.map((j) => [j.id, j.attempts]), [[job.id, 2]]);
      // An acked job holds no lease.
      await jobs.ack(job.id, seeded.gatewayId, seeded.epoch);
      clock.advance(LEASE_MS * 2);
      assert.deepEqual(await jobs.requeueExpired(), []);
      assert.equal((await jobs.get(seeded.tenantId, job.id)).state, 'running');
    });

    it('cancel: queued ends at once (create → cluster failed); running is asked and ends with the gateway\'s result', async () => {
      const queued = await enqueue();
      const first = await jobs.requestCancel(seeded.tenantId, queued.id);
      assert.deepEqual([first.outcome, first.job.state, first.job.error_code], ['cancelled', 'cancelled', 'PCG_ERR_JOB_CANCELLED']);
      assert.equal((await cluster()).state, 'failed');
      assert.equal((await jobs.requestCancel(seeded.tenantId, queued.id)).outcome, 'already-finished');
      await assert.rejects(jobs.requestCancel('ten_other', queued.id), rejectsWith('PCG_ERR_NOT_FOUND'));

      const running = await enqueue('scale');
      await jobs.claim([seeded.gatewayId], 1);
      await jobs.ack(running.id, seeded.gatewayId, seeded.epoch);
      const asked = await jobs.requestCancel(seeded.tenantId, running.id);
      assert.deepEqual([asked.outcome, asked.job.state, asked.job.cancel_requested_at], ['cancel-requested', 'running', clock.now()]);
      assert.deepEqual((await jobs.cancelRequested([seeded.gatewayId])).map((j) => j.id), [running.id]);
      const done = await reports.applyReport(seeded.gatewayId, seeded.epoch, { job_id: running.id, events: [], result: { outcome: 'cancelled', nodes: [node('cp-0', 'control-plane')] } });
      assert.equal(done.job.state, 'cancelled');
      assert.equal((await cluster()).state, 'running', 'a cancelled scale leaves the cluster running');
      assert.deepEqual(await jobs.cancelRequested([seeded.gatewayId]), []);

      const lost = await enqueue('scale');
      await jobs.claim([seeded.gatewayId], 1);
      await jobs.requestCancel(seeded.tenantId, lost.id);
      const ended = await jobs.cancelOutright(lost.id, 'requested');
      assert.equal(ended?.state, 'cancelled', 'the gateway never saw it (unknown): cancelled outright');
      assert.equal(await jobs.cancelOutright(lost.id, 'requested'), undefined);
    });

    it('scale succeeded: nodes not in the result are removed and their addresses released', async () => {
      const create = await enqueue();
      await jobs.claim([seeded.gatewayId], 1);
      await reports.applyReport(seeded.gatewayId, seeded.epoch, { job_id: create.id, events: [], result: succeeded('cp-0', 'worker-0', 'worker-1') });
      assert.deepEqual(await allocations(), ['cp-0', 'worker-0', 'worker-1']);
      const scale = await enqueue('scale', seeded.clusterId, specOf(seeded.clusterId, ['cp-0', 'worker-0']));
      await jobs.claim([seeded.gatewayId], 1);
      await jobs.ack(scale.id, seeded.gatewayId, seeded.epoch);
      assert.equal((await cluster()).state, 'scaling');
      await reports.applyReport(seeded.gatewayId, seeded.epoch, { job_id: scale.id, events: [], result: succeeded('cp-0', 'worker-0') });
      assert.equal((await cluster()).state, 'running');
      assert.deepEqual(await nodes(), ['cp-0:present', 'worker-0:present']);
      assert.deepEqual(await allocations(), ['cp-0', 'worker-0']);
    });

    it('delete succeeded: cluster deleted, every node and address gone; a failed delete leaves it failed', async () => {
      const del = await enqueue('delete');
      await jobs.claim([seeded.gatewayId], 1);
      await jobs.ack(del.id, seeded.gatewayId, seeded.epoch);
      assert.equal((await cluster()).state, 'deleting');
      await reports.applyReport(seeded.gatewayId, seeded.epoch, { job_id: del.id, events: [], result: { outcome: 'failed', error: { code: 'PCG_ERR_VCENTER_FAULT', message: 'busy' }, nodes: [node('cp-0')] } });
      const failed = await cluster();
      assert.deepEqual([failed.state, failed.deleted_at], ['failed', null]);
      assert.deepEqual((await jobs.get(seeded.tenantId, del.id)).error_code, 'PCG_ERR_VCENTER_FAULT');
      const again = await enqueue('delete');
      await jobs.claim([seeded.gatewayId], 1);
      await reports.applyReport(seeded.gatewayId, seeded.epoch, { job_id: again.id, events: [], result: { outcome: 'succeeded', nodes: [] } });
      const gone = await cluster();
      assert.deepEqual([gone.state, gone.deleted_at], ['deleted', clock.now()]);
      assert.deepEqual(await nodes(), []);
      assert.deepEqual(await allocations(), []);
    });

    it('a create finishing under a pending delete does not show running; the delete then runs', async () => {
      const create = await enqueue();
      await jobs.claim([seeded.gatewayId], 1);
      await jobs.ack(create.id, seeded.gatewayId, seeded.epoch);
      // What the cluster DELETE route does: deleting, cancel requested, a delete job behind.
      await database.db.updateTable('clusters').set({ state: 'deleting' }).where('id', '=', seeded.clusterId).execute();
      await database.db.updateTable('jobs').set({ cancel_requested_at: clock.now() }).where('id', '=', create.id).execute();
      clock.advance(1);
      const del = await enqueue('delete');
      await jobs.ack(create.id, seeded.gatewayId, seeded.epoch); // a re-offer after reconnect
      assert.equal((await cluster()).state, 'deleting');
      await reports.applyReport(seeded.gatewayId, seeded.epoch, { job_id: create.id, events: [], result: { outcome: 'cancelled', nodes: [node('cp-0')] } });
      assert.equal((await cluster()).state, 'deleting');
      assert.deepEqual((await jobs.claim([seeded.gatewayId], 5)).map((j) => j.id), [del.id]);
    });

    it('drift: nodes missing, a warning, one repair job with the last good spec; nothing more while it is unfinished', async () => {
      const drift = new ClusterDrift(database.db, jobs, clock);
      const create = await enqueue();
      await jobs.claim([seeded.gatewayId], 1);
      await reports.applyReport(seeded.gatewayId, seeded.epoch, { job_id: create.id, events: [], result: succeeded('cp-0', 'worker-0', 'worker-1') });
      const first = await drift.apply(seeded.gatewayId, seeded.epoch, seeded.clusterId, ['worker-1']);
      assert.ok(first.repairJobId);
      const repair = await jobs.get(seeded.tenantId, first.repairJobId);
      assert.deepEqual([repair.kind, repair.action, repair.state, repair.spec], ['repair', 'apply', 'queued', create.spec]);
      assert.deepEqual(await nodes(), ['cp-0:present', 'worker-0:present', 'worker-1:missing']);
      const warn = await database.db.selectFrom('cluster_events').selectAll().where('step', '=', 'drift').where('level', '=', 'warn').execute();
      assert.deepEqual(warn.map((e) => [e.node, e.message]), [['worker-1', 'VM of node worker-1 missing from vCenter']]);
      assert.equal((await drift.apply(seeded.gatewayId, seeded.epoch, seeded.clusterId, ['worker-1'])).repairJobId, null, 'a repair is already queued');
      await jobs.claim([seeded.gatewayId], 1);
      await reports.applyReport(seeded.gatewayId, seeded.epoch, { job_id: repair.id, events: [], result: { outcome: 'failed', error: { code: 'PCG_ERR_VCENTER_FAULT', message: 'no' }, nodes: [] } });
      assert.equal((await cluster()).state, 'failed');
      assert.equal((await drift.apply(seeded.gatewayId, seeded.epoch, seeded.clusterId, ['worker-1'])).repairJobId, null, 'a failed cluster is not repaired again');
      await assert.rejects(drift.apply(seeded.gatewayId, seeded.epoch - 1, seeded.clusterId, ['worker-1']), rejectsWith('PCG_ERR_STALE_EPOCH'));
    });
  });
}

function pick(r: { seq: number; stored: number; finished: boolean; job: { state: string } }) {
  return { seq: r.seq, stored: r.stored, finished: r.finished, state: r.job.state };
}

jobStoreSuite('sqlite', () => {
  const dir = tempDir('jobs-sqlite');
  return Promise.resolve({ target: join(dir.path, 'relay.db'), cleanup: dir.remove });
});

let postgres: PostgresServer | undefined;
let databases = 0;
describe('job store, PostgreSQL fixture', function () {
  this.timeout(90_000);
  before(async () => {
    postgres = await PostgresServer.start();
  });
  after(async () => {
    await postgres?.stop();
  });
  jobStoreSuite('postgres', async () => ({ target: await postgres!.createDatabase(`pcg_jobs_${++databases}`), cleanup: () => undefined }));
});
