import { strict as assert } from 'node:assert';
import { findById, findByInventoryPath } from '../../../gateway/vsphere/finder.js';
import { readInventory } from '../../../gateway/vsphere/inventory.js';
import { el, moRef, type MoRef } from '../../../gateway/vsphere/soap-xml.js';
import { VimSession } from '../../../gateway/vsphere/vim-session.js';
import { Vcsim } from '../../support/vcsim-fixture.js';

// vcsim stores names exactly as sent, so the names below are sent in the escaped form a real
// vCenter would store and return: `x%2fy%5Cz%25w` is what vCenter makes of `x/y\z%w`. `DC%E0` and
// `a%41` are names a vCenter can hold (created by a tool that did not escape them) and that
// decodeURIComponent misreads: URIError for the first, `aA` for the second.
describe('vSphere entity names against vcsim', function () {
  this.timeout(60_000);
  let vcsim: Vcsim;
  let session: VimSession;
  const created: Record<string, MoRef> = {};
  before(async () => {
    vcsim = await Vcsim.start({ dc: 1, vm: 1, template: 0 });
    session = await VimSession.login(vcsim.connection());
    const create = async (method: string, parent: MoRef, name: string): Promise<MoRef> =>
      moRef((await session.call(method, el('_this', parent) + el('name', name))).returnval);
    created.dc = await create('CreateDatacenter', session.content.rootFolder, 'DC%E0');
    const vmFolder = (await findByInventoryPath(session, '/DC%E0/vm'))!;
    created.a41 = await create('CreateFolder', vmFolder, 'a%41');
    created.escaped = await create('CreateFolder', created.a41, 'x%2fy%5Cz%25w');
  });
  after(async () => {
    await session.close();
    await vcsim.stop();
  });

  it('the inventory keeps every object, decodes only %2f %5c %25, and paths keep vCenter\'s escaping', async () => {
    const inventory = await readInventory(session);
    const byId = new Map(inventory.items.map((i) => [i.id, i]));
    assert.deepEqual([created.dc!, created.a41!, created.escaped!].map((ref) => {
      const item = byId.get(ref.value)!;
      return [item.kind, item.name, item.path, item.datacenter];
    }), [
      ['datacenter', 'DC%E0', '/DC%E0', 'DC%E0'],
      ['folder', 'a%41', '/DC%E0/vm/a%41', 'DC%E0'],
      ['folder', 'x/y\\z%w', '/DC%E0/vm/a%41/x%2fy%5Cz%25w', 'DC%E0'],
    ]);
    // The simulator's own datacenter is still there: one odd name no longer costs the inventory.
    assert.deepEqual(inventory.items.filter((i) => i.kind === 'datacenter').map((i) => i.name).sort(), ['DC%E0', 'DC0']);
  });

  it('a path from the inventory finds its object again; findById decodes the name the same way', async () => {
    const inventory = await readInventory(session);
    const folder = inventory.items.find((i) => i.id === created.escaped!.value)!;
    assert.deepEqual(await findByInventoryPath(session, folder.path), created.escaped);
    assert.deepEqual(await findById(session, 'Folder', created.escaped!.value), { ref: created.escaped, name: 'x/y\\z%w' });
    assert.deepEqual(await findById(session, 'Datacenter', created.dc!.value), { ref: created.dc, name: 'DC%E0' });
  });
});

describe('vSphere NSX opaque networks against vcsim', function () {
  this.timeout(60_000);
  it('every OpaqueNetwork is in the inventory as a network with networkType opaque', async () => {
    // The fixture's model keys become launcher flags: opaqueNetwork → -opaque-network.
    const vcsim = await Vcsim.start({ dc: 2, vm: 1, template: 0, opaqueNetwork: 2 } as Parameters<typeof Vcsim.start>[0]);
    const session = await VimSession.login(vcsim.connection());
    try {
      const networks = (await readInventory(session)).items.filter((i) => i.kind === 'network');
      assert.equal(networks.length, vcsim.counts.network);
      const opaque = networks.filter((i) => i.networkType === 'opaque').map((i) => [i.name, i.path, i.datacenter]);
      assert.deepEqual(opaque, [
        ['DC0_NSX0', '/DC0/network/DC0_NSX0', 'DC0'], ['DC0_NSX1', '/DC0/network/DC0_NSX1', 'DC0'],
        ['DC1_NSX0', '/DC1/network/DC1_NSX0', 'DC1'], ['DC1_NSX1', '/DC1/network/DC1_NSX1', 'DC1'],
      ]);
    } finally {
      await session.close();
      await vcsim.stop();
    }
  });
});
