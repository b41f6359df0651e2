import { strict as assert } from 'node:assert';
import { ClusterExecutor } from '../../../gateway/clusters/cluster-executor.js';
import { clusterFolderName } from '../../../gateway/clusters/node-identity.js';
import { readInventory } from '../../../gateway/vsphere/inventory.js';
import { retrieveProperties, singleObjectSpec } from '../../../gateway/vsphere/property-collector.js';
import { el, text, toArray, xsiType, type MoRef } from '../../../gateway/vsphere/soap-xml.js';
import { VimSession } from '../../../gateway/vsphere/vim-session.js';
import { VmOperations } from '../../../gateway/vsphere/vm-operations.js';
import { systemClock } from '../../../proto/clock.js';
import type { ClusterSpec, NodeSpec } from '../../../proto/schemas/jobs.js';
import {
  census, clusterSpec, GuestAgent, job, MemoryCallJournal, nodeSpec, silentLog, testContext, TestReadiness, type RecordedEvent,
} from '../../support/cluster-context.js';
import { Vcsim } from '../../support/vcsim-fixture.js';

type Device = Record<string, unknown>;

/** What the test reads back itself (own session, own property query), never the executor's view. */
interface Hardware {
  readonly nicType: string;
  readonly backingType: string;
  readonly backing: Device;
  readonly diskKiB: number;
  readonly diskBytes: number;
}

const GIB_KIB = 1024 * 1024;
const ETHERNET = /^Virtual(E1000e?|Vmxnet\d?|PCNet32|SriovEthernetCard)$/;

/**
 * A clone's first NIC is put on the placement network and its first disk grown to diskGiB by the
 * clone's own deviceChange. vcsim's default template sits on DC0_DVPG0 with a 1 MiB disk; the
 * test moves it between networks and grows its disk, so each case needs the clone spec to act.
 */
describe('ClusterExecutor: clones land on the placement network with their disk grown', function () {
  this.timeout(120_000);
  let vcsim: Vcsim;
  let session: VimSession;
  let agent: GuestAgent;
  const readiness = new TestReadiness();
  let seq = 0;
  let template: MoRef;
  let vmFolder: MoRef;
  let pool: MoRef;
  const networks = new Map<string, MoRef>();
  let dvsUuid = '';

  async function devicesOf(vm: MoRef): Promise<Device[]> {
    const [content] = await retrieveProperties(session, [{ type: 'VirtualMachine', paths: ['config.hardware.device'] }], singleObjectSpec(vm));
    return toArray((content?.props['config.hardware.device'] as { VirtualDevice?: Device[] } | undefined)?.VirtualDevice);
  }
  async function hardwareOf(vm: MoRef): Promise<Hardware> {
    const devices = await devicesOf(vm);
    const nic = devices.find((d) => ETHERNET.test(xsiType(d) ?? ''))!;
    const disk = devices.find((d) => xsiType(d) === 'VirtualDisk')!;
    return {
      nicType: xsiType(nic)!, backingType: xsiType(nic.backing)!, backing: nic.backing as Device,
      diskKiB: Number(text(disk.capacityInKB)), diskBytes: Number(text(disk.capacityInBytes)),
    };
  }
  /**
   * A new template cloned from vcsim's with `deviceXml` as its deviceChange (a raw spec: test setup,
   * not the code under test; vCenter does not reconfigure a template, so it is made anew).
   */
  async function variantTemplate(name: string, deviceXml: (devices: Device[]) => string): Promise<string> {
    const spec = `<location><pool type="ResourcePool">${pool.value}</pool></location><template>true</template>`
      + `<config>${deviceXml(await devicesOf(template))}</config><powerOn>false</powerOn>`;
    const started = await session.call('CloneVM_Task', el('_this', template) + el('folder', vmFolder) + el('name', name) + `<spec>${spec}</spec>`);
    await new VmOperations(session).waitTask({ type: 'Task', value: text(started.returnval) });
    return name;
  }
  async function templateRef(name: string): Promise<MoRef> {
    return { type: 'VirtualMachine', value: (await census(vcsim)).vms.find((v) => v.name === name)!.id };
  }

  const executor = (): ClusterExecutor => new ClusterExecutor({
    vcenter: { session: () => Promise.resolve(session) }, clock: systemClock, log: silentLog, readyTimeoutMs: 20_000, cloneConcurrency: 4, ipPollMs: 50, clusterKeys: readiness,
  });
  async function create(network: string, diskGiB: number, templateName = 'DC0_H0_VM0'): Promise<{ cluster: ClusterSpec; events: RecordedEvent[]; vms: Map<string, MoRef> }> {
    const id = String(++seq).padStart(6, '0');
    const nodes: NodeSpec[] = [nodeSpec('cp-0', { diskGiB }), nodeSpec('worker-0', { diskGiB })]
      .map((n, i) => ({ ...n, address: { ip: `192.0.2.${20 + i}`, prefix: 24, gateway: '192.0.2.1', dns: [], searchDomains: [] } }));
    const base = clusterSpec(`cls_hardware${id}`, `hw${id}`, nodes);
    const cluster = { ...base, template: templateName, placement: { ...base.placement, network } };
    agent.expect(cluster);
    const context = testContext(job(cluster), { journal: new MemoryCallJournal(), readiness });
    const { nodes: built } = await executor().execute(context);
    const inFolder = (await census(vcsim)).vms.filter((v) => v.folder === clusterFolderName(cluster));
    assert.equal(inFolder.length, 2);
    return { cluster, events: context.events, vms: new Map(built.map((n) => [n.name, { type: 'VirtualMachine', value: n.vm }])) };
  }

  before(async () => {
    vcsim = await Vcsim.start({ template: 1 });
    session = await VimSession.login(vcsim.connection());
    agent = await GuestAgent.start(vcsim, readiness);
    const [tpl] = (await census(vcsim)).vms.filter((v) => v.name === 'DC0_H0_VM0');
    template = { type: 'VirtualMachine', value: tpl!.id };
    const inventory = await readInventory(session);
    vmFolder = { type: 'Folder', value: inventory.items.find((i) => i.kind === 'folder' && i.path === '/DC0/vm')!.id };
    pool = { type: 'ResourcePool', value: inventory.items.find((i) => i.kind === 'resourcepool' && i.path === '/DC0/host/DC0_C0/Resources')!.id };
    const objects = await session.renewable((scope) => import('../../../gateway/vsphere/property-collector.js').then(({ withContainerView, containerViewObjectSpec }) =>
      withContainerView(scope, scope.content.rootFolder, ['Network', 'DistributedVirtualSwitch'], (view) => retrieveProperties(scope, [
        { type: 'Network', paths: ['name'] }, { type: 'DistributedVirtualPortgroup', paths: ['name'] },
        { type: 'DistributedVirtualSwitch', paths: ['uuid'] }, { type: 'VmwareDistributedVirtualSwitch', paths: ['uuid'] },
      ], containerViewObjectSpec(view)))));
    for (const o of objects) if (o.props.name !== undefined) networks.set(text(o.props.name), o.obj);
    dvsUuid = text(objects.find((o) => o.props.uuid !== undefined)?.props.uuid);
    assert.ok(networks.has('VM Network') && networks.has('DC0_DVPG0') && dvsUuid);
  });
  after(async () => {
    await agent.stop();
    await session.close();
    await vcsim.stop();
  });

  it("standard portgroup: the template's NIC is on DC0_DVPG0, every clone's is on 'VM Network'", async () => {
    assert.equal((await hardwareOf(template)).backingType, 'VirtualEthernetCardDistributedVirtualPortBackingInfo');
    const { vms } = await create('VM Network', 20);
    for (const [node, vm] of vms) {
      const hw = await hardwareOf(vm);
      assert.equal(hw.backingType, 'VirtualEthernetCardNetworkBackingInfo', node);
      assert.equal(text(hw.backing.deviceName), 'VM Network', node);
      assert.deepEqual({ type: (hw.backing.network as { '@_type': string })['@_type'], value: text(hw.backing.network) }, networks.get('VM Network'), node);
    }
  });

  it("the first disk is grown from the template's 1 MiB to diskGiB (KB and bytes); the template keeps its own", async () => {
    const templateDisk = (await hardwareOf(template)).diskKiB;
    assert.equal(templateDisk, 1024);
    const { vms, events } = await create('DC0_DVPG0', 25);
    for (const [node, vm] of vms) {
      const hw = await hardwareOf(vm);
      assert.deepEqual([hw.diskKiB, hw.diskBytes], [25 * GIB_KIB, 25 * GIB_KIB * 1024], node);
    }
    assert.equal((await hardwareOf(template)).diskKiB, templateDisk);
    assert.deepEqual(events.filter((e) => e.level === 'warn'), []);
  });

  it("distributed portgroup: the template's NIC moved to 'VM Network', every clone's is on DC0_DVPG0 by switch UUID and portgroup key", async () => {
    const vmNetwork = networks.get('VM Network')!;
    const onVmNetwork = await variantTemplate('tpl-vm-network', (devices) => {
      const nic = devices.find((d) => ETHERNET.test(xsiType(d) ?? ''))!;
      return `<deviceChange><operation>edit</operation><device xsi:type="${xsiType(nic)}"><key>${text(nic.key)}</key>`
        + `<deviceInfo><label>ethernet-0</label><summary>VM Network</summary></deviceInfo>`
        + `<backing xsi:type="VirtualEthernetCardNetworkBackingInfo"><deviceName>VM Network</deviceName><network type="Network">${vmNetwork.value}</network></backing>`
        + `<controllerKey>${text(nic.controllerKey)}</controllerKey><unitNumber>${text(nic.unitNumber)}</unitNumber><macAddress>${text(nic.macAddress)}</macAddress></device></deviceChange>`;
    });
    assert.equal((await hardwareOf(await templateRef(onVmNetwork))).backingType, 'VirtualEthernetCardNetworkBackingInfo');
    const { vms } = await create('DC0_DVPG0', 20, onVmNetwork);
    for (const [node, vm] of vms) {
      const hw = await hardwareOf(vm);
      assert.equal(hw.backingType, 'VirtualEthernetCardDistributedVirtualPortBackingInfo', node);
      const port = hw.backing.port as Device;
      assert.deepEqual([text(port.switchUuid), text(port.portgroupKey)], [dvsUuid, networks.get('DC0_DVPG0')!.value], node);
      assert.equal(hw.diskKiB, 20 * GIB_KIB, node);
    }
  });

  it('a template disk larger than diskGiB is kept, never shrunk, with a warn event per node', async () => {
    const bigDisk = await variantTemplate('tpl-big-disk', (devices) => {
      const disk = devices.find((d) => xsiType(d) === 'VirtualDisk')!;
      const backing = disk.backing as Device;
      return `<deviceChange><operation>edit</operation><device xsi:type="VirtualDisk"><key>${text(disk.key)}</key>`
        + `<deviceInfo><label>disk</label><summary>disk</summary></deviceInfo>`
        + `<backing xsi:type="VirtualDiskFlatVer2BackingInfo"><fileName>${text(backing.fileName)}</fileName><diskMode>persistent</diskMode><thinProvisioned>true</thinProvisioned></backing>`
        + `<controllerKey>${text(disk.controllerKey)}</controllerKey><unitNumber>${text(disk.unitNumber)}</unitNumber><capacityInKB>${40 * GIB_KIB}</capacityInKB></device></deviceChange>`;
    });
    assert.equal((await hardwareOf(await templateRef(bigDisk))).diskKiB, 40 * GIB_KIB);
    const { vms, events } = await create('DC0_DVPG0', 20, bigDisk);
    assert.deepEqual(events.filter((e) => e.level === 'warn').map((e) => [e.node, e.message]).sort(), ['cp-0', 'worker-0'].map((n) => [n, 'template disk of 40 GiB is larger than the 20 GiB asked for; kept (a disk is never shrunk)']));
    for (const [node, vm] of vms) assert.equal((await hardwareOf(vm)).diskKiB, 40 * GIB_KIB, node);
  });
});
