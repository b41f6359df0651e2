import { strict as assert } from 'node:assert';
import { waitFor } from '../../support/wait-for.js';
import { ClusterExecutor } from '../../../gateway/clusters/cluster-executor.js';
import { VimSession } from '../../../gateway/vsphere/vim-session.js';
import { systemClock } from '../../../proto/clock.js';
import { clusterSpec, GuestAgent, job, MemoryCallJournal, nodeSpec, silentLog, testContext, TestReadiness } from '../../support/cluster-context.js';
import { Vcsim } from '../../support/vcsim-fixture.js';
import { checkElementOrder, type RecordedRequest } from '../vsphere/vim-order-checker.js';

/**
 * vSphere requests of a create, counted per node for 3 and for 12 nodes: one inventory read per
 * job, never per node, so the per-node count must not grow with the cluster. Every body sent is
 * also checked against govmomi's vim25 types (a real vCenter rejects out-of-order elements).
 */
describe('ClusterExecutor: vSphere requests per node, and their element order', function () {
  this.timeout(120_000);
  let vcsim: Vcsim;
  let agent: GuestAgent;
  const readiness = new TestReadiness();
  const recorded: RecordedRequest[] = [];
  const perNode = new Map<number, number>();

  before(async () => {
    vcsim = await Vcsim.start({ template: 1 });
    agent = await GuestAgent.start(vcsim, readiness, 20);
  });
  after(async () => {
    await agent.stop();
    await vcsim.stop();
  });

  async function counted(size: number, withDelete: boolean, suffix = ''): Promise<Map<string, number>> {
    const methods = new Map<string, number>();
    let counting = false;
    const session = await VimSession.login({
      ...vcsim.connection(), onRequest: (method, body) => {
        recorded.push({ name: `${recorded.length} ${method}`, body });
        if (counting) methods.set(method, (methods.get(method) ?? 0) + 1);
        // The template's device list: read with the placement, once per job.
        if (counting && body.includes('<pathSet>config.hardware.device</pathSet>')) methods.set('read devices', (methods.get('read devices') ?? 0) + 1);
      },
    });
    try {
      const workers = Array.from({ length: size - 1 }, (_, i) => nodeSpec(`worker-${i}`));
      // Static addresses: every clone starts at once (no wait for cp-0's DHCP address).
      const nodes = [nodeSpec('cp-0'), ...workers].map((n, i) => ({ ...n, address: { ip: `192.0.2.${10 + i}`, prefix: 24, gateway: '192.0.2.1', dns: ['192.0.2.53'], searchDomains: ['example.test'] } }));
      const cluster = clusterSpec(`cls_requests${String(size).padStart(4, '0')}${suffix}`, `req-${size}${suffix}`, nodes);
      agent.expect(cluster);
      const executor = new ClusterExecutor({ vcenter: { session: () => Promise.resolve(session) }, clock: systemClock, log: silentLog, readyTimeoutMs: 20_000, cloneConcurrency: 4, ipPollMs: 200, clusterKeys: readiness });
      counting = true;
      const { nodes: built } = await executor.execute(testContext(job(cluster), { journal: new MemoryCallJournal(), readiness }));
      counting = false;
      assert.equal(built.length, size);
      if (withDelete) await executor.execute(testContext(job(cluster, 'delete'), { journal: new MemoryCallJournal(), readiness }));
      return methods;
    } finally {
      await session.close();
    }
  }

  for (const size of [3, 12]) {
    it(`create of ${size} nodes: requests per node`, async () => {
      const methods = await counted(size, size === 3);
      const total = [...methods].filter(([m]) => m !== 'read devices').reduce((a, [, n]) => a + n, 0);
      perNode.set(size, total / size);
      console.log(`      ${size} nodes: ${total} requests, ${(total / size).toFixed(2)} per node; ${JSON.stringify(Object.fromEntries([...methods].sort()))}`);
      // One inventory read per job (CreateContainerView over the root folder + one for the cluster folder).
      assert.equal(methods.get('CreateContainerView'), 2);
      assert.equal(methods.get('CloneVM_Task'), size);
      assert.equal(methods.get('read devices'), 1);
      assert.equal(methods.get('PowerOnVM_Task'), size);
    });
  }

  it('12 nodes waiting to phone home at once: no MaxListenersExceededWarning (the waits share the run signal)', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error): number => warnings.push(`${w.name}: ${w.message}`);
    process.on('warning', onWarning);
    readiness.autoReady = false;
    try {
      const counting = counted(12, false, 'warn');
      const cluster = 'cls_requests0012warn';
      await waitFor('12 nodes waiting', () => readiness.waiting.filter((k) => k.startsWith(`${cluster}/`)).length === 12, 30_000);
      for (const key of readiness.waiting) readiness.report(cluster, key.slice(cluster.length + 1));
      await counting;
      await new Promise((r) => setImmediate(r));
    } finally {
      readiness.autoReady = true;
      process.off('warning', onWarning);
    }
    assert.deepEqual(warnings.filter((w) => w.startsWith('MaxListenersExceededWarning')), []);
  });

  it('the per-node count does not grow with the cluster (12 nodes ≤ 3 nodes)', () => {
    assert.ok(perNode.get(12)! <= perNode.get(3)!, `per node: 3 → ${perNode.get(3)}, 12 → ${perNode.get(12)}`);
  });

  it('every body sent (create and delete) passes the vim25 element-order checker', () => {
    const { exitCode, verdicts } = checkElementOrder(recorded);
    assert.deepEqual(verdicts.filter((v) => v.errors.length > 0), []);
    assert.equal(exitCode, 0);
    const sent = new Set(recorded.map((r) => r.name.split(' ')[1]));
    // The bodies checked include clones that edit devices (NIC backing, disk size).
    assert.ok(recorded.some((r) => r.name.endsWith(' CloneVM_Task') && r.body.includes('<deviceChange xsi:type="VirtualDeviceConfigSpec"><operation>edit</operation>')));
    for (const m of ['CreateFolder', 'CloneVM_Task', 'PowerOnVM_Task', 'PowerOffVM_Task', 'Destroy_Task', 'FindByUuid', 'RetrievePropertiesEx']) assert.ok(sent.has(m), m);
  });
});
