import type { InventoryItem, InventoryKind } from '../vsphere/inventory.js';
import type { MoRef } from '../vsphere/soap-xml.js';

/** A placement name found in the inventory: its managed object and inventory path. */
export interface PlacedEntity {
  readonly ref: MoRef;
  readonly name: string;
  readonly path: string;
}

const MO_TYPES: Readonly<Record<string, string>> = {
  datacenter: 'Datacenter', folder: 'Folder', cluster: 'ClusterComputeResource', resourcepool: 'ResourcePool',
  datastore: 'Datastore', template: 'VirtualMachine', vm: 'VirtualMachine', host: 'HostSystem',
};

/** The inventory item as a managed object reference (inventory ids are bare; the type follows from the kind). */
export function placedEntity(item: InventoryItem): PlacedEntity {
  let type = MO_TYPES[item.kind]!;
  if (item.kind === 'network') {
    const t = (item as { networkType?: string }).networkType;
    type = t === 'distributed' ? 'DistributedVirtualPortgroup' : t === 'opaque' ? 'OpaqueNetwork' : 'Network';
  } else if (item.kind === 'resourcepool' && item.id.startsWith('resgroup-v')) {
    type = 'VirtualApp';
  }
  return { ref: { type, value: item.id }, name: item.name, path: item.path };
}

/**
 * Finds `wanted` among `items` of `kinds`: by inventory path when it contains a `/` (absolute,
 * relative to the datacenter, or relative to `base` under it: `vm`, `host`, …), else by name
 * inside the datacenter. A name two objects share is 'ambiguous': the user must give the path.
 */
export function inventoryLookup(items: readonly InventoryItem[], kinds: readonly InventoryKind[], wanted: string, dcPath: string, base: string): InventoryItem[] | 'ambiguous' {
  const candidates = items.filter((i) => kinds.includes(i.kind));
  if (wanted.includes('/')) {
    const trimmed = wanted.replace(/^\/+|\/+$/g, '');
    const paths = new Set([`/${trimmed}`, `${dcPath}/${trimmed}`, `${dcPath}/${base}/${trimmed}`]);
    return candidates.filter((i) => paths.has(i.path));
  }
  const named = candidates.filter((i) => i.name === wanted && i.path.startsWith(`${dcPath}/`));
  return named.length > 1 ? 'ambiguous' : named;
}

/** The datacenter by name or path; every match (the caller decides what none or two mean). */
export function findDatacenters(items: readonly InventoryItem[], wanted: string): InventoryItem[] {
  const path = `/${wanted.replace(/^\/+|\/+$/g, '')}`;
  return items.filter((i) => i.kind === 'datacenter' && (i.name === wanted || i.path === path));
}
