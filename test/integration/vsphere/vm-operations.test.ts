import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import type { PcgError } from '../../../proto/errors.js';
import { readInventory, type Inventory } from '../../../gateway/vsphere/inventory.js';
import { retrieveProperties, singleObjectSpec } from '../../../gateway/vsphere/property-collector.js';
import { text, toArray, type MoRef } from '../../../gateway/vsphere/soap-xml.js';
import { VimFault } from '../../../gateway/vsphere/vim-fault.js';
import { VimSession } from '../../../gateway/vsphere/vim-session.js';
import { VmOperations } from '../../../gateway/vsphere/vm-operations.js';
import { Vcsim } from '../../support/vcsim-fixture.js';

describe('vSphere VM operations against vcsim', function () {
  this.timeout(60_000);
  let vcsim: Vcsim;
  let session: VimSession;
  let ops: VmOperations;
  let inventory: Inventory;
  const ref = (type: string, id: string): MoRef => ({ type, value: id });

  before(async () => {
    vcsim = await Vcsim.start({ vm: 2, template: 1 });
    session = await VimSession.login(vcsim.connection());
    ops = new VmOperations(session);
    inventory = await readInventory(session);
  });
  after(async () => {
    await session.close();
    await vcsim.stop();
  });

  async function vmFacts(vm: MoRef): Promise<{ instanceUuid: string; memoryMB: number; powerState: string; extra: Record<string, string> }> {
    const [content] = await retrieveProperties(session, [{ type: 'VirtualMachine', paths: ['config.instanceUuid', 'config.hardware.memoryMB', 'runtime.powerState', 'config.extraConfig'] }], singleObjectSpec(vm));
    const props = content!.props;
    const extra = Object.fromEntries(toArray((props['config.extraConfig'] as { OptionValue?: unknown } | undefined)?.OptionValue as Array<{ key: unknown; value: unknown }>).map((o) => [text(o.key), text(o.value)]));
    return { instanceUuid: text(props['config.instanceUuid']), memoryMB: Number(text(props['config.hardware.memoryMB'])), powerState: text(props['runtime.powerState']), extra };
  }

  it('clone → find by instance UUID → reconfigure → power on → power off → destroy', async () => {
    const template = inventory.items.find((i) => i.kind === 'template')!;
    const vmFolder = inventory.items.find((i) => i.kind === 'folder' && i.datacenter === template.datacenter)!;
    const pool = inventory.items.find((i) => i.kind === 'resourcepool' && i.datacenter === template.datacenter)!;
    const datastore = inventory.items.find((i) => i.kind === 'datastore' && i.datacenter === template.datacenter)!;
    const folder = await ops.createFolder(ref('Folder', vmFolder.id), `pcg-${Date.now()}`);
    const instanceUuid = randomUUID();
    const metadata = Buffer.from('{"local-hostname":"node-0"}').toString('base64');
    const progress: number[] = [];
    const vm = await ops.cloneVm(ref('VirtualMachine', template.id), folder, 'node-0', {
      location: { folder, pool: ref('ResourcePool', pool.id), datastore: ref('Datastore', datastore.id) },
      config: { instanceUuid, numCPUs: 2, memoryMB: 2048, extraConfig: { 'guestinfo.metadata': metadata, 'guestinfo.metadata.encoding': 'base64' } },
    }, { onProgress: (p) => progress.push(p) });
    assert.equal(vm.type, 'VirtualMachine');
    assert.deepEqual(await ops.findByInstanceUuid(instanceUuid), vm);
    const cloned = await vmFacts(vm);
    assert.equal(cloned.instanceUuid, instanceUuid);
    assert.equal(cloned.extra['guestinfo.metadata'], metadata);
    assert.equal(cloned.powerState, 'poweredOff');

    await ops.reconfigureVm(vm, { memoryMB: 4096 });
    assert.equal((await vmFacts(vm)).memoryMB, 4096);
    await ops.powerOn(vm);
    assert.equal((await vmFacts(vm)).powerState, 'poweredOn');
    await ops.powerOff(vm);
    assert.equal((await vmFacts(vm)).powerState, 'poweredOff');
    await ops.destroy(vm);
    assert.equal(await ops.findByInstanceUuid(instanceUuid), undefined);
  });

  it('CustomizeVM_Task gives a clone its static IP and host name at power-on', async () => {
    const template = inventory.items.find((i) => i.kind === 'template')!;
    const vmFolder = inventory.items.find((i) => i.kind === 'folder' && i.datacenter === template.datacenter)!;
    const pool = inventory.items.find((i) => i.kind === 'resourcepool' && i.datacenter === template.datacenter)!;
    const vm = await ops.cloneVm(ref('VirtualMachine', template.id), ref('Folder', vmFolder.id), 'node-static', {
      location: { pool: ref('ResourcePool', pool.id) }, config: { instanceUuid: randomUUID() },
    });
    // 192.0.2.0/24 is TEST-NET-1: data for the simulated guest, never an address anything dials.
    await ops.customizeVm(vm, { hostName: 'node-static', domain: 'cluster.local', nics: [{ ip: '192.0.2.10', subnetMask: '255.255.255.0', gateways: ['192.0.2.1'] }], dnsServers: ['192.0.2.53'] });
    await ops.powerOn(vm);
    const [guest] = await retrieveProperties(session, [{ type: 'VirtualMachine', paths: ['guest.ipAddress', 'guest.hostName'] }], singleObjectSpec(vm));
    assert.equal(text(guest!.props['guest.ipAddress']), '192.0.2.10');
    assert.equal(text(guest!.props['guest.hostName']), 'node-static');
    await ops.powerOff(vm);
    await ops.destroy(vm);
  });

  it('a failed task carries its vim fault: powering off a VM that is off', async () => {
    const vm = inventory.items.find((i) => i.kind === 'vm')!;
    const err = await ops.powerOff(ref('VirtualMachine', vm.id)).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof VimFault, String(err));
    assert.equal(err.faultType, 'InvalidPowerState');
    assert.equal(err.code, 'PCG_ERR_VCENTER_FAULT');
  });

  // vcsim 0.24 has no EventManager.LogUserEvent; it still parses and dispatches the request, so
  // the answer proves the envelope reached the right object and comes back as a typed fault.
  it('LogUserEvent reaches the EventManager (vcsim 0.24 answers MethodNotFound)', async () => {
    const vm = inventory.items.find((i) => i.kind === 'vm')!;
    const err = await ops.logUserEvent(ref('VirtualMachine', vm.id), 'PCG: hello').then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof VimFault);
    assert.equal(err.faultType, 'MethodNotFound');
    assert.match(err.faultMessage, /EventManager does not implement: LogUserEvent/);
  });

  it('creating the same folder twice is DuplicateName', async () => {
    const vmFolder = inventory.items.find((i) => i.kind === 'folder')!;
    const name = `dup-${Date.now()}`;
    await ops.createFolder(ref('Folder', vmFolder.id), name);
    const err = await ops.createFolder(ref('Folder', vmFolder.id), name).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof VimFault);
    assert.equal(err.faultType, 'DuplicateName');
  });
});

describe('vSphere task waits', function () {
  this.timeout(60_000);
  it('a cancelled wait stops at once and destroys its own property collector', async () => {
    const { waitForTask } = await import('../../../gateway/vsphere/task-waiter.js');
    const vcsim = await Vcsim.start({ vm: 1, template: 0 });
    const methods: string[] = [];
    const session = await VimSession.login(vcsim.connection({ onRequest: (method) => methods.push(method) }));
    try {
      const vm = (await readInventory(session)).items.find((i) => i.kind === 'vm')!;
      const started = await session.call('PowerOnVM_Task', `<_this type="VirtualMachine">${vm.id}</_this>`);
      const task = { type: 'Task', value: text((started.returnval as Record<string, unknown>)['#text']) };
      const controller = new AbortController();
      controller.abort();
      methods.length = 0;
      const err = await waitForTask(session, task, { signal: controller.signal }).then(() => undefined, (e: unknown) => e);
      assert.match(String((err as Error).message), /^waiting for task-\d+ was cancelled/);
      assert.equal((err as PcgError).code, 'PCG_ERR_VCENTER_TASK_CANCELLED');
      assert.deepEqual(methods, ['CreatePropertyCollector', 'CreateFilter', 'DestroyPropertyCollector']);
      const late = await waitForTask(session, task, { timeoutMs: 0 }).then(() => undefined, (e: unknown) => e);
      assert.match(String((late as Error).message), /did not finish in time/);
      assert.equal((late as PcgError).code, 'PCG_ERR_VCENTER_TASK_TIMEOUT');
    } finally {
      await session.close();
      await vcsim.stop();
    }
  });
});
