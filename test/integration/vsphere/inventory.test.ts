import { strict as assert } from 'node:assert';
import { readInventory } from '../../../gateway/vsphere/inventory.js';
import { VimSession } from '../../../gateway/vsphere/vim-session.js';
import { Vcsim, type VcsimModel } from '../../support/vcsim-fixture.js';

async function inventoryOf(model: VcsimModel): Promise<{ vcsim: Vcsim; methods: string[]; inventory: Awaited<ReturnType<typeof readInventory>> }> {
  const vcsim = await Vcsim.start(model);
  const methods: string[] = [];
  const session = await VimSession.login(vcsim.connection({ onRequest: (method) => methods.push(method) }));
  try {
    methods.length = 0; // count from here: login's own requests are not the inventory's
    const before = session.soap.requests;
    const inventory = await readInventory(session);
    assert.equal(session.soap.requests - before, methods.length);
    return { vcsim, methods: [...methods], inventory };
  } finally {
    await session.close();
  }
}

describe('vSphere inventory against vcsim', function () {
  this.timeout(120_000);

  it('counts match the simulator model and every item has its datacenter and path', async () => {
    const { vcsim, methods, inventory } = await inventoryOf({ dc: 2, cluster: 2, clusterHost: 2, host: 1, vm: 2, ds: 2, pg: 2, template: 1 });
    try {
      const { counts } = inventory;
      for (const kind of ['datacenter', 'cluster', 'host', 'resourcepool', 'datastore', 'network', 'vm', 'template'] as const) {
        assert.equal(counts[kind], vcsim.counts[kind], kind);
      }
      assert.deepEqual(methods, ['CreateContainerView', 'RetrievePropertiesEx', 'DestroyView']);
      assert.ok(counts.folder >= 2, 'each datacenter has its vm folder');
      const ds = inventory.items.find((i) => i.kind === 'datastore')!;
      assert.ok(ds.capacity! > 0 && ds.freeSpace! >= 0 && ds.freeSpace! <= ds.capacity!);
      assert.ok(inventory.items.filter((i) => i.kind !== 'datacenter').every((i) => i.datacenter === 'DC0' || i.datacenter === 'DC1'));
      assert.ok(inventory.items.some((i) => i.kind === 'network' && i.networkType === 'distributed'));
      assert.ok(inventory.items.some((i) => i.kind === 'network' && i.networkType === 'standard'));
      assert.ok(inventory.items.find((i) => i.kind === 'cluster')!.path.match(/^\/DC[01]\/host\/DC[01]_C[01]$/));
    } finally {
      await vcsim.stop();
    }
  });

  it('costs the same three round trips on a model ten times larger', async () => {
    const { vcsim, methods, inventory } = await inventoryOf({ dc: 2, cluster: 4, clusterHost: 5, host: 2, vm: 10, ds: 4, pg: 8, template: 2 });
    try {
      assert.deepEqual(methods, ['CreateContainerView', 'RetrievePropertiesEx', 'DestroyView']);
      assert.equal(inventory.counts.vm, vcsim.counts.vm);
      assert.equal(inventory.counts.host, vcsim.counts.host);
      assert.ok(inventory.counts.vm > 100, `${inventory.counts.vm} VMs`);
    } finally {
      await vcsim.stop();
    }
  });
});
