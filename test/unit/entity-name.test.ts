import { strict as assert } from 'node:assert';
import { decodeEntityName } from '../../gateway/vsphere/entity-name.js';
import { buildInventory } from '../../gateway/vsphere/inventory.js';
import type { ObjectContent } from '../../gateway/vsphere/property-collector.js';

const ROOT = { type: 'Folder', value: 'group-d1' };

function entity(type: string, value: string, name: string, parent: string | undefined, extra: Record<string, unknown> = {}): ObjectContent {
  return { obj: { type, value }, props: { name, ...(parent ? { parent: { '@_type': parent.startsWith('datacenter') ? 'Datacenter' : 'Folder', '#text': parent } } : {}), ...extra } };
}

describe('entity names (vCenter escapes only /, \\ and %)', () => {
  it('decodes exactly %2f, %5c and %25, in either case, and nothing else', () => {
    const cases: Array<[string, string]> = [
      ['a%2fb', 'a/b'], ['a%2Fb', 'a/b'], ['x%5cy', 'x\\y'], ['x%5Cy', 'x\\y'], ['100%25', '100%'],
      ['DC%E0', 'DC%E0'], ['a%41', 'a%41'], ['%zz', '%zz'], ['50%', '50%'], ['a%2', 'a%2'], ['%%2f', '%/'],
      // One pass, left to right: an escaped % followed by "2f" is the text "%2f", never "/".
      ['%252f', '%2f'], ['%255C', '%5C'],
      ['plain', 'plain'], ['', ''],
    ];
    assert.deepEqual(cases.map(([escaped]) => decodeEntityName(escaped)), cases.map(([, name]) => name));
  });

  it('a name decodeURIComponent cannot read keeps the inventory whole; paths keep vCenter\'s escaping', () => {
    const inventory = buildInventory([
      entity('Datacenter', 'datacenter-2', 'DC%E0', 'group-d1'),
      entity('Folder', 'group-v3', 'vm', 'datacenter-2', { childType: { string: ['Folder', 'VirtualMachine'] } }),
      entity('Folder', 'group-v9', 'a%41', 'group-v3', { childType: { string: ['Folder', 'VirtualMachine'] } }),
      entity('Folder', 'group-v10', 'x%2fy%5Cz%25w', 'group-v9', { childType: { string: ['Folder', 'VirtualMachine'] } }),
    ], ROOT);
    assert.deepEqual(inventory.items.map((i) => [i.kind, i.name, i.path, i.datacenter]), [
      ['datacenter', 'DC%E0', '/DC%E0', 'DC%E0'],
      ['folder', 'vm', '/DC%E0/vm', 'DC%E0'],
      ['folder', 'a%41', '/DC%E0/vm/a%41', 'DC%E0'],
      ['folder', 'x/y\\z%w', '/DC%E0/vm/a%41/x%2fy%5Cz%25w', 'DC%E0'],
    ]);
    assert.equal(inventory.counts.datacenter, 1);
    assert.equal(inventory.counts.folder, 3);
  });
});
