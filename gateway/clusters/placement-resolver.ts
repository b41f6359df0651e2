import { PcgError } from '../../proto/errors.js';
import type { ClusterSpec } from '../../proto/schemas/jobs.js';
import type { Inventory, InventoryItem, InventoryKind } from '../vsphere/inventory.js';
import { findDatacenters, inventoryLookup, placedEntity as entity, type PlacedEntity } from './inventory-lookup.js';
import { clusterFolderName } from './node-identity.js';

/** Everything a clone needs, resolved from the user's names against one inventory read. */
export interface ResolvedPlacement {
  readonly datacenter: PlacedEntity;
  /** The parent folder the cluster's own folder lives in. */
  readonly parentFolder: PlacedEntity;
  /** The cluster's own folder when it already exists (found in the same read). */
  readonly clusterFolder: PlacedEntity | undefined;
  /** Inventory path of the cluster's folder (whether or not it exists yet). */
  readonly clusterFolderPath: string;
  /** A resource pool: the root pool of a compute cluster, or the pool named. */
  readonly pool: PlacedEntity;
  readonly datastore: PlacedEntity;
  readonly network: PlacedEntity;
  readonly template: PlacedEntity;
}


/**
 * Resolves a cluster's placement and template by the names an admin sees, all from one
 * inventory read (no request per name). Every unknown name is reported in one error, so a user
 * fixes them in one go; a template that is a plain VM is refused (clones of a running VM bring
 * duplicate IPs and machine ids).
 */
export function resolvePlacement(inventory: Inventory, cluster: Pick<ClusterSpec, 'clusterId' | 'name' | 'placement' | 'template'>): ResolvedPlacement {
  const { placement } = cluster;
  const missing: string[] = [];
  const dcs = findDatacenters(inventory.items, placement.datacenter);
  if (dcs.length !== 1) {
    throw new PcgError('PCG_ERR_PLACEMENT_UNKNOWN', dcs.length === 0 ? `datacenter "${placement.datacenter}" not found` : `datacenter "${placement.datacenter}" is ambiguous; give its path`);
  }
  const dc = dcs[0]!;
  const inDc = inventory.items.filter((i) => i.datacenter === dc.name && i.path.startsWith(`${dc.path}/`));
  const find = (what: string, kinds: readonly InventoryKind[], wanted: string, base: string): InventoryItem | undefined => {
    const found = inventoryLookup(inDc, kinds, wanted, dc.path, base);
    if (found === 'ambiguous') missing.push(`${what} "${wanted}" is ambiguous in datacenter ${dc.name}; give its path`);
    else if (found.length === 0) missing.push(`${what} "${wanted}" not found in datacenter ${dc.name}`);
    return found === 'ambiguous' ? undefined : found[0];
  };
  const parentFolder = find('folder', ['folder'], placement.folder, 'vm');
  const compute = find('compute cluster or resource pool', ['cluster', 'resourcepool'], placement.computeResource, 'host');
  const datastore = find('datastore', ['datastore'], placement.datastore, 'datastore');
  const network = find('network', ['network'], placement.network, 'network');
  const template = find('template', ['template', 'vm'], cluster.template, 'vm');
  let pool: InventoryItem | undefined;
  if (compute?.kind === 'cluster') {
    // A compute cluster places VMs in its root pool, `<cluster path>/Resources`.
    pool = inDc.find((i) => i.kind === 'resourcepool' && i.path === `${compute.path}/Resources`);
    if (!pool) missing.push(`compute cluster "${placement.computeResource}" has no root resource pool`);
  } else {
    pool = compute;
  }
  if (missing.length > 0) throw new PcgError('PCG_ERR_PLACEMENT_UNKNOWN', missing.join('; '));
  if (template!.kind !== 'template') {
    throw new PcgError('PCG_ERR_TEMPLATE_INVALID', `"${cluster.template}" (${template!.path}) is a VM, not a template`);
  }
  const folderName = clusterFolderName(cluster);
  const clusterFolderPath = `${parentFolder!.path}/${folderName}`;
  const clusterFolder = inDc.find((i) => i.kind === 'folder' && i.path === clusterFolderPath);
  return {
    datacenter: entity(dc), parentFolder: entity(parentFolder!), clusterFolder: clusterFolder ? entity(clusterFolder) : undefined, clusterFolderPath,
    pool: entity(pool!), datastore: entity(datastore!), network: entity(network!), template: entity(template!),
  };
}
