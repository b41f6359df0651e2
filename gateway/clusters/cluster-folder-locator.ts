import type { ClusterSpec } from '../../proto/schemas/jobs.js';
import type { Inventory } from '../vsphere/inventory.js';
import { findDatacenters, inventoryLookup, placedEntity, type PlacedEntity } from './inventory-lookup.js';
import { clusterFolderName } from './node-identity.js';

export interface ClusterFolderLocation {
  /** Undefined when the datacenter is gone (or its name is now ambiguous). */
  readonly datacenter: PlacedEntity | undefined;
  /** Undefined when the folder does not exist (never made, already deleted). */
  readonly folder: PlacedEntity | undefined;
}

/**
 * Where a built cluster's folder is, without judging the rest of the placement: a delete or a
 * drift check must work when the template or datastore the cluster was made from is long gone.
 */
export function locateClusterFolder(inventory: Inventory, cluster: Pick<ClusterSpec, 'clusterId' | 'name' | 'placement'>): ClusterFolderLocation {
  const dcs = findDatacenters(inventory.items, cluster.placement.datacenter);
  if (dcs.length !== 1) return { datacenter: undefined, folder: undefined };
  const dc = dcs[0]!;
  const inDc = inventory.items.filter((i) => i.datacenter === dc.name && i.path.startsWith(`${dc.path}/`));
  const parents = inventoryLookup(inDc, ['folder'], cluster.placement.folder, dc.path, 'vm');
  const parent = parents === 'ambiguous' ? undefined : parents[0];
  const name = clusterFolderName(cluster);
  // By path under the parent, or (the parent renamed or gone) by its unique name anywhere in the datacenter.
  const folder = (parent && inDc.find((i) => i.kind === 'folder' && i.path === `${parent.path}/${name}`))
    ?? inDc.find((i) => i.kind === 'folder' && i.name === name);
  return { datacenter: placedEntity(dc), folder: folder ? placedEntity(folder) : undefined };
}
