import { strict as assert } from 'node:assert';
import { PcgError } from '../../proto/errors.js';
import type { InventoryItem, InventoryKind } from '../../proto/schemas/inventory.js';
import { checkPlacement, type InventoryReader } from '../../saas-relay/clusters/placement-check.js';

const item = (kind: InventoryKind, path: string, datacenter: string | null = 'DC0'): InventoryItem =>
  ({ kind, id: `${kind}-${path}`, name: path.split('/').at(-1)!, path, datacenter });

const ITEMS: InventoryItem[] = [
  item('datacenter', '/DC0', null), item('datacenter', '/DC1', null),
  item('folder', '/DC0/vm'), item('folder', '/DC0/vm/pcg'), item('folder', '/DC1/vm/other', 'DC1'),
  item('cluster', '/DC0/host/C0'), item('resourcepool', '/DC0/host/C0/Resources/gold'), item('host', '/DC0/host/H1'),
  item('datastore', '/DC0/datastore/ds1'), item('datastore', '/DC1/datastore/ds9', 'DC1'),
  item('network', '/DC0/network/VM Network'), item('template', '/DC0/vm/ubuntu-tpl'),
];

/** A fake gateway: filters like the real one and records what was asked. */
function reader(asked: string[] = []): InventoryReader {
  return (kind, datacenter) => {
    asked.push(`${kind}${datacenter ? `@${datacenter}` : ''}`);
    return Promise.resolve(ITEMS.filter((i) => i.kind === kind && (!datacenter || i.datacenter === datacenter)));
  };
}

const placement = { datacenter: 'DC0', folder: 'pcg', computeResource: 'C0', datastore: 'ds1', network: 'VM Network' };
const refusal = (code: string, message: RegExp) => (err: unknown) => err instanceof PcgError && err.code === code && message.test(err.message);

describe('placement check against inventory', () => {
  it('accepts names, full paths and paths below the datacenter, asking each kind once', async () => {
    const asked: string[] = [];
    await checkPlacement(reader(asked), placement, 'ubuntu-tpl');
    await checkPlacement(reader(), { ...placement, folder: '/DC0/vm/pcg', computeResource: 'host/C0/Resources/gold', datastore: 'datastore/ds1' }, '/DC0/vm/ubuntu-tpl');
    await checkPlacement(reader(), { ...placement, computeResource: 'H1' }, 'ubuntu-tpl');
    assert.deepEqual(asked.sort(), ['cluster@DC0', 'datacenter', 'datastore@DC0', 'folder@DC0', 'host@DC0', 'network@DC0', 'resourcepool@DC0', 'template@DC0']);
  });

  it('names the field and value that does not exist, in the placement datacenter only', async () => {
    await assert.rejects(checkPlacement(reader(), { ...placement, datacenter: 'DC7' }, 'ubuntu-tpl'), refusal('PCG_ERR_PLACEMENT_UNKNOWN', /placement\.datacenter "DC7" does not exist; known: DC0, DC1/));
    await assert.rejects(checkPlacement(reader(), { ...placement, datastore: 'ds9' }, 'ubuntu-tpl'), refusal('PCG_ERR_PLACEMENT_UNKNOWN', /placement\.datastore "ds9" does not exist in datacenter DC0/));
    await assert.rejects(checkPlacement(reader(), { ...placement, folder: 'other' }, 'ubuntu-tpl'), refusal('PCG_ERR_PLACEMENT_UNKNOWN', /placement\.folder "other"/));
    await assert.rejects(checkPlacement(reader(), { ...placement, network: 'Other Net' }, 'ubuntu-tpl'), refusal('PCG_ERR_PLACEMENT_UNKNOWN', /placement\.network "Other Net"/));
    await assert.rejects(checkPlacement(reader(), { ...placement, computeResource: 'C9' }, 'ubuntu-tpl'), refusal('PCG_ERR_PLACEMENT_UNKNOWN', /placement\.computeResource "C9"/));
  });

  it('refuses a template that is not a template (a VM, or nothing of that name)', async () => {
    await assert.rejects(checkPlacement(reader(), placement, 'web-01'), refusal('PCG_ERR_TEMPLATE_INVALID', /"web-01" is not a VM template in datacenter DC0.*templates there: ubuntu-tpl/));
  });

  it('passes a failed inventory read on as it is (the caller decides it is inconclusive)', async () => {
    const offline: InventoryReader = () => Promise.reject(new PcgError('PCG_ERR_GATEWAY_TIMEOUT', 'slow'));
    await assert.rejects(checkPlacement(offline, placement, 'ubuntu-tpl'), refusal('PCG_ERR_GATEWAY_TIMEOUT', /slow/));
  });
});
