import { strict as assert } from 'node:assert';
import { VimSession } from '../../gateway/vsphere/vim-session.js';
import { VmOperations } from '../../gateway/vsphere/vm-operations.js';
import { ClusterLab } from '../support/cluster-lab.js';
import { waitFor } from '../support/wait-for.js';

/**
 * The reason the gateway exists, end to end with real processes: the API asks the relay for a
 * cluster, the relay queues a job, the gateway builds the VMs on vcsim, cloud-init nodes phone
 * home, the cluster runs; then scale, a VM removed by hand, and delete. Every VM count is the
 * test's own query of vcsim.
 */
describe('cluster jobs end to end (relay, gateway, vcsim, cloud-init nodes)', function () {
  this.timeout(240_000);
  let lab: ClusterLab;
  let profileId: string;
  let poolId: string;

  before(async () => {
    lab = await ClusterLab.start({ gatewayArgs: ['--jobs-drift-check-interval', '500ms'] });
    profileId = await lab.createProfile();
    poolId = await lab.createPool('nodes', '192.0.2.10', '192.0.2.19');
  });
  after(async () => lab?.close());

  it('create 1+2 → running with static addresses; scale 2→3→1; a VM removed by hand is repaired once; delete releases everything', async () => {
    const created = await lab.createCluster('alpha', profileId, { workers: 2, poolId });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id = created.body.id;

    const running = await lab.waitState(id, 'running');
    assert.deepEqual(running.nodes.map((n) => [n.name, n.role, n.state, n.ip, n.ready]), [
      ['cp-0', 'control-plane', 'present', '192.0.2.10', true],
      ['worker-0', 'worker', 'present', '192.0.2.11', true],
      ['worker-1', 'worker', 'present', '192.0.2.12', true],
    ]);
    let vms = await lab.vms('alpha');
    assert.equal(vms.length, 3);
    assert.ok(vms.every((vm) => vm.powerState === 'poweredOn'), JSON.stringify(vms));
    assert.deepEqual(vms.map((vm) => vm.id).sort(), running.nodes.map((n) => n.vm).sort());
    // Each node phoned home through cloud-init's own phone_home module, with its own token.
    // (the node process may still be exiting after the gateway's answer: wait for its record)
    await waitFor('nodes record their phone-home', () => lab.nodes.nodes.filter((n) => n.name.startsWith('alpha-') && n.state === 'ready').length === 3);
    const events = await lab.events(id);
    for (const node of ['cp-0', 'worker-0', 'worker-1']) {
      for (const step of ['clone', 'power-on', 'ready']) assert.ok(events.some((e) => e.node === node && e.step === step), `${node} ${step} in ${JSON.stringify(events.map((e) => [e.step, e.node]))}`);
    }
    const fromGateway = events.filter((e) => e.seq !== null);
    assert.equal(new Set(fromGateway.map((e) => `${e.jobId}/${e.seq}`)).size, fromGateway.length, 'no gateway event stored twice');

    const grown = await lab.api.send<{ state: string }>('PATCH', `/v1/clusters/${id}`, { workers: { count: 3 } });
    assert.equal(grown.status, 202, JSON.stringify(grown.body));
    const three = await lab.waitState(id, 'running');
    assert.deepEqual(three.nodes.map((n) => [n.name, n.ip]), [['cp-0', '192.0.2.10'], ['worker-0', '192.0.2.11'], ['worker-1', '192.0.2.12'], ['worker-2', '192.0.2.13']]);
    assert.equal((await lab.vms('alpha')).length, 4);

    const shrunk = await lab.api.send<{ state: string }>('PATCH', `/v1/clusters/${id}`, { workers: { count: 1 } });
    assert.equal(shrunk.status, 202, JSON.stringify(shrunk.body));
    const one = await lab.waitState(id, 'running');
    assert.deepEqual(one.nodes.map((n) => n.name), ['cp-0', 'worker-0'], 'the newest workers go first');
    vms = await lab.vms('alpha');
    assert.deepEqual(vms.map((vm) => vm.name.replace(/-[0-9a-f]{6}$/, '')).sort(), ['alpha-cp-0', 'alpha-worker-0']);
    assert.equal((await lab.api.get<{ allocated: number }>(`/v1/ippools/${poolId}`)).body.allocated, 2);

    // Someone deletes a worker in the vSphere Client: the gateway notices, the relay repairs it, once.
    const session = await VimSession.login(lab.vcsim.connection());
    try {
      const worker = vms.find((vm) => vm.name.startsWith('alpha-worker-0'))!;
      const ops = new VmOperations(session);
      await ops.powerOff({ type: 'VirtualMachine', value: worker.id });
      await ops.destroy({ type: 'VirtualMachine', value: worker.id });
    } finally {
      await session.close();
    }
    await waitFor('repair job', async () => (await lab.jobs(id)).some((j) => j.kind === 'repair' && j.state === 'succeeded'), 60_000, 200);
    const repaired = await lab.waitState(id, 'running');
    assert.deepEqual(repaired.nodes.map((n) => [n.name, n.state, n.ready]), [['cp-0', 'present', true], ['worker-0', 'present', true]]);
    assert.equal((await lab.vms('alpha')).length, 2);
    const drift = (await lab.events(id)).filter((e) => e.step === 'drift');
    assert.deepEqual(drift.map((e) => [e.level, e.node]), [['warn', 'worker-0'], ['info', null]], JSON.stringify(drift));
    assert.match(drift[1]!.message, /^repair job job_\w+ queued to recreate worker-0$/);
    // Nothing loops: a few drift checks later there is still exactly one repair.
    await new Promise((r) => setTimeout(r, 2000));
    assert.equal((await lab.jobs(id)).filter((j) => j.kind === 'repair').length, 1);

    const deleted = await lab.api.delete<{ state: string }>(`/v1/clusters/${id}`);
    assert.equal(deleted.status, 202, JSON.stringify(deleted.body));
    await lab.waitState(id, 'deleted');
    assert.deepEqual(await lab.vms('alpha'), []);
    assert.equal((await lab.api.get<{ allocated: number }>(`/v1/ippools/${poolId}`)).body.allocated, 0);
    assert.deepEqual((await lab.jobs(id)).map((j) => [j.kind, j.state]).reverse(), [
      ['create', 'succeeded'], ['scale', 'succeeded'], ['scale', 'succeeded'], ['repair', 'succeeded'], ['delete', 'succeeded'],
    ]);
  });

  it("another tenant's cluster is invisible and untouchable (404 for every verb)", async () => {
    const created = await lab.createCluster('private', profileId, { workers: 0 });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const other = await lab.relay.createTenant('intruder');
    const intruder = lab.api.withKey(other.apiKey);
    const id = created.body.id;
    for (const [method, path, body] of [
      ['GET', `/v1/clusters/${id}`], ['PATCH', `/v1/clusters/${id}`, { workers: { count: 2 } }], ['DELETE', `/v1/clusters/${id}`],
      ['GET', `/v1/clusters/${id}/events`], ['GET', `/v1/clusters/${id}/jobs`],
    ] as Array<[string, string, unknown?]>) {
      const res = await intruder.send<{ code: string }>(method, path, body);
      assert.equal(res.status, 404, `${method} ${path}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.code, 'PCG_ERR_NOT_FOUND');
    }
    await lab.waitState(id, 'running');
    assert.equal(await lab.api.delete(`/v1/clusters/${id}`).then((r) => r.status), 202);
    await lab.waitState(id, 'deleted');
    assert.deepEqual(await lab.vms('private'), []);
  });
});
