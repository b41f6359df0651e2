import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { checkPrivileges } from '../../../gateway/vsphere/vcenter-privileges.js';
import { findById, findByInventoryPath } from '../../../gateway/vsphere/finder.js';
import { readInventory } from '../../../gateway/vsphere/inventory.js';
import type { MoRef } from '../../../gateway/vsphere/soap-xml.js';
import { waitForTask } from '../../../gateway/vsphere/task-waiter.js';
import { VimSession } from '../../../gateway/vsphere/vim-session.js';
import { VmOperations } from '../../../gateway/vsphere/vm-operations.js';
import type { LinuxCustomization } from '../../../gateway/vsphere/vm-specs.js';
import { Vcsim } from '../../support/vcsim-fixture.js';
import { checkElementOrder, type RecordedRequest } from './vim-order-checker.js';

const SOURCES = new URL('../../../../gateway/vsphere/', import.meta.url);

/** Every SOAP method the client's source can send: what this test must have seen sent. */
/** Recorded and order-checked by their own tests: ova-import.test.ts (the OVF import). */
const CHECKED_ELSEWHERE = new Set(['ovf-import.ts', 'http-nfc-lease.ts', 'nfc-upload.ts']);

function methodsInSource(): string[] {
  const found = new Set<string>();
  for (const file of readdirSync(SOURCES).filter((f) => f.endsWith('.ts') && !CHECKED_ELSEWHERE.has(f))) {
    for (const m of readFileSync(new URL(file, SOURCES), 'utf8').matchAll(/\b(?:call|invoke|#task|callIfLive)\('([A-Za-z_]+)'/g)) found.add(m[1]!);
  }
  return [...found].sort();
}

// 192.0.2.0/24 is TEST-NET-1: data for the simulated guest, never an address anything dials.
const CUSTOMIZATION: LinuxCustomization = {
  hostName: 'node-0', domain: 'cluster.local', dnsServers: ['192.0.2.53', '192.0.2.54'], dnsSuffixes: ['cluster.local', 'example.test'],
  // One NIC: the template has one, and vCenter (vcsim too) refuses a mismatch (NicSettingMismatch).
  nics: [{ ip: '192.0.2.10', subnetMask: '255.255.255.0', gateways: ['192.0.2.1', '192.0.2.2'] }],
};

/**
 * A real vCenter rejects a request whose elements are out of WSDL order; vcsim accepts any order.
 * So every body the client writes is recorded against vcsim and checked by a Go program against
 * govmomi's vim25 types (generated from the WSDL).
 */
describe('vSphere request bodies follow the vim25 WSDL (checked against govmomi types)', function () {
  this.timeout(120_000);
  let vcsim: Vcsim;
  const recorded: RecordedRequest[] = [];

  before(async () => {
    vcsim = await Vcsim.start({ dc: 1, cluster: 1, clusterHost: 2, host: 1, vm: 2, template: 1 });
    const controller = new AbortController();
    const session = await VimSession.login({
      ...vcsim.connection(),
      onRequest: (method, body) => {
        recorded.push({ name: `${recorded.length} ${method}`, body });
        // Aborting as the power-off wait is sent makes the waiter send CancelWaitForUpdates.
        if (method === 'WaitForUpdatesEx' && armed) controller.abort();
      },
    });
    let armed = false;
    try {
      await exercise(session, () => {
        armed = true;
        return controller.signal;
      });
    } finally {
      await session.close();
    }
  });
  after(() => vcsim.stop());

  /** Every operation the client has, with every optional part of every spec filled in. */
  async function exercise(session: VimSession, abortingSignal: () => AbortSignal): Promise<void> {
    const ops = new VmOperations(session);
    const ref = (type: string, value: string): MoRef => ({ type, value });
    assert.equal(await session.currentSession(), vcsim.user);
    assert.deepEqual((await checkPrivileges(session)).missing, [], 'vcsim grants every privilege');
    await session.currentTime();
    const inventory = await readInventory(session, { pageSize: 5 });
    const pick = (kind: string) => inventory.items.find((i) => i.kind === kind)!;
    const [template, vmFolder, pool, datastore, host, dc] = ['template', 'folder', 'resourcepool', 'datastore', 'host', 'datacenter'].map(pick);
    assert.ok(await findByInventoryPath(session, vmFolder!.path));
    assert.ok(await findById(session, 'Datastore', datastore!.id));
    const folder = await ops.createFolder(ref('Folder', vmFolder!.id), `order-${Date.now()}`);
    const instanceUuid = randomUUID();
    const vm = await ops.cloneVm(ref('VirtualMachine', template!.id), folder, 'order-clone', {
      location: { folder, datastore: ref('Datastore', datastore!.id), pool: ref('ResourcePool', pool!.id), host: ref('HostSystem', host!.id) },
      config: {
        name: 'order-clone', instanceUuid, numCPUs: 2, memoryMB: 2048,
        extraConfig: { 'guestinfo.metadata': Buffer.from('{"local-hostname":"node-0"}').toString('base64'), 'guestinfo.metadata.encoding': 'base64', 'guestinfo.userdata': 'I2Nsb3VkLWNvbmZpZw==', 'guestinfo.userdata.encoding': 'base64' },
      },
      customization: CUSTOMIZATION,
      powerOn: false,
    });
    await ops.reconfigureVm(vm, { name: 'order-clone-2', instanceUuid, numCPUs: 4, memoryMB: 4096, extraConfig: { 'guestinfo.metadata': 'e30=' } });
    await ops.customizeVm(vm, CUSTOMIZATION);
    await ops.powerOn(vm);
    // The wait may end either way (vcsim finishes tasks at once); only the requests matter here.
    const started = await session.call('PowerOffVM_Task', `<_this type="VirtualMachine">${vm.value}</_this>`);
    await waitForTask(session, { type: 'Task', value: String((started.returnval as Record<string, unknown>)['#text']) }, { signal: abortingSignal() }).catch(() => undefined);
    await ops.cancelTask({ type: 'Task', value: String((started.returnval as Record<string, unknown>)['#text']) }).catch(() => undefined); // vcsim 0.24: MethodNotFound
    await ops.powerOff(vm).catch(() => undefined);
    assert.deepEqual(await ops.findByInstanceUuid(instanceUuid, ref('Datacenter', dc!.id)), vm);
    await ops.logUserEvent(vm, 'PCG: element order').catch(() => undefined); // vcsim 0.24: MethodNotFound
    await ops.destroy(vm);
  }

  it('recorded every method the client can send', () => {
    const sent = new Set(recorded.map((r) => r.name.split(' ')[1]));
    assert.deepEqual(methodsInSource().filter((m) => !sent.has(m)), []);
    assert.ok(recorded.some((r) => r.name.endsWith('ContinueRetrievePropertiesEx')), 'paging was exercised');
    assert.ok(recorded.some((r) => r.name.endsWith('CancelWaitForUpdates')), 'a cancelled wait was exercised');
  });

  it('every recorded body passes the checker: elements known, in order, required ones present, xsi:types fitting', () => {
    const { exitCode, verdicts } = checkElementOrder(recorded);
    assert.deepEqual(verdicts.filter((v) => v.errors.length > 0), []);
    assert.equal(verdicts.length, recorded.length);
    assert.equal(exitCode, 0);
  });

  it('the checker rejects a body with two elements swapped, naming the element', () => {
    const clone = recorded.find((r) => r.name.endsWith(' CloneVM_Task'))!;
    const template = '<template>false</template>';
    const config = /<config>.*?<\/config>/.exec(clone.body)![0];
    assert.ok(clone.body.includes(template + config), 'template comes right before config in the recorded body');
    const swapped = { name: 'swapped CloneVM_Task', body: clone.body.replace(template + config, config + template) };
    const { exitCode, verdicts } = checkElementOrder([clone, swapped]);
    assert.equal(exitCode, 1);
    assert.deepEqual(verdicts, [
      { name: clone.name, errors: [] },
      { name: 'swapped CloneVM_Task', errors: ['CloneVM_Task/spec: <template> comes after <config>, but VirtualMachineCloneSpec declares template first (order: location, template, config, customization, powerOn, snapshot, memory)'] },
    ]);
  });

  it('Login is recorded with its password redacted', () => {
    const login = recorded.find((r) => r.name.endsWith(' Login'))!;
    assert.match(login.body, /<userName>[^<]+<\/userName><password>\[redacted\]<\/password><\/Login>/);
    assert.ok(recorded.every((r) => !r.body.includes(vcsim.password)));
  });
});
