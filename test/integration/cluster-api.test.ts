import { strict as assert } from 'node:assert';
import { ApiClient } from '../support/api-client.js';
import { profileBody, StoreProbe, userWithRole, type ErrorBody } from '../support/cluster-api-fixture.js';
import { GatewayLab } from '../support/gateway-lab.js';
import { RelayProcess, type Tenant } from '../support/relay-fixture.js';

interface Node { name: string; role: string; state: string; ip: string | null; vm: string | null; ready: boolean }
interface Cluster { id: string; name: string; state: string; nodes: Node[]; nodePools: { workers: { count: number } }; latestJob: { id: string; kind: string; state: string } | null }
interface JobRow { id: string; kind: string; action: string; state: string; spec: string; cancel_requested_at: number | null }
interface Spec { name: string; template: string; nodes: Array<{ name: string; role: string; cpus: number; address?: { ip: string; prefix: number; gateway?: string; dns: string[] } }>; packs: Array<{ layer: string }> }

const placement = { datacenter: 'DC0', folder: 'vm', computeResource: 'DC0_C0', datastore: 'LocalDS_0', network: 'VM Network' };
const nodePools = (controlPlane: number, workers: number) => ({
  controlPlane: { count: controlPlane, cpus: 2, memoryMiB: 4096, diskGiB: 40 },
  workers: { count: workers, cpus: 4, memoryMiB: 8192, diskGiB: 80 },
});

describe('clusters API (gateway offline: queued without the live placement check)', function () {
  this.timeout(60_000);
  let relay: RelayProcess;
  let acme: Tenant;
  let api: ApiClient;
  let otherApi: ApiClient;
  let lab: GatewayLab;
  let store: StoreProbe;
  let accountId: string;
  let profileId: string;
  let poolId: string;
  const create = (body: Record<string, unknown>, client = api, projectId = acme.projectId) => client.post<Cluster & ErrorBody>(`/v1/projects/${projectId}/clusters`, body);
  const body = (name: string, extra: Record<string, unknown> = {}) => ({
    name, profileId, cloudAccountId: accountId, placement, nodePools: nodePools(1, 2), addressing: { mode: 'static', poolId }, ...extra,
  });
  const jobs = (clusterId: string) => store.all<JobRow>('select * from jobs where cluster_id = ? order by created_at, rowid', clusterId);
  /** Stands in for the dispatcher and the gateway: the cluster's unfinished jobs end as `state`. */
  const finishJobs = (clusterId: string, state = 'succeeded') => store.run("update jobs set state = ? where cluster_id = ? and state in ('queued','dispatched','running')", state, clusterId);

  before(async () => {
    relay = await RelayProcess.start();
    acme = await relay.createTenant('acme');
    api = new ApiClient(relay.url, relay.caCert, acme.apiKey);
    otherApi = api.withKey((await relay.createTenant('other')).apiKey);
    lab = new GatewayLab(() => relay, () => api);
    await lab.pair('dc1');
    accountId = (await api.get<Array<{ id: string }>>('/v1/cloudaccounts')).body[0]!.id;
    profileId = (await api.post<{ id: string }>(`/v1/projects/${acme.projectId}/profiles`, profileBody('base', { addons: 1 }))).body.id;
    poolId = (await api.post<{ id: string }>(`/v1/cloudaccounts/${accountId}/ippools`, { name: 'nodes', subnet: '10.40.0.0/28', gateway: '10.40.0.1', dns: ['10.40.0.1'] })).body.id;
    store = new StoreProbe(relay);
  });
  after(async () => {
    store.close();
    await lab.cleanup();
    await relay.stop();
  });

  it('creates a cluster in one go: cluster, nodes, addresses, a create job with the resolved spec, a queued event', async () => {
    const res = await create(body('alpha'));
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.equal(res.body.state, 'provisioning');
    assert.deepEqual(res.body.nodes.map((n) => [n.name, n.role, n.state, n.ip]), [
      ['cp-0', 'control-plane', 'desired', '10.40.0.2'], ['worker-0', 'worker', 'desired', '10.40.0.3'], ['worker-1', 'worker', 'desired', '10.40.0.4'],
    ]);
    assert.deepEqual([res.body.latestJob?.kind, res.body.latestJob?.state], ['create', 'queued']);
    const [job, ...more] = jobs(res.body.id);
    assert.equal(more.length, 0);
    assert.deepEqual([job!.kind, job!.action, job!.state, job!.id], ['create', 'apply', 'queued', res.body.latestJob!.id]);
    const spec = JSON.parse(job!.spec) as Spec;
    assert.deepEqual([spec.name, spec.template, spec.packs.map((p) => p.layer)], ['alpha', 'ubuntu-2204', ['os', 'k8s', 'cni', 'csi', 'addon']]);
    assert.deepEqual(spec.nodes.map((n) => [n.name, n.cpus, n.address?.ip]), [['cp-0', 2, '10.40.0.2'], ['worker-0', 4, '10.40.0.3'], ['worker-1', 4, '10.40.0.4']]);
    assert.deepEqual(spec.nodes[0]!.address, { ip: '10.40.0.2', prefix: 28, gateway: '10.40.0.1', dns: ['10.40.0.1'], searchDomains: [] });
    const events = store.all<{ step: string; job_id: string }>('select step, job_id from cluster_events where cluster_id = ?', res.body.id);
    assert.deepEqual(events, [{ step: 'queued', job_id: job!.id }]);
    assert.equal((await api.get<{ allocated: number }>(`/v1/ippools/${poolId}`)).body.allocated, 3);
    const listed = await api.get<Cluster[]>(`/v1/projects/${acme.projectId}/clusters`);
    assert.deepEqual(listed.body.map((c) => [c.name, c.latestJob?.kind]), [['alpha', 'create']]);
    const dhcp = await create(body('dhcp', { addressing: { mode: 'dhcp' }, nodePools: nodePools(3, 0) }));
    assert.equal(dhcp.status, 201, JSON.stringify(dhcp.body));
    assert.deepEqual(dhcp.body.nodes.map((n) => [n.name, n.ip]), [['cp-0', null], ['cp-1', null], ['cp-2', null]]);
    assert.ok((JSON.parse(jobs(dhcp.body.id)[0]!.spec) as Spec).nodes.every((n) => n.address === undefined));
  });

  it('refuses what cannot work before anything is queued, leaving no rows', async () => {
    const before = store.counts();
    const cases: Array<[string, Record<string, unknown>, number, string, RegExp?]> = [
      ['unknown profile', body('x1', { profileId: 'prf_nope' }), 404, 'PCG_ERR_NOT_FOUND', /cluster profile prf_nope/],
      ['unknown cloud account', body('x2', { cloudAccountId: 'cld_nope' }), 404, 'PCG_ERR_NOT_FOUND', /cloud account cld_nope/],
      ['unknown pool', body('x3', { addressing: { mode: 'static', poolId: 'ipp_nope' } }), 404, 'PCG_ERR_NOT_FOUND', /IP pool ipp_nope/],
      ['two control planes', body('x4', { nodePools: nodePools(2, 1) }), 400, 'PCG_ERR_BAD_REQUEST', /controlPlane\/count/],
      ['negative workers', body('x5', { nodePools: nodePools(1, -1) }), 400, 'PCG_ERR_BAD_REQUEST', /workers\/count must be >= 0/],
      ['negative cpus', body('x6', { nodePools: { ...nodePools(1, 1), workers: { count: 1, cpus: -2, memoryMiB: 1024, diskGiB: 10 } } }), 400, 'PCG_ERR_BAD_REQUEST', /cpus must be >= 1/],
      ['not a DNS label', body('Bad_Name'), 400, 'PCG_ERR_BAD_REQUEST', /body\/name must match pattern/],
      ['duplicate name', body('alpha'), 409, 'PCG_ERR_CONFLICT', /"alpha" already exists/],
      ['pool too small', body('x7', { nodePools: nodePools(3, 10) }), 409, 'PCG_ERR_IP_POOL_EXHAUSTED', /has 10 free addresses; the cluster needs 13/],
      ['no placement network', body('x8', { placement: { ...placement, network: undefined } }), 400, 'PCG_ERR_BAD_REQUEST', /network/],
    ];
    for (const [label, req, status, code, message] of cases) {
      const res = await create(req);
      assert.deepEqual([res.status, res.body.code], [status, code], `${label}: ${JSON.stringify(res.body)}`);
      if (message) assert.match(res.body.message, message, label);
    }
    const otherProject = await api.post<{ id: string }>('/v1/projects', { name: 'second' });
    const foreignProfile = await create(body('x9'), api, otherProject.body.id);
    assert.deepEqual([foreignProfile.status, foreignProfile.body.code], [404, 'PCG_ERR_NOT_FOUND'], "another project's profile");
    assert.deepEqual(store.counts(), before, 'no refused request left a row');
  });

  it('scales workers: new names and addresses up, newest removed first down; busy while an apply job runs', async () => {
    const alpha = (await api.get<Cluster[]>(`/v1/projects/${acme.projectId}/clusters`)).body.find((c) => c.name === 'alpha')!;
    const busy = await api.send<ErrorBody>('PATCH', `/v1/clusters/${alpha.id}`, { workers: { count: 3 } });
    assert.deepEqual([busy.status, busy.body.code], [409, 'PCG_ERR_CLUSTER_BUSY'], 'the create job is still queued');
    finishJobs(alpha.id);
    store.run("update clusters set state = 'running' where id = ?", alpha.id);

    const cp = await api.send<ErrorBody>('PATCH', `/v1/clusters/${alpha.id}`, { controlPlane: { count: 3 }, workers: { count: 3 } });
    assert.deepEqual([cp.status, cp.body.code], [400, 'PCG_ERR_BAD_REQUEST']);
    assert.match(cp.body.message, /control plane has 1 node\(s\) and cannot change/);
    const up = await api.send<Cluster>('PATCH', `/v1/clusters/${alpha.id}`, { workers: { count: 4 } });
    assert.equal(up.status, 202, JSON.stringify(up.body));
    assert.deepEqual([up.body.state, up.body.nodePools.workers.count, up.body.latestJob?.kind], ['scaling', 4, 'scale']);
    assert.deepEqual(up.body.nodes.map((n) => [n.name, n.ip]), [
      ['cp-0', '10.40.0.2'], ['worker-0', '10.40.0.3'], ['worker-1', '10.40.0.4'], ['worker-2', '10.40.0.5'], ['worker-3', '10.40.0.6'],
    ], 'new workers take the lowest free addresses');
    const scaleJob = jobs(alpha.id).at(-1)!;
    assert.deepEqual([scaleJob.kind, scaleJob.action], ['scale', 'apply']);
    assert.deepEqual((JSON.parse(scaleJob.spec) as Spec).nodes.map((n) => n.name), ['cp-0', 'worker-0', 'worker-1', 'worker-2', 'worker-3']);
    finishJobs(alpha.id);

    const down = await api.send<Cluster>('PATCH', `/v1/clusters/${alpha.id}`, { workers: { count: 1 } });
    assert.equal(down.status, 202);
    assert.deepEqual(down.body.nodes.map((n) => [n.name, n.state]), [
      ['cp-0', 'desired'], ['worker-0', 'desired'], ['worker-1', 'removing'], ['worker-2', 'removing'], ['worker-3', 'removing'],
    ]);
    assert.deepEqual((JSON.parse(jobs(alpha.id).at(-1)!.spec) as Spec).nodes.map((n) => n.name), ['cp-0', 'worker-0'], 'the spec is the desired set');
    const again = await api.send<ErrorBody>('PATCH', `/v1/clusters/${alpha.id}`, { workers: { count: 2 } });
    assert.deepEqual([again.status, again.body.code], [409, 'PCG_ERR_CLUSTER_BUSY']);
    finishJobs(alpha.id);
    const same = await api.send<Cluster>('PATCH', `/v1/clusters/${alpha.id}`, { workers: { count: 1 } });
    assert.equal(same.status, 200, 'no change, no job');
  });

  it('deletes: deleting state, a delete job over every node, cancel requested on unfinished jobs; a second DELETE queues nothing', async () => {
    const beta = await create(body('beta', { nodePools: nodePools(1, 0) }));
    assert.equal(beta.status, 201, JSON.stringify(beta.body));
    const inUse = await api.delete<ErrorBody>(`/v1/profiles/${profileId}`);
    assert.deepEqual([inUse.status, inUse.body.code], [409, 'PCG_ERR_CONFLICT'], 'a profile in use cannot go');
    const poolInUse = await api.delete<ErrorBody>(`/v1/ippools/${poolId}`);
    assert.deepEqual([poolInUse.status, poolInUse.body.code], [409, 'PCG_ERR_CONFLICT'], 'a pool with allocations cannot go');
    const deleted = await api.delete<Cluster>(`/v1/clusters/${beta.body.id}`);
    assert.equal(deleted.status, 202);
    assert.deepEqual([deleted.body.state, deleted.body.latestJob?.kind, deleted.body.latestJob?.state], ['deleting', 'delete', 'queued']);
    const [createJob, deleteJob] = jobs(beta.body.id);
    assert.ok(createJob!.cancel_requested_at !== null, 'the queued create is asked to cancel');
    assert.deepEqual([deleteJob!.action, deleteJob!.cancel_requested_at], ['delete', null]);
    assert.deepEqual((JSON.parse(deleteJob!.spec) as Spec).nodes.map((n) => [n.name, n.address?.ip]), [['cp-0', beta.body.nodes[0]!.ip]]);
    const second = await api.delete<Cluster>(`/v1/clusters/${beta.body.id}`);
    assert.deepEqual([second.status, second.body.state], [202, 'deleting']);
    assert.equal(jobs(beta.body.id).length, 2, 'idempotent');
    const scale = await api.send<ErrorBody>('PATCH', `/v1/clusters/${beta.body.id}`, { workers: { count: 1 } });
    assert.deepEqual([scale.status, scale.body.code], [409, 'PCG_ERR_CONFLICT']);
  });

  it('viewers read only; other tenants get 404 for every verb', async () => {
    const alpha = (await api.get<Cluster[]>(`/v1/projects/${acme.projectId}/clusters`)).body.find((c) => c.name === 'alpha')!;
    const viewer = await userWithRole(api, 'project-viewer', acme.projectId);
    assert.equal((await viewer.get<Cluster>(`/v1/clusters/${alpha.id}`)).body.name, 'alpha');
    assert.ok((await viewer.get<Cluster[]>(`/v1/projects/${acme.projectId}/clusters`)).body.length >= 1);
    const before = store.counts();
    for (const res of [
      await create(body('by-viewer'), viewer),
      await viewer.send<ErrorBody>('PATCH', `/v1/clusters/${alpha.id}`, { workers: { count: 2 } }),
      await viewer.delete<ErrorBody>(`/v1/clusters/${alpha.id}`),
    ]) assert.deepEqual([res.status, res.body.code], [403, 'PCG_ERR_FORBIDDEN']);
    for (const res of [
      await otherApi.get<ErrorBody>(`/v1/clusters/${alpha.id}`),
      await otherApi.send<ErrorBody>('PATCH', `/v1/clusters/${alpha.id}`, { workers: { count: 2 } }),
      await otherApi.delete<ErrorBody>(`/v1/clusters/${alpha.id}`),
      await otherApi.get<ErrorBody>(`/v1/projects/${acme.projectId}/clusters`),
      await create(body('intruder'), otherApi),
    ]) assert.deepEqual([res.status, res.body.code], [404, 'PCG_ERR_NOT_FOUND']);
    assert.deepEqual(store.counts(), before);
    assert.equal((await api.get<Cluster>(`/v1/clusters/${alpha.id}`)).body.nodePools.workers.count, 1, 'untouched');
  });
});
