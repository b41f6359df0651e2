import { strict as assert } from 'node:assert';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import pino from 'pino';
import type { Frame } from '../../proto/schemas/frames.js';
import type { JobResult } from '../../proto/schemas/jobs.js';
import { Relay } from '../../saas-relay/relay.js';
import { ApiClient } from '../support/api-client.js';
import { GATEWAY_CLI, runCli } from '../support/child.js';
import { createGateway } from '../support/gateway-fixture.js';
import { seedCluster, specOf, type Seeded } from '../support/job-seed.js';
import { PostgresServer } from '../support/postgres-fixture.js';
import { RawSession } from '../support/raw-session.js';
import { tempDir } from '../support/temp-dir.js';
import { waitFor } from '../support/wait-for.js';

type F<T extends Frame['type']> = Extract<Frame, { type: T }>;
interface JobBody { id: string; state: string; attempts: number; kind: string; error: { code: string } | null; cancelRequestedAt: string | null }

/** The next frame of `type` (matching `pred`) not consumed before, from a hand-driven gateway. */
function nextFrame<T extends Frame['type']>(raw: RawSession, type: T, pred: (f: F<T>) => boolean = () => true, timeoutMs = 8000): Promise<F<T>> {
  const seen = (raw as unknown as { consumed?: Set<Frame> }).consumed ??= new Set();
  return waitFor(`a ${type} frame`, () => {
    const frame = raw.received.find((f) => f.type === type && !seen.has(f) && pred(f as F<T>)) as F<T> | undefined;
    if (frame) seen.add(frame);
    return frame;
  }, timeoutMs, 10);
}

const built: JobResult = {
  outcome: 'succeeded',
  nodes: [{ name: 'cp-0', role: 'control-plane', vm: 'vm-41', instanceUuid: '5d0c2a8e-0000-4000-8000-000000000001', ip: '10.0.0.11', ready: true }],
};
const ev = (seq: number, message: string) => ({ seq, at: Date.now(), step: 'clone', node: 'cp-0', level: 'info' as const, message });

/** Reads a server-sent event stream until `until` says enough or the server ends it. */
function readStream(url: string, ca: string, apiKey: string, lastEventId: string | undefined, until: (events: Array<{ id: string; data: Record<string, unknown> }>) => boolean) {
  return new Promise<{ status: number; type: string | undefined; events: Array<{ id: string; data: Record<string, unknown> }>; ended: boolean }>((resolve, reject) => {
    const events: Array<{ id: string; data: Record<string, unknown> }> = [];
    const req = request(url, { ca, headers: { authorization: `Bearer ${apiKey}`, ...(lastEventId ? { 'last-event-id': lastEventId } : {}) } }, (res) => {
      let buffer = '';
      const done = (ended: boolean) => resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], events, ended });
      res.on('data', (chunk: Buffer) => {
        buffer += chunk.toString();
        let cut: number;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const fields = Object.fromEntries(block.split('\n').filter((l) => !l.startsWith(':') && l.includes(': ')).map((l) => [l.slice(0, l.indexOf(': ')), l.slice(l.indexOf(': ') + 2)]));
          if (fields.event === 'cluster-event') events.push({ id: fields.id!, data: JSON.parse(fields.data!) as Record<string, unknown> });
        }
        if (until(events)) {
          done(false);
          req.destroy();
        }
      });
      res.on('end', () => done(true));
    });
    req.on('error', (err) => (events.length > 0 ? undefined : reject(err)));
    req.end();
  });
}

async function pairGateway(relay: Relay, api: ApiClient, dir: string, name: string): Promise<{ id: string; state: string }> {
  const gw = await createGateway(api, name);
  const state = join(dir, name);
  const out = await runCli(GATEWAY_CLI, ['pair', '--state-dir', state, '--relay', relay.url, '--code', gw.pairingCode, '--ca-pin', relay.pki.caPin]);
  assert.equal(out.code, 0, out.stderr);
  return { id: gw.id, state };
}

describe('job dispatch (in-process relay on SQLite, hand-driven gateway)', function () {
  this.timeout(60_000);
  const dir = tempDir('job-dispatch');
  let relay: Relay;
  let api: ApiClient;
  let tenant: { tenantId: string; projectId: string; apiKey: string };
  let gateway: { id: string; state: string };
  const raws: RawSession[] = [];
  const open = async (): Promise<RawSession> => {
    const raw = await RawSession.open(gateway.state);
    raws.push(raw);
    return raw;
  };
  const seed = (nodes = ['cp-0']): Promise<Seeded> => seedCluster(relay.database.db, undefined, relay.gateways, relay.options.clock,
    { nodes, tenantId: tenant.tenantId, projectId: tenant.projectId, gatewayId: gateway.id });
  const enqueue = async (s: Seeded, kind: 'create' | 'delete' = 'create') => {
    const job = await relay.jobs.enqueue({ tenantId: s.tenantId, clusterId: s.clusterId, gatewayId: s.gatewayId, kind, action: kind === 'delete' ? 'delete' : 'apply', spec: specOf(s.clusterId, ['cp-0']) });
    return job;
  };
  const job = async (id: string) => (await api.get<JobBody>(`/v1/jobs/${id}`)).body;

  before(async () => {
    relay = await Relay.create({ dataDir: join(dir.path, 'relay'), listen: '127.0.0.1:0', logger: pino({ level: 'silent' }) });
    tenant = await relay.tenancy.createTenant('jobs');
    api = new ApiClient(relay.url, relay.pki.ca.certPem, tenant.apiKey);
    gateway = await pairGateway(relay, api, dir.path, 'gw-jobs');
  });
  afterEach(async () => {
    for (const raw of raws.splice(0)) raw.close();
    await waitFor('no session', () => !relay.hub.session(gateway.id));
  });
  after(async () => {
    await relay.close();
    dir.remove();
  });

  it('a job queued while the gateway is offline is offered when it connects, acked, reported and finished', async () => {
    const s = await seed();
    const queued = await enqueue(s);
    assert.equal((await job(queued.id)).state, 'queued');
    const raw = await open();
    const offer = await nextFrame(raw, 'job.offer', (f) => f.job.id === queued.id);
    assert.deepEqual([offer.job.kind, offer.job.action, offer.job.attempt, offer.job.cluster.clusterId], ['create', 'apply', 1, s.clusterId]);
    raw.send({ type: 'job.ack', id: offer.id, job_id: queued.id, state: 'accepted' });
    await waitFor('running', async () => (await job(queued.id)).state === 'running');
    const row = await relay.jobs.get(tenant.tenantId, queued.id);
    assert.equal(row.epoch, raw.session.welcome.epoch);
    assert.equal((await api.get<unknown[]>(`/v1/clusters/${s.clusterId}/jobs`)).body.length, 1);
    raw.send({ type: 'job.report', id: 7, job_id: queued.id, events: [ev(1, 'cloning cp-0'), ev(2, 'cp-0 ready')], result: built });
    const ack = await nextFrame(raw, 'job.report.ack');
    assert.deepEqual([ack.id, ack.seq, ack.state], [7, 2, 'succeeded']);
    const cluster = await relay.database.db.selectFrom('clusters').select('state').where('id', '=', s.clusterId).executeTakeFirstOrThrow();
    assert.equal(cluster.state, 'running');
    const events = (await api.get<Array<{ step: string; seq: number | null }>>(`/v1/clusters/${s.clusterId}/events`)).body;
    assert.deepEqual(events.map((e) => `${e.step}:${e.seq}`), ['clone:1', 'clone:2', 'job:null']);
  });

  it('a job delivered twice (reconnect) is acked as running and finishes once; a resent report stores nothing twice', async () => {
    const s = await seed();
    const queued = await enqueue(s);
    const first = await open();
    const offer1 = await nextFrame(first, 'job.offer', (f) => f.job.id === queued.id);
    first.send({ type: 'job.ack', id: offer1.id, job_id: queued.id, state: 'accepted' });
    await waitFor('running', async () => (await job(queued.id)).state === 'running');
    first.send({ type: 'job.report', id: 1, job_id: queued.id, events: [ev(1, 'cloning')] });
    await nextFrame(first, 'job.report.ack');
    first.close();
    await waitFor('session gone', () => !relay.hub.session(gateway.id));
    const second = await open();
    const offer2 = await nextFrame(second, 'job.offer', (f) => f.job.id === queued.id);
    assert.equal(offer2.job.attempt, 1, 'a re-offer is not a new attempt');
    second.send({ type: 'job.ack', id: offer2.id, job_id: queued.id, state: 'running' });
    await waitFor('epoch of the new session', async () => (await relay.jobs.get(tenant.tenantId, queued.id)).epoch === second.session.welcome.epoch);
    const report = { type: 'job.report', id: 2, job_id: queued.id, events: [ev(1, 'cloning'), ev(2, 'ready')], result: built };
    second.send(report);
    const ack1 = await nextFrame(second, 'job.report.ack');
    second.send({ ...report, id: 3 });
    const ack2 = await nextFrame(second, 'job.report.ack');
    assert.deepEqual([ack1.seq, ack1.state, ack2.seq, ack2.state], [2, 'succeeded', 2, 'succeeded']);
    const events = (await api.get<Array<{ step: string; seq: number | null }>>(`/v1/clusters/${s.clusterId}/events`)).body;
    assert.deepEqual(events.map((e) => `${e.step}:${e.seq}`), ['clone:1', 'clone:2', 'job:null'], 'each event once, one job outcome');
    const done = await job(queued.id);
    assert.deepEqual([done.state, done.attempts], ['succeeded', 1]);
  });

  it('cancel at each state: queued, dispatched (gateway: unknown), running (gateway: cancelling, then its result), finished', async () => {
    const s1 = await seed();
    const queued = await enqueue(s1);
    const c1 = await api.post<JobBody>(`/v1/jobs/${queued.id}/cancel`);
    assert.deepEqual([c1.status, c1.body.state, c1.body.error?.code], [202, 'cancelled', 'PCG_ERR_JOB_CANCELLED']);

    const s2 = await seed();
    const dispatched = await enqueue(s2);
    const raw = await open();
    await nextFrame(raw, 'job.offer', (f) => f.job.id === dispatched.id); // not acked: stays dispatched
    assert.equal((await job(dispatched.id)).state, 'dispatched');
    const c2 = await api.post<JobBody>(`/v1/jobs/${dispatched.id}/cancel`);
    assert.deepEqual([c2.status, c2.body.state, c2.body.cancelRequestedAt !== null], [202, 'dispatched', true]);
    const cancel2 = await nextFrame(raw, 'job.cancel', (f) => f.job_id === dispatched.id);
    raw.send({ type: 'job.cancel.ack', id: cancel2.id, job_id: dispatched.id, state: 'unknown' });
    await waitFor('cancelled outright', async () => (await job(dispatched.id)).state === 'cancelled');

    const s3 = await seed();
    const running = await enqueue(s3);
    const offer3 = await nextFrame(raw, 'job.offer', (f) => f.job.id === running.id);
    raw.send({ type: 'job.ack', id: offer3.id, job_id: running.id, state: 'accepted' });
    await waitFor('running', async () => (await job(running.id)).state === 'running');
    assert.equal((await api.post<JobBody>(`/v1/jobs/${running.id}/cancel`)).status, 202);
    const cancel3 = await nextFrame(raw, 'job.cancel', (f) => f.job_id === running.id);
    raw.send({ type: 'job.cancel.ack', id: cancel3.id, job_id: running.id, state: 'cancelling' });
    assert.equal((await job(running.id)).state, 'running', 'the gateway confirms with its result');
    raw.send({ type: 'job.report', id: 11, job_id: running.id, events: [], result: { outcome: 'cancelled', error: { code: 'PCG_ERR_JOB_CANCELLED', message: 'stopped' }, nodes: [] } });
    assert.equal((await nextFrame(raw, 'job.report.ack', (f) => f.job_id === running.id)).state, 'cancelled');
    const cluster3 = await relay.database.db.selectFrom('clusters').select('state').where('id', '=', s3.clusterId).executeTakeFirstOrThrow();
    assert.equal(cluster3.state, 'failed', 'a cancelled create leaves the cluster failed');

    const c4 = await api.post<{ code: string }>(`/v1/jobs/${running.id}/cancel`);
    assert.deepEqual([c4.status, c4.body.code], [409, 'PCG_ERR_CONFLICT']);
  });

  it('viewers may read but not cancel; another tenant gets 404 for jobs, clusters and events', async () => {
    const s = await seed();
    const queued = await enqueue(s);
    const viewer = await relay.tenancy.createUser(tenant.tenantId, { email: 'v@example.com', name: 'viewer', grants: [{ role: 'project-viewer', projectId: tenant.projectId }] });
    const viewerApi = api.withKey((await relay.tenancy.createApiKey(tenant.tenantId, viewer.id, 'v')).apiKey);
    assert.equal((await viewerApi.get(`/v1/jobs/${queued.id}`)).status, 200);
    const refused = await viewerApi.post<{ code: string }>(`/v1/jobs/${queued.id}/cancel`);
    assert.deepEqual([refused.status, refused.body.code], [403, 'PCG_ERR_FORBIDDEN']);
    const other = api.withKey((await relay.tenancy.createTenant('other')).apiKey);
    for (const path of [`/v1/jobs/${queued.id}`, `/v1/clusters/${s.clusterId}/jobs`, `/v1/clusters/${s.clusterId}/events`, `/v1/clusters/${s.clusterId}/events/stream`]) {
      const res = await other.get<{ code: string }>(path);
      assert.deepEqual([res.status, res.body.code], [404, 'PCG_ERR_NOT_FOUND'], path);
    }
    assert.equal((await other.post(`/v1/jobs/${queued.id}/cancel`)).status, 404);
    assert.equal((await job(queued.id)).state, 'queued');
  });

  it('event stream: resumes after Last-Event-ID, carries live events, ends after a deleted cluster\'s last event', async () => {
    const s = await seed();
    const create = await enqueue(s);
    const raw = await open();
    const offer = await nextFrame(raw, 'job.offer', (f) => f.job.id === create.id);
    raw.send({ type: 'job.ack', id: offer.id, job_id: create.id, state: 'accepted' });
    raw.send({ type: 'job.report', id: 21, job_id: create.id, events: [ev(1, 'one'), ev(2, 'two'), ev(3, 'three')] });
    await nextFrame(raw, 'job.report.ack');
    const listed = (await api.get<Array<{ id: number; message: string }>>(`/v1/clusters/${s.clusterId}/events`)).body;
    assert.deepEqual(listed.map((e) => e.message), ['one', 'two', 'three']);
    assert.deepEqual((await api.get<Array<{ message: string }>>(`/v1/clusters/${s.clusterId}/events?after=${listed[1]!.id}`)).body.map((e) => e.message), ['three']);
    const url = `${relay.url}/v1/clusters/${s.clusterId}/events/stream`;
    // Resume after "one": two and three at once, then the live ones, then the stream ends by itself.
    const streamed = readStream(url, relay.pki.ca.certPem, tenant.apiKey, String(listed[0]!.id), () => false);
    await new Promise((r) => setTimeout(r, 300));
    raw.send({ type: 'job.report', id: 22, job_id: create.id, events: [ev(4, 'four')], result: built });
    await nextFrame(raw, 'job.report.ack', (f) => f.id === 22);
    const del = await enqueue(s, 'delete');
    const offerDel = await nextFrame(raw, 'job.offer', (f) => f.job.id === del.id);
    raw.send({ type: 'job.ack', id: offerDel.id, job_id: del.id, state: 'accepted' });
    raw.send({ type: 'job.report', id: 23, job_id: del.id, events: [{ ...ev(1, 'destroyed cp-0'), step: 'destroy' }], result: { outcome: 'succeeded', nodes: [] } });
    await nextFrame(raw, 'job.report.ack', (f) => f.id === 23);
    const result = await streamed;
    assert.equal(result.status, 200);
    assert.match(result.type ?? '', /^text\/event-stream/);
    assert.equal(result.ended, true, 'the stream of a deleted cluster ends');
    assert.deepEqual(result.events.map((e) => e.data.message), ['two', 'three', 'four', 'create job succeeded', 'destroyed cp-0', 'delete job succeeded']);
    const ids = result.events.map((e) => Number(e.id));
    assert.deepEqual(ids, [...ids].sort((a, b) => a - b));
    assert.equal(ids[0], listed[1]!.id);
  });

  it('the relay closes an open stream cleanly when it shuts down', async () => {
    // Same data dir as the running relay, which owns the public registry folder.
    const spare = await Relay.create({ dataDir: join(dir.path, 'relay'), listen: '127.0.0.1:0', logger: pino({ level: 'silent' }), registryDir: null });
    const s = await seed();
    const streamed = readStream(`${spare.url}/v1/clusters/${s.clusterId}/events/stream`, spare.pki.ca.certPem, tenant.apiKey, undefined, () => false);
    await new Promise((r) => setTimeout(r, 300));
    const started = Date.now();
    await spare.close();
    const result = await streamed;
    assert.deepEqual([result.status, result.ended], [200, true]);
    assert.ok(Date.now() - started < 3000, `${Date.now() - started} ms`);
  });
});

describe('job dispatch across two relays on one PostgreSQL', function () {
  this.timeout(90_000);
  const dir = tempDir('job-dispatch-pg');
  let postgres: PostgresServer;
  let relayA: Relay;
  let relayB: Relay;
  let tenant: { tenantId: string; projectId: string; apiKey: string };

  before(async () => {
    postgres = await PostgresServer.start();
    const url = await postgres.createDatabase('pcg_job_dispatch');
    const dataA = join(dir.path, 'relay-a');
    relayA = await Relay.create({ dataDir: dataA, listen: '127.0.0.1:0', databaseUrl: url, logger: pino({ level: 'silent' }) });
    const dataB = join(dir.path, 'relay-b');
    cpSync(dataA, dataB, { recursive: true, filter: (src) => !src.includes('relay.db') });
    relayB = await Relay.create({ dataDir: dataB, listen: '127.0.0.1:0', databaseUrl: url, logger: pino({ level: 'silent' }) });
    tenant = await relayA.tenancy.createTenant('pg-jobs');
  });
  after(async () => {
    await relayA?.close();
    await relayB?.close();
    await postgres?.stop();
    dir.remove();
  });

  it('a job queued on relay A for an offline gateway runs when the gateway connects to relay B', async () => {
    const apiA = new ApiClient(relayA.url, relayA.pki.ca.certPem, tenant.apiKey);
    const apiB = new ApiClient(relayB.url, relayB.pki.ca.certPem, tenant.apiKey);
    const gw = await pairGateway(relayA, apiA, dir.path, 'gw-pg');
    const s = await seedCluster(relayA.database.db, undefined, relayA.gateways, relayA.options.clock, { nodes: ['cp-0'], tenantId: tenant.tenantId, projectId: tenant.projectId, gatewayId: gw.id });
    const queued = await relayA.jobs.enqueue({ tenantId: s.tenantId, clusterId: s.clusterId, gatewayId: gw.id, kind: 'create', action: 'apply', spec: specOf(s.clusterId, ['cp-0']) });
    // Same identity pointed at relay B (both relays serve the same CA and signing key).
    const identity = join(gw.state, 'identity.json');
    writeFileSync(identity, readFileSync(identity, 'utf8').replace(relayA.url, relayB.url));
    const raw = await RawSession.open(gw.state);
    try {
      await waitFor('the session on B', () => relayB.hub.session(gw.id));
      assert.equal(relayA.hub.session(gw.id), undefined);
      const offer = await nextFrame(raw, 'job.offer', (f) => f.job.id === queued.id);
      raw.send({ type: 'job.ack', id: offer.id, job_id: queued.id, state: 'accepted' });
      raw.send({ type: 'job.report', id: 1, job_id: queued.id, events: [ev(1, 'built')], result: built });
      const ack = await nextFrame(raw, 'job.report.ack');
      assert.deepEqual([ack.seq, ack.state], [1, 'succeeded']);
      // Seen the same through either relay.
      for (const api of [apiA, apiB]) {
        const body = (await api.get<JobBody>(`/v1/jobs/${queued.id}`)).body;
        assert.deepEqual([body.state, body.attempts], ['succeeded', 1]);
      }
      // A job queued now through relay A reaches the session on B by LISTEN/NOTIFY, well before any poll.
      const s2 = await seedCluster(relayA.database.db, undefined, relayA.gateways, relayA.options.clock, { nodes: ['cp-0'], tenantId: tenant.tenantId, projectId: tenant.projectId, gatewayId: gw.id });
      const started = Date.now();
      const next = await relayA.jobs.enqueue({ tenantId: s2.tenantId, clusterId: s2.clusterId, gatewayId: gw.id, kind: 'create', action: 'apply', spec: specOf(s2.clusterId, ['cp-0']) });
      await (relayA as unknown as { signals: { notify(c: string, p: string): Promise<void> } }).signals.notify('job_queued', gw.id);
      await nextFrame(raw, 'job.offer', (f) => f.job.id === next.id);
      assert.ok(Date.now() - started < 900, `${Date.now() - started} ms`);
    } finally {
      raw.close();
    }
  });
});
