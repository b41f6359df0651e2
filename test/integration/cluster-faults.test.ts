import { strict as assert } from 'node:assert';
import { ClusterLab } from '../support/cluster-lab.js';
import { waitFor } from '../support/wait-for.js';

/**
 * Exactly once, whatever crashes: the gateway is killed (SIGKILL, by its own failpoint, at an exact
 * step between two vSphere effects) or the relay is killed mid-job, then restarted; the cluster
 * must end with exactly its VMs — counted by the test's own vcsim query — and one job.
 */
describe('cluster jobs under kill -9 (gateway at each step, relay mid-job)', function () {
  this.timeout(300_000);
  let lab: ClusterLab;
  let profileId: string;

  before(async () => {
    lab = await ClusterLab.start();
    profileId = await lab.createProfile();
  });
  after(async () => lab?.close());

  async function gatewayOnline(): Promise<void> {
    await waitFor('gateway online', async () => (await lab.api.get<{ status: string }>(`/v1/gateways/${lab.gatewayId}`)).body.status === 'online', 20_000);
  }

  // After the intent is journaled (no call made), after the clone was issued (task in flight, not
  // journaled as done), after it finished, and after power-on: each a different resolution.
  for (const failpoint of ['clone.intent', 'clone.issued', 'clone.done', 'power-on.done']) {
    it(`gateway killed at ${failpoint}, restarted: exactly the cluster's VMs, one job`, async () => {
      await lab.restartGateway({ PCG_FAILPOINT: failpoint });
      await gatewayOnline();
      const name = `kill-${failpoint.replace('.', '-')}`;
      const created = await lab.createCluster(name, profileId, { workers: 1 });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      await waitFor(`gateway dies at ${failpoint}`, () => lab.gateway.signal === 'SIGKILL', 30_000);

      await lab.restartGateway();
      const running = await lab.waitState(created.body.id, 'running');
      assert.deepEqual(running.nodes.map((n) => [n.name, n.state, n.ready]), [['cp-0', 'present', true], ['worker-0', 'present', true]]);
      const vms = await lab.vms(name);
      assert.equal(vms.length, 2, JSON.stringify(vms));
      assert.deepEqual(vms.map((vm) => vm.id).sort(), running.nodes.map((n) => n.vm).sort());
      const jobs = await lab.jobs(created.body.id);
      assert.deepEqual(jobs.map((j) => [j.kind, j.state]), [['create', 'succeeded']]);
      const runs = (await lab.events(created.body.id)).filter((e) => e.step === 'job' && e.seq !== null).map((e) => e.message);
      assert.deepEqual(runs, ['started (attempt 1)', 'resumed after a gateway restart (attempt 1)']);

      assert.equal((await lab.api.delete(`/v1/clusters/${created.body.id}`)).status, 202);
      await lab.waitState(created.body.id, 'deleted');
      assert.deepEqual(await lab.vms(name), []);
    });
  }

  it('relay killed mid-job and restarted: the job completes once (re-offered, the gateway answers it is running)', async () => {
    await lab.restartGateway();
    await gatewayOnline();
    const created = await lab.createCluster('relay-crash', profileId, { workers: 2 });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id = created.body.id;
    await waitFor('job running', async () => (await lab.cluster(id)).latestJob?.state === 'running', 30_000, 50);
    await lab.crashRelay();

    const running = await lab.waitState(id, 'running');
    assert.equal(running.nodes.filter((n) => n.ready).length, 3);
    assert.equal((await lab.vms('relay-crash')).length, 3);
    assert.deepEqual((await lab.jobs(id)).map((j) => [j.kind, j.state]), [['create', 'succeeded']]);
    const events = await lab.events(id);
    assert.deepEqual(events.filter((e) => e.step === 'job' && e.seq !== null).map((e) => e.message), ['started (attempt 1)'], 'executed once');
    const fromGateway = events.filter((e) => e.seq !== null);
    assert.equal(new Set(fromGateway.map((e) => e.seq)).size, fromGateway.length, 'no event stored twice');
    assert.deepEqual(fromGateway.map((e) => e.seq), fromGateway.map((_, i) => i + 1), 'every event, in order');
  });
});
