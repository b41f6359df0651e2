import { strict as assert } from 'node:assert';
import { readInventory } from '../../gateway/vsphere/inventory.js';
import { FakeSession, recorded, recordedMoRef } from './recorded-soap.js';

const entity = (type: string, id: string, name: string, parent: string, parentType = 'Folder'): string =>
  `<objects><obj type="${type}">${id}</obj><propSet><name>name</name><val xsi:type="xsd:string">${name}</val></propSet>`
  + `<propSet><name>parent</name><val type="${parentType}" xsi:type="ManagedObjectReference">${parent}</val></propSet></objects>`;

// vcsim can hold OpaqueNetworks (see the vcsim test), but this is how NSX-T segments reach a real
// vCenter client: a Network subtype in the network folder, next to port groups.
const OBJECTS = entity('Datacenter', 'datacenter-2', 'DC0', 'group-d1')
  + entity('Folder', 'group-n4', 'network', 'datacenter-2', 'Datacenter')
  + entity('Network', 'network-7', 'VM Network', 'group-n4')
  + entity('DistributedVirtualPortgroup', 'dvportgroup-11', 'DPG-prod', 'group-n4')
  + entity('OpaqueNetwork', 'network-o12', 'seg-web', 'group-n4')
  + entity('OpaqueNetwork', 'network-o13', 'seg%2fdb', 'group-n4');

describe('inventory: NSX opaque networks (recorded responses)', () => {
  it('keeps OpaqueNetwork as a network with networkType opaque, asking the collector for it by name', async () => {
    const session = new FakeSession((method) => Promise.resolve(
      method === 'CreateContainerView' ? recordedMoRef(method, 'ContainerView', 'session[52]view-1')
        : method === 'RetrievePropertiesEx' ? recorded(method, OBJECTS) : recorded(method)));
    const inventory = await readInventory(session);
    const networks = inventory.items.filter((i) => i.kind === 'network').map((i) => [i.id, i.name, i.path, i.datacenter, i.networkType]);
    assert.deepEqual(networks.sort((a, b) => String(a[0]).localeCompare(String(b[0]))), [
      ['dvportgroup-11', 'DPG-prod', '/DC0/network/DPG-prod', 'DC0', 'distributed'],
      ['network-7', 'VM Network', '/DC0/network/VM Network', 'DC0', 'standard'],
      ['network-o12', 'seg-web', '/DC0/network/seg-web', 'DC0', 'opaque'],
      ['network-o13', 'seg/db', '/DC0/network/seg%2fdb', 'DC0', 'opaque'],
    ]);
    assert.equal(inventory.counts.network, 4);
    assert.deepEqual(session.methods, ['CreateContainerView', 'RetrievePropertiesEx', 'DestroyView']);
    assert.match(session.calls[1]![1], /<propSet><type>OpaqueNetwork<\/type><all>false<\/all><pathSet>name<\/pathSet><pathSet>parent<\/pathSet><\/propSet>/);
  });
});
