import { strict as assert } from 'node:assert';
import { readInventory, type Inventory } from '../../../gateway/vsphere/inventory.js';
import { retrieveProperties, singleObjectSpec } from '../../../gateway/vsphere/property-collector.js';
import { text, type MoRef } from '../../../gateway/vsphere/soap-xml.js';
import { VimSession } from '../../../gateway/vsphere/vim-session.js';
import { VmOperations } from '../../../gateway/vsphere/vm-operations.js';
import { Vcsim } from '../../support/vcsim-fixture.js';

/**
 * The launcher's PropertyCollector pages (-page-size, per-session tokens) and ends the session at
 * the Nth call of a method (-expire-on), as vCenter's idle timeout would; the fixture passes any
 * model key on as a flag. Each case starts its own simulator: the call count is the server's.
 */
async function start(flags: { pageSize?: number; expireOn?: string }): Promise<{ vcsim: Vcsim; session: VimSession; sent: Array<{ method: string; body: string }> }> {
  const vcsim = await Vcsim.start({ dc: 1, cluster: 1, clusterHost: 2, host: 1, vm: 3, template: 1, ...flags });
  const sent: Array<{ method: string; body: string }> = [];
  const session = await VimSession.login({ ...vcsim.connection(), onRequest: (method, body) => sent.push({ method, body }) });
  sent.length = 0;
  return { vcsim, session, sent };
}

/** The `<_this>` or `<token>` a request names (what must never be replayed across sessions). */
const target = (body: string): string => /<token>([^<]+)<\/token>/.exec(body)?.[1] ?? /<_this type="[^"]+">([^<]+)<\/_this>/.exec(body)?.[1] ?? '';
const view = (body: string): string | undefined => /<obj type="ContainerView">([^<]+)<\/obj>/.exec(body)?.[1];

/** What an inventory says, in a form two reads can be compared by. */
const summary = (inventory: Inventory): string[] => inventory.items.map((i) => `${i.kind} ${i.id} ${i.path}`);

async function referenceInventory(vcsim: Vcsim): Promise<Inventory> {
  const session = await VimSession.login(vcsim.connection());
  try {
    return await readInventory(session);
  } finally {
    await session.close();
  }
}

describe('vSphere session renewal: views, collectors and paging tokens are re-created, never replayed', function () {
  this.timeout(60_000);

  it('session ends between two pages of an inventory read: read again from a new view, complete and unmixed', async () => {
    const { vcsim, session, sent } = await start({ pageSize: 10, expireOn: 'ContinueRetrievePropertiesEx:1' });
    try {
      const inventory = await readInventory(session);
      const methods = sent.map((s) => s.method);
      const login = methods.indexOf('Login');
      assert.deepEqual(methods.slice(0, login + 3), ['CreateContainerView', 'RetrievePropertiesEx', 'ContinueRetrievePropertiesEx', 'Login', 'CreateContainerView', 'RetrievePropertiesEx']);
      assert.deepEqual(new Set(methods.slice(login + 3, -1)), new Set(['ContinueRetrievePropertiesEx']));
      assert.equal(methods.at(-1), 'DestroyView');
      assert.deepEqual([session.logins, session.epoch], [2, 2]);
      // Nothing sent after the Login names the old view or the old token.
      const oldView = view(sent[1]!.body)!;
      const oldToken = target(sent[2]!.body);
      assert.ok(oldView && oldToken);
      for (const { body } of sent.slice(login + 1)) {
        assert.notEqual(view(body), oldView);
        assert.notEqual(target(body), oldToken);
        assert.notEqual(target(body), oldView);
      }
      assert.equal(target(sent.at(-1)!.body), view(sent[login + 2]!.body), 'the new view is the one destroyed');
      assert.deepEqual(summary(inventory), summary(await referenceInventory(vcsim)));
      assert.equal(inventory.counts.vm, vcsim.counts.vm);
      assert.equal(new Set(inventory.items.map((i) => i.id)).size, inventory.items.length, 'no object twice');
    } finally {
      await session.close();
      await vcsim.stop();
    }
  });

  it('session ends after the view was made: the view is made again in the new session, not replayed', async () => {
    const { vcsim, session, sent } = await start({ pageSize: 10, expireOn: 'RetrievePropertiesEx:1' });
    try {
      const inventory = await readInventory(session);
      const methods = sent.map((s) => s.method);
      assert.deepEqual(methods.slice(0, 5), ['CreateContainerView', 'RetrievePropertiesEx', 'Login', 'CreateContainerView', 'RetrievePropertiesEx']);
      assert.notEqual(view(sent[4]!.body), view(sent[1]!.body));
      assert.equal(methods.filter((m) => m === 'DestroyView').length, 1, 'the dead view is not destroyed');
      assert.deepEqual(summary(inventory), summary(await referenceInventory(vcsim)));
    } finally {
      await session.close();
      await vcsim.stop();
    }
  });

  it('session ends during a task wait: a new collector and filter in the new session, and the task\'s real result', async () => {
    const { vcsim, session, sent } = await start({ expireOn: 'WaitForUpdatesEx:1' });
    try {
      const inventory = await readInventory(session);
      const template = inventory.items.find((i) => i.kind === 'template')!;
      const folder = inventory.items.find((i) => i.kind === 'folder')!;
      const pool = inventory.items.find((i) => i.kind === 'resourcepool')!;
      const ref = (type: string, value: string): MoRef => ({ type, value });
      sent.length = 0;
      const vm = await new VmOperations(session).cloneVm(ref('VirtualMachine', template.id), ref('Folder', folder.id), 'renewed-clone',
        { location: { pool: ref('ResourcePool', pool.id) }, config: {} });
      assert.deepEqual(sent.map((s) => s.method), ['CloneVM_Task', 'CreatePropertyCollector', 'CreateFilter', 'WaitForUpdatesEx', 'Login',
        'CreatePropertyCollector', 'CreateFilter', 'WaitForUpdatesEx', 'DestroyPropertyCollector']);
      const [oldCollector, newCollector] = [target(sent[2]!.body), target(sent[6]!.body)];
      assert.notEqual(newCollector, oldCollector);
      assert.deepEqual([target(sent[7]!.body), target(sent[8]!.body)], [newCollector, newCollector]);
      assert.equal(vm.type, 'VirtualMachine');
      const [facts] = await retrieveProperties(session, [{ type: 'VirtualMachine', paths: ['name'] }], singleObjectSpec(vm));
      assert.equal(text(facts!.props.name), 'renewed-clone');
      assert.equal(session.logins, 2);
    } finally {
      await session.close();
      await vcsim.stop();
    }
  });

  it('a paged read on the session itself (no view): a dead token makes the read start again, once', async () => {
    const { vcsim, session, sent } = await start({ expireOn: 'ContinueRetrievePropertiesEx:2' });
    try {
      const { items } = await readInventory(session);
      const vms = items.filter((i) => i.kind === 'vm').slice(0, 4);
      assert.equal(vms.length, 4);
      sent.length = 0;
      const objectSet = vms.map((i) => singleObjectSpec({ type: 'VirtualMachine', value: i.id })).join('');
      const objects = await retrieveProperties(session, [{ type: 'VirtualMachine', paths: ['name'] }], objectSet, 1);
      assert.deepEqual(objects.map((o) => text(o.props.name)), vms.map((i) => i.name));
      assert.deepEqual(sent.map((s) => s.method), ['RetrievePropertiesEx', 'ContinueRetrievePropertiesEx', 'ContinueRetrievePropertiesEx', 'Login',
        'RetrievePropertiesEx', 'ContinueRetrievePropertiesEx', 'ContinueRetrievePropertiesEx', 'ContinueRetrievePropertiesEx']);
      const oldTokens = new Set(sent.slice(1, 3).map((s) => target(s.body)));
      assert.ok(sent.slice(4).every((s) => !oldTokens.has(target(s.body))));
    } finally {
      await session.close();
      await vcsim.stop();
    }
  });
});
