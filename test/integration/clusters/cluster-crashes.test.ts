import { strict as assert } from 'node:assert';
import { ClusterExecutor } from '../../../gateway/clusters/cluster-executor.js';
import { clusterSecrets } from '../../../gateway/clusters/cluster-secrets.js';
import { nodeGuestinfo } from '../../../gateway/clusters/node-guestinfo.js';
import { clusterFolderName, instanceUuidFor, nodeIdentity, vmNameFor } from '../../../gateway/clusters/node-identity.js';
import { findByInventoryPath } from '../../../gateway/vsphere/finder.js';
import { VimFault } from '../../../gateway/vsphere/vim-fault.js';
import { VimSession } from '../../../gateway/vsphere/vim-session.js';
import { VmOperations } from '../../../gateway/vsphere/vm-operations.js';
import { systemClock } from '../../../proto/clock.js';
import type { PcgError } from '../../../proto/errors.js';
import type { ClusterSpec } from '../../../proto/schemas/jobs.js';
import {
  census, clusterSpec, GuestAgent, job, MemoryCallJournal, nodeSpec, silentLog, SimulatedCrash, testContext, TestReadiness, type CensusEntry,
} from '../../support/cluster-context.js';
import { Vcsim } from '../../support/vcsim-fixture.js';

/**
 * Exactly once, whatever crashes: a run stops at a checkpoint (as a kill -9 there would leave the
 * journal), a fresh executor runs the job again, and the test counts VMs with its own query.
 */
describe('ClusterExecutor: crashes at each step, then a fresh run', function () {
  this.timeout(120_000);
  let vcsim: Vcsim;
  let session: VimSession;
  let agent: GuestAgent;
  const readiness = new TestReadiness();
  let seq = 0;

  const executor = (s: VimSession = session): ClusterExecutor => new ClusterExecutor({
    vcenter: { session: () => Promise.resolve(s) }, clock: systemClock, log: silentLog, readyTimeoutMs: 20_000, cloneConcurrency: 2, ipPollMs: 50, clusterKeys: readiness,
  });
  const fresh = (name: string, nodes = [nodeSpec('cp-0'), nodeSpec('worker-0'), nodeSpec('worker-1')]): ClusterSpec => {
    const cluster = clusterSpec(`cls_crash${String(++seq).padStart(7, '0')}`, name, nodes);
    agent.expect(cluster);
    return cluster;
  };
  /** The guestinfo the executor writes: a VM another (crashed) run cloned carries it too. */
  const guestinfoOf = async (cluster: ClusterSpec, node: string): Promise<Record<string, string>> => nodeGuestinfo({
    cluster, identity: nodeIdentity(cluster, cluster.nodes.find((n) => n.name === node)!), init: node === 'cp-0', joinAddress: '192.0.2.20',
    endpoint: readiness.endpoint, nodeToken: readiness.tokenFor(cluster.clusterId, node), secrets: await clusterSecrets(cluster.clusterId, readiness),
  });
  const inFolder = async (cluster: ClusterSpec): Promise<CensusEntry[]> =>
    (await census(vcsim)).vms.filter((vm) => vm.folder === clusterFolderName(cluster)).sort((a, b) => a.name.localeCompare(b.name));
  const expectExactly = async (cluster: ClusterSpec): Promise<void> => {
    const all = (await census(vcsim)).vms;
    for (const node of cluster.nodes) {
      const named = all.filter((vm) => vm.name === vmNameFor(cluster, node.name));
      assert.equal(named.length, 1, `one VM named for ${node.name}`);
      assert.equal(named[0]!.instanceUuid, instanceUuidFor(cluster.clusterId, node.name));
      assert.equal(named[0]!.powerState, 'poweredOn');
    }
    assert.equal((await inFolder(cluster)).length, cluster.nodes.length);
  };

  before(async () => {
    vcsim = await Vcsim.start({ template: 1 });
    session = await VimSession.login(vcsim.connection());
    agent = await GuestAgent.start(vcsim, readiness);
  });
  after(async () => {
    await agent.stop();
    await session.close();
    await vcsim.stop();
  });

  for (const [checkpoint, nth] of [['create-folder.intent', 1], ['clone.intent', 1], ['clone.issued', 1], ['clone.issued', 2], ['clone.done', 2], ['power-on.intent', 1], ['power-on.issued', 3], ['power-on.done', 1]] as const) {
    it(`crash at ${checkpoint} (#${nth}) → a fresh executor yields exactly the 3 VMs`, async () => {
      const cluster = fresh(`crash-${checkpoint.replace('.', '-')}-${nth}`);
      const journal = new MemoryCallJournal();
      const crashed = await executor().execute(testContext(job(cluster), { journal, readiness, crashAt: { checkpoint, nth } })).then(() => undefined, (e: unknown) => e);
      assert.ok(crashed instanceof SimulatedCrash || (crashed as PcgError).cause instanceof SimulatedCrash, String(crashed));
      if (!checkpoint.endsWith('.done')) assert.ok(journal.unresolved(cluster.clusterId).length >= 1, 'the crash left an open call');
      const { nodes } = await executor().execute(testContext(job(cluster), { journal, readiness }));
      assert.equal(nodes.length, 3);
      await expectExactly(cluster);
      assert.deepEqual(journal.unresolved(cluster.clusterId), []);
    });
  }

  it('crash after clone.intent while the clone did reach vCenter (task never journaled): found by name, not cloned twice', async () => {
    const cluster = fresh('crash-inflight', [nodeSpec('cp-0', { address: { ip: '192.0.2.20', prefix: 24, gateway: '192.0.2.1', dns: ['192.0.2.53'], searchDomains: [] } })]);
    const journal = new MemoryCallJournal();
    // The crashed process had sent its CloneVM_Task: play it by cloning the same name in the folder.
    const crashed = await executor().execute(testContext(job(cluster), { journal, readiness, crashAt: { checkpoint: 'clone.intent' } })).then(() => undefined, (e: unknown) => e);
    assert.ok(crashed instanceof SimulatedCrash || (crashed as PcgError).cause instanceof SimulatedCrash, String(crashed));
    const ops = new VmOperations(session);
    const folder = (await findByInventoryPath(session, `/DC0/vm/${clusterFolderName(cluster)}`))!;
    const template = (await findByInventoryPath(session, '/DC0/vm/DC0_H0_VM0'))!;
    const pool = (await findByInventoryPath(session, '/DC0/host/DC0_C0/Resources'))!;
    await ops.cloneVm(template, folder, vmNameFor(cluster, 'cp-0'), { location: { folder, pool }, config: { instanceUuid: instanceUuidFor(cluster.clusterId, 'cp-0'), extraConfig: await guestinfoOf(cluster, 'cp-0') } });
    const second = testContext(job(cluster), { journal, readiness });
    await executor().execute(second);
    assert.equal(second.checkpoints.filter((c) => c.startsWith('clone.')).length, 0);
    assert.equal(journal.get(cluster.clusterId, 'cp-0', 'clone')?.state, 'done');
    await expectExactly(cluster);
  });

  // vcsim 0.24 (Debian's) accepts a second clone of the same name into the same folder, where
  // vCenter refuses it with DuplicateName: this session plays vCenter there. Its first
  // CloneVM_Task of worker-0 is raced by a clone of the same name (another process's, made after
  // the executor's lookup), and the executor's own clone is then answered DuplicateName.
  it('a clone of a name that appears after the lookup (DuplicateName) is resolved, not duplicated', async () => {
    const cluster = fresh('dup-race', [nodeSpec('cp-0'), nodeSpec('worker-0')]);
    const racing = await VimSession.login(vcsim.connection());
    const original = racing.call.bind(racing);
    let raced = false;
    racing.call = async (method: string, args: string) => {
      if (method === 'CloneVM_Task' && !raced && args.includes(`<name>${vmNameFor(cluster, 'worker-0')}</name>`)) {
        raced = true;
        const folder = (await findByInventoryPath(session, `/DC0/vm/${clusterFolderName(cluster)}`))!;
        const pool = (await findByInventoryPath(session, '/DC0/host/DC0_C0/Resources'))!;
        await new VmOperations(session).cloneVm((await findByInventoryPath(session, '/DC0/vm/DC0_H0_VM0'))!, folder, vmNameFor(cluster, 'worker-0'),
          { location: { folder, pool }, config: { instanceUuid: instanceUuidFor(cluster.clusterId, 'worker-0'), extraConfig: await guestinfoOf(cluster, 'worker-0') } });
        throw new VimFault('DuplicateName', `The name '${vmNameFor(cluster, 'worker-0')}' already exists.`, {}, method);
      }
      return original(method, args);
    };
    try {
      const context = testContext(job(cluster), { journal: new MemoryCallJournal(), readiness });
      await executor(racing).execute(context);
      assert.ok(raced);
      assert.ok(context.events.some((e) => e.node === 'worker-0' && /already exists/.test(e.message)), JSON.stringify(context.events));
      await expectExactly(cluster);
    } finally {
      await racing.close();
    }
  });

  it('delete after a crash mid-create (clone issued): no orphan VM, folder gone', async () => {
    const cluster = fresh('delete-mid');
    const journal = new MemoryCallJournal();
    await executor().execute(testContext(job(cluster), { journal, readiness, crashAt: { checkpoint: 'clone.issued', nth: 2 } })).catch(() => undefined);
    assert.ok((await inFolder(cluster)).length >= 1);
    const context = testContext(job(cluster, 'delete'), { journal, readiness });
    await executor().execute(context);
    const all = await census(vcsim);
    assert.deepEqual(all.vms.filter((vm) => vm.name.endsWith(vmNameFor(cluster, '').slice(-7))), []);
    assert.ok(!all.folders.includes(clusterFolderName(cluster)));
    assert.deepEqual(journal.unresolved(cluster.clusterId), []);
  });

  it('a node that never phones home fails the job with PCG_ERR_NODE_TIMEOUT naming it', async () => {
    const cluster = fresh('silent', [nodeSpec('cp-0')]);
    agent.tokens.delete(readiness.tokenFor(cluster.clusterId, 'cp-0'));
    const exec = new ClusterExecutor({ vcenter: { session: () => Promise.resolve(session) }, clock: systemClock, log: silentLog, readyTimeoutMs: 300, cloneConcurrency: 1, ipPollMs: 50, clusterKeys: readiness });
    const err = await exec.execute(testContext(job(cluster), { journal: new MemoryCallJournal(), readiness })).then(() => undefined, (e: unknown) => e as PcgError);
    assert.equal(err?.code, 'PCG_ERR_NODE_TIMEOUT');
    assert.match(err.message, new RegExp(`node cp-0 \\(VM ${vmNameFor(cluster, 'cp-0')}\\) did not report ready within 300 ms`));
  });

  it('a cancelled job ends with PCG_ERR_JOB_CANCELLED and leaves its open call for the next run', async () => {
    const cluster = fresh('cancelled', [nodeSpec('cp-0')]);
    const journal = new MemoryCallJournal();
    const controller = new AbortController();
    const context = testContext(job(cluster), { journal, readiness, signal: controller.signal, onCheckpoint: (name) => name === 'clone.done' && controller.abort() });
    const err = await executor().execute(context).then(() => undefined, (e: unknown) => e as PcgError);
    assert.equal(err?.code, 'PCG_ERR_JOB_CANCELLED');
    assert.ok(!context.checkpoints.includes('power-on.intent'));
    await executor().execute(testContext(job(cluster), { journal, readiness }));
    await expectExactly(cluster);
  });
});
