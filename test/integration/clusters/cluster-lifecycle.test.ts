import { strict as assert } from 'node:assert';
import { createHash, X509Certificate } from 'node:crypto';
import { parse, parseAllDocuments } from 'yaml';
import { ClusterExecutor } from '../../../gateway/clusters/cluster-executor.js';
import { clusterFolderName, instanceUuidFor, vmNameFor } from '../../../gateway/clusters/node-identity.js';
import { systemClock } from '../../../proto/clock.js';
import type { PcgError } from '../../../proto/errors.js';
import type { ClusterSpec } from '../../../proto/schemas/jobs.js';
import { VimSession } from '../../../gateway/vsphere/vim-session.js';
import {
  census, clusterSpec, GuestAgent, job, MemoryCallJournal, nodeSpec, silentLog, testContext, TestReadiness, type CensusEntry,
} from '../../support/cluster-context.js';
import { Vcsim } from '../../support/vcsim-fixture.js';

describe('ClusterExecutor against vcsim: create, apply again, scale, delete', function () {
  this.timeout(120_000);
  let vcsim: Vcsim;
  let session: VimSession;
  let agent: GuestAgent;
  const readiness = new TestReadiness();
  const journal = new MemoryCallJournal();

  const executor = (): ClusterExecutor => new ClusterExecutor({
    vcenter: { session: () => Promise.resolve(session) }, clock: systemClock, log: silentLog, readyTimeoutMs: 20_000, cloneConcurrency: 4, ipPollMs: 50, clusterKeys: readiness,
  });
  const run = async (cluster: ClusterSpec, action: 'apply' | 'delete' = 'apply'): Promise<ReturnType<typeof testContext> & { nodes: Awaited<ReturnType<ClusterExecutor['execute']>>['nodes'] }> => {
    agent.expect(cluster);
    const context = testContext(job(cluster, action), { journal, readiness });
    const { nodes } = await executor().execute(context);
    return Object.assign(context, { nodes });
  };
  /** What a VM's userdata says of the cluster CA: the cert it writes (cp-0), the hashes it pins (joiners). */
  const caOf = (vm: CensusEntry): { cert?: string; key?: { permissions: string }; pins?: string[]; unsafe: boolean } => {
    const userdata = Buffer.from(vm.extra['guestinfo.userdata']!, 'base64').toString();
    const files = (parse(userdata) as { write_files: Array<{ path: string; permissions: string; content: string }> }).write_files;
    const kubeadm = parseAllDocuments(files.find((f) => f.path === '/etc/pcg/kubeadm.yaml')!.content)[0]!.toJS() as { discovery?: { bootstrapToken: { caCertHashes?: string[] } } };
    return {
      cert: files.find((f) => f.path === '/etc/kubernetes/pki/ca.crt')?.content, key: files.find((f) => f.path === '/etc/kubernetes/pki/ca.key'),
      pins: kubeadm.discovery?.bootstrapToken.caCertHashes, unsafe: userdata.includes('unsafeSkipCAVerification'),
    };
  };
  /** kubeadm's pin of a CA certificate, computed here from the certificate itself. */
  const pinOf = (certPem: string): string => `sha256:${createHash('sha256').update(new X509Certificate(certPem).publicKey.export({ type: 'spki', format: 'der' })).digest('hex')}`;
  const inFolder = async (cluster: ClusterSpec): Promise<CensusEntry[]> =>
    (await census(vcsim)).vms.filter((vm) => vm.folder === clusterFolderName(cluster)).sort((a, b) => a.name.localeCompare(b.name));

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

  const three = clusterSpec('cls_lifecycle001', 'alpha', [nodeSpec('cp-0'), nodeSpec('worker-0'), nodeSpec('worker-1')]);

  it('create: 1 control plane + 2 workers → exactly 3 VMs in the cluster folder, derived UUIDs, guestinfo, ready', async () => {
    const before = (await census(vcsim)).vms.length;
    const { nodes, events } = await run(three);
    const vms = await inFolder(three);
    assert.equal((await census(vcsim)).vms.length, before + 3);
    assert.deepEqual(vms.map((v) => v.name), ['cp-0', 'worker-0', 'worker-1'].map((n) => vmNameFor(three, n)).sort());
    for (const vm of vms) {
      const node = ['cp-0', 'worker-0', 'worker-1'].find((n) => vmNameFor(three, n) === vm.name)!;
      assert.equal(vm.instanceUuid, instanceUuidFor(three.clusterId, node));
      assert.equal(vm.powerState, 'poweredOn');
      assert.equal(vm.extra['guestinfo.metadata.encoding'], 'base64');
      assert.equal(vm.extra['guestinfo.userdata.encoding'], 'base64');
      const metadata = JSON.parse(Buffer.from(vm.extra['guestinfo.metadata']!, 'base64').toString()) as Record<string, unknown>;
      assert.deepEqual(metadata, { 'instance-id': vm.instanceUuid, 'local-hostname': vm.name });
      const userdata = Buffer.from(vm.extra['guestinfo.userdata']!, 'base64').toString();
      assert.match(userdata, /^#cloud-config\n/);
      assert.match(userdata, node === 'cp-0' ? /- kubeadm\n\s+- init/ : /- kubeadm\n\s+- join/);
    }
    assert.deepEqual(nodes.map((n) => [n.name, n.role, n.ready, n.instanceUuid]), [
      ['cp-0', 'control-plane', true, instanceUuidFor(three.clusterId, 'cp-0')],
      ['worker-0', 'worker', true, instanceUuidFor(three.clusterId, 'worker-0')],
      ['worker-1', 'worker', true, instanceUuidFor(three.clusterId, 'worker-1')],
    ]);
    assert.ok(nodes.every((n) => n.ip && /^10\.77\./.test(n.ip) && vms.some((v) => v.id === n.vm)));
    for (const step of ['clone', 'power-on', 'ip', 'ready']) {
      assert.deepEqual(events.filter((e) => e.step === step && e.node).map((e) => e.node).sort(), ['cp-0', 'worker-0', 'worker-1'], step);
    }
    // DHCP: the workers join cp-0 at the address it got, so cp-0 was built first.
    const cp0 = nodes[0]!.ip!;
    const worker = vms.find((v) => v.name === vmNameFor(three, 'worker-0'))!;
    assert.match(Buffer.from(worker.extra['guestinfo.userdata']!, 'base64').toString(), new RegExp(`apiServerEndpoint: ${cp0.replace(/\./g, '\\.')}:6443`));
    // cp-0 carries the CA the gateway made (key 0600); both workers pin that CA, none skips verification.
    const cpCa = caOf(vms.find((v) => v.name === vmNameFor(three, 'cp-0'))!);
    assert.ok(cpCa.cert && new X509Certificate(cpCa.cert).ca);
    assert.equal(cpCa.key?.permissions, '0600');
    for (const name of ['worker-0', 'worker-1']) {
      const ca = caOf(vms.find((v) => v.name === vmNameFor(three, name))!);
      assert.deepEqual([ca.pins, ca.cert, ca.key, ca.unsafe], [[pinOf(cpCa.cert)], undefined, undefined, false], name);
    }
    assert.deepEqual(readiness.casMade.filter((c) => c === three.clusterId), [three.clusterId]);
  });

  it('apply again: nothing new is cloned or powered, the same nodes come back', async () => {
    const writes = journal.writes.length;
    const first = (await inFolder(three)).map((v) => v.id);
    const { nodes, checkpoints } = await run(three);
    assert.deepEqual((await inFolder(three)).map((v) => v.id), first);
    assert.deepEqual(journal.writes.slice(writes), []);
    assert.deepEqual(checkpoints, []);
    assert.equal(nodes.length, 3);
  });

  it('scale workers 2 → 4 → 1: adds two, then removes the newest first', async () => {
    const four = { ...three, nodes: [...three.nodes, nodeSpec('worker-2'), nodeSpec('worker-3')] };
    await run(four);
    const five = await inFolder(three);
    assert.equal(five.length, 5);
    // Workers added by a later job pin the same CA as cp-0 (made by the first job, kept).
    const cpCert = caOf(five.find((v) => v.name === vmNameFor(three, 'cp-0'))!).cert!;
    for (const name of ['worker-2', 'worker-3']) assert.deepEqual(caOf(five.find((v) => v.name === vmNameFor(three, name))!).pins, [pinOf(cpCert)], name);
    assert.deepEqual(readiness.casMade.filter((c) => c === three.clusterId), [three.clusterId]);
    const one = { ...three, nodes: [nodeSpec('cp-0'), nodeSpec('worker-0')] };
    const { events, nodes } = await run(one);
    assert.deepEqual(events.filter((e) => e.step === 'removed').map((e) => e.node), ['worker-3', 'worker-2', 'worker-1']);
    assert.deepEqual((await inFolder(three)).map((v) => v.name), [vmNameFor(three, 'cp-0'), vmNameFor(three, 'worker-0')]);
    assert.deepEqual(nodes.map((n) => n.name), ['cp-0', 'worker-0']);
    assert.ok(['worker-1', 'worker-2', 'worker-3'].every((n) => readiness.forgotten.includes(n)));
  });

  it('a VM removed behind our back is reported missing, and apply (repair) recreates only it', async () => {
    const one = { ...three, nodes: [nodeSpec('cp-0'), nodeSpec('worker-0')] };
    const exec = executor();
    assert.deepEqual(await exec.missingNodes(one, new AbortController().signal), []);
    const victim = (await inFolder(three)).find((v) => v.name === vmNameFor(three, 'worker-0'))!;
    const ops = new (await import('../../../gateway/vsphere/vm-operations.js')).VmOperations(session);
    await ops.powerOff({ type: 'VirtualMachine', value: victim.id });
    await ops.destroy({ type: 'VirtualMachine', value: victim.id });
    assert.deepEqual(await exec.missingNodes(one, new AbortController().signal), ['worker-0']);
    const forgottenBefore = readiness.forgotten.length;
    const { events } = await run({ ...one });
    // The recreated VM is a new machine: it must phone home again, not inherit its predecessor's report.
    assert.deepEqual(readiness.forgotten.slice(forgottenBefore), ['worker-0']);
    assert.deepEqual(events.filter((e) => e.step === 'clone' && /^cloning/.test(e.message)).map((e) => e.node), ['worker-0']);
    assert.deepEqual(await exec.missingNodes(one, new AbortController().signal), []);
    assert.equal((await inFolder(three)).length, 2);
  });

  it('delete removes every VM and the folder; deleting again (already gone) succeeds', async () => {
    const { nodes } = await run(three, 'delete');
    assert.deepEqual(nodes, []);
    assert.ok(readiness.casForgotten.includes(three.clusterId), 'the deleted cluster\'s CA is dropped');
    assert.deepEqual(await inFolder(three), []);
    assert.ok(!(await census(vcsim)).folders.includes(clusterFolderName(three)));
    const again = await run(three, 'delete');
    assert.deepEqual(again.nodes, []);
    assert.deepEqual(journal.unresolved(three.clusterId), []);
  });

  it('a template that is a VM → PCG_ERR_TEMPLATE_INVALID; an unknown datastore → PCG_ERR_PLACEMENT_UNKNOWN naming it; nothing made', async () => {
    const before = await census(vcsim);
    const asVm = clusterSpec('cls_badtemplate01', 'beta', [nodeSpec('cp-0')], { template: 'DC0_H0_VM1' });
    const err = await run(asVm).then(() => undefined, (e: unknown) => e as PcgError);
    assert.equal(err?.code, 'PCG_ERR_TEMPLATE_INVALID');
    assert.match(err.message, /"DC0_H0_VM1" \(\/DC0\/vm\/DC0_H0_VM1\) is a VM, not a template/);
    const noDs = clusterSpec('cls_baddatastore1', 'gamma', [nodeSpec('cp-0')]);
    const err2 = await run({ ...noDs, placement: { ...noDs.placement, datastore: 'nope', network: 'nowhere' } }).then(() => undefined, (e: unknown) => e as PcgError);
    assert.equal(err2?.code, 'PCG_ERR_PLACEMENT_UNKNOWN');
    assert.match(err2.message, /datastore "nope" not found in datacenter DC0; network "nowhere" not found in datacenter DC0/);
    const after = await census(vcsim);
    assert.equal(after.vms.length, before.vms.length);
    assert.deepEqual(after.folders.sort(), before.folders.sort());
  });
});
