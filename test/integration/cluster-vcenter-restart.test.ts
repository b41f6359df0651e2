import { strict as assert } from 'node:assert';
import { CloudInitNode } from '../support/cloud-init-node.js';
import { ClusterLab } from '../support/cluster-lab.js';
import { waitFor } from '../support/wait-for.js';

/**
 * vCenter restarts while a job runs: vcsim is stopped right after the first clone and started
 * again on the same address with the same certificate (the gateway's pinned thumbprint still
 * matches) and a fresh inventory: the template is back, the cluster's folder and VMs are gone.
 * The job must not fail: it retries from the start (a warn event says so), logs in again, rebuilds
 * what vanished, and succeeds once; the restarted vcsim then holds exactly the cluster's VMs,
 * counted by the test's own query.
 */
describe('cluster job while vCenter restarts (vcsim stopped and started mid-job)', function () {
  this.timeout(300_000);
  let lab: ClusterLab;
  let profileId: string;
  let nodes: CloudInitNode | undefined;

  before(async () => {
    // Short delays: the restart takes seconds, and the test should not wait out the 5 s default.
    lab = await ClusterLab.start({ gatewayArgs: ['--jobs-retry-initial', '1s', '--jobs-retry-max', '4s'] });
    profileId = await lab.createProfile();
  });
  after(async () => {
    await nodes?.close();
    await lab?.close();
  });

  it('the job retries after the restart, reports it, and ends succeeded with exactly the cluster\'s VMs', async () => {
    const { thumbprint, url } = lab.vcsim;
    const created = await lab.createCluster('vc-restart', profileId, { workers: 1 });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id = created.body.id;
    await waitFor('first clone', async () => (await lab.events(id)).some((e) => e.step === 'clone' && e.message.startsWith('cloning ')), 60_000, 50);

    // Down longer than the address poll (2 s): calls meet a refused connection, not only a lost session.
    // The node player's VM records speak of the old inventory (a restarted vcsim hands out the
    // same VM ids again): a fresh player for the new one, logged in once vcsim is back.
    await lab.nodes.close();
    await lab.vcsim.restart({ downMs: 4_000 });
    assert.deepEqual([lab.vcsim.starts, lab.vcsim.url, lab.vcsim.thumbprint], [2, url, thumbprint]);
    nodes = await CloudInitNode.start({ vcenter: lab.vcsim.connection(), pollMs: 100, secBetweenTries: 1 });

    const running = await lab.waitState(id, 'running', 180_000);
    assert.deepEqual(running.nodes.map((n) => [n.name, n.state, n.ready]), [['cp-0', 'present', true], ['worker-0', 'present', true]]);
    const vms = await lab.vms('vc-restart');
    assert.equal(vms.length, 2, JSON.stringify(vms));
    assert.deepEqual(vms.map((vm) => vm.id).sort(), running.nodes.map((n) => n.vm).sort());
    assert.deepEqual(vms.map((vm) => vm.powerState), ['poweredOn', 'poweredOn']);
    assert.deepEqual((await lab.jobs(id)).map((j) => [j.kind, j.state]), [['create', 'succeeded']]);

    const events = (await lab.events(id)).filter((e) => e.seq !== null);
    assert.deepEqual(events.filter((e) => e.step === 'job').map((e) => e.message), ['started (attempt 1)'], 'one job, executed by one runner');
    const retries = events.filter((e) => e.step === 'retry');
    assert.ok(retries.length >= 1, 'at least one retry');
    for (const [i, retry] of retries.entries()) {
      assert.equal(retry.level, 'warn');
      assert.match(retry.message, new RegExp(`^(vCenter is unreachable \\(cannot reach ${lab.vcsim.host.replace(/\./g, '\\.')} \\((ECONNREFUSED|ECONNRESET|UND_ERR_SOCKET)\\)\\)|the vCenter session was lost.*); retry ${i + 1} of 5 runs the job again from the start in \\d+ s \\(at \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z\\)$`));
    }
    // The retried execution placed and cloned again in the new inventory, after the last retry event.
    const last = events.indexOf(retries.at(-1)!);
    assert.deepEqual(events.slice(last + 1).filter((e) => e.step === 'clone').map((e) => e.node).sort(), ['cp-0', 'worker-0']);
    assert.equal(events.at(-1)!.message, '2 node(s) running');
    // The gateway's one vCenter session was logged in again on the restarted vcsim, not replaced.
    const logs = lab.gateway.logLines;
    assert.equal(logs.filter((l) => l.msg === 'vCenter no longer knew the session (restarted, or ended it); logged in again').length, 1, 'one re-login');
    assert.equal(logs.filter((l) => l.msg === 'vCenter session opened').length, 1, 'one session');
    const resolved = logs.filter((l) => l.msg === 'open call of an earlier run ended with a fault').map((l) => `${String(l.op)} ${String(l.task)} ${String(l.fault)}`);
    console.log(`      open calls of the first execution resolved: ${resolved.join(', ') || 'none'}`);
    console.log(`      events: ${events.map((e) => `[${e.level}] ${e.step}${e.node ? `/${e.node}` : ''}: ${e.message}`).join('\n              ')}`);

    assert.equal((await lab.api.delete(`/v1/clusters/${id}`)).status, 202);
    await lab.waitState(id, 'deleted');
    assert.deepEqual(await lab.vms('vc-restart'), []);
  });
});
