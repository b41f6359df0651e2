import type { InventoryItem as TunnelInventoryItem, InventoryKind as TunnelInventoryKind, NetworkType } from '../../proto/schemas/inventory.js';
import { decodeEntityName } from './entity-name.js';
import { containerViewObjectSpec, retrieveProperties, withContainerView, type ObjectContent } from './property-collector.js';
import { moRef, text, toArray, type MoRef } from './soap-xml.js';
import type { VimSession } from './vim-session.js';

/** What the reader sees: the kinds the tunnel serves plus plain VMs (counted, checked, never served). */
export type InventoryKind = TunnelInventoryKind | 'vm';
export type InventoryItem = Omit<TunnelInventoryItem, 'kind'> & { readonly kind: InventoryKind };

export interface Inventory {
  readonly items: readonly InventoryItem[];
  readonly counts: Readonly<Record<InventoryKind, number>>;
}

const VIEW_TYPES = ['Datacenter', 'Folder', 'ComputeResource', 'HostSystem', 'ResourcePool', 'Datastore', 'Network', 'VirtualMachine'];

// Each concrete type is named: the collector matches a PropertySpec to its exact type.
const REQUESTS = [
  { type: 'Datacenter', paths: ['name', 'parent'] },
  { type: 'Folder', paths: ['name', 'parent', 'childType'] },
  { type: 'ComputeResource', paths: ['name', 'parent'] },
  { type: 'ClusterComputeResource', paths: ['name', 'parent'] },
  { type: 'HostSystem', paths: ['name', 'parent'] },
  { type: 'ResourcePool', paths: ['name', 'parent'] },
  { type: 'VirtualApp', paths: ['name', 'parent'] },
  { type: 'Datastore', paths: ['name', 'parent', 'summary.capacity', 'summary.freeSpace'] },
  { type: 'Network', paths: ['name', 'parent'] },
  { type: 'DistributedVirtualPortgroup', paths: ['name', 'parent'] },
  // NSX-T segments: a Network subtype the 'Network' view type already shows, named here for the collector.
  { type: 'OpaqueNetwork', paths: ['name', 'parent'] },
  { type: 'VirtualMachine', paths: ['name', 'parent', 'config.template'] },
] as const;

export interface InventoryReadOptions {
  /** Objects per page (RetrievePropertiesEx maxObjects). @default vCenter's own limit */
  readonly pageSize?: number;
}

/**
 * The whole inventory in a constant number of round trips, whatever its size: one ContainerView
 * over the root folder, one RetrievePropertiesEx for every object (paged only if vCenter pages),
 * one DestroyView. If the session is renewed during the read, the view and any paging token died
 * with it: the read starts again in the new session, from a new view.
 */
export async function readInventory(session: Pick<VimSession, 'content' | 'renewable'>, options: InventoryReadOptions = {}): Promise<Inventory> {
  const objects = await session.renewable((scope) => withContainerView(scope, scope.content.rootFolder, VIEW_TYPES, (view) =>
    retrieveProperties(scope, REQUESTS, containerViewObjectSpec(view), options.pageSize)));
  return buildInventory(objects, session.content.rootFolder);
}

/** `name` as the user typed it; `escapedName` as vCenter sends it, the form inventory paths use. */
interface Node { readonly obj: MoRef; readonly name: string; readonly escapedName: string; readonly parent: MoRef | undefined; readonly content: ObjectContent }

export function buildInventory(objects: readonly ObjectContent[], root: MoRef): Inventory {
  const nodes = new Map<string, Node>();
  for (const content of objects) {
    const parent = content.props.parent;
    const escapedName = text(content.props.name);
    nodes.set(content.obj.value, { obj: content.obj, name: decodeEntityName(escapedName), escapedName, parent: parent ? moRef(parent) : undefined, content });
  }
  // Paths join escaped names, as vCenter's own inventory paths do (FindByInventoryPath reads
  // them back): a `/` inside a name stays `%2f` and never reads as a separator.
  const pathOf = (node: Node): { path: string; datacenter: string | null } => {
    const names: string[] = [];
    let datacenter: string | null = null;
    for (let n: Node | undefined = node; n && n.obj.value !== root.value; n = n.parent ? nodes.get(n.parent.value) : undefined) {
      names.unshift(n.escapedName);
      if (n.obj.type === 'Datacenter') datacenter = n.name;
    }
    return { path: `/${names.join('/')}`, datacenter };
  };
  const items: InventoryItem[] = [];
  for (const node of nodes.values()) {
    const kind = kindOf(node);
    if (!kind) continue;
    const { path, datacenter } = pathOf(node);
    const base = { kind, id: node.obj.value, name: node.name, path, datacenter };
    if (kind === 'datastore') {
      items.push({ ...base, capacity: Number(text(node.content.props['summary.capacity'])), freeSpace: Number(text(node.content.props['summary.freeSpace'])) });
    } else if (kind === 'network') {
      items.push({ ...base, networkType: NETWORK_TYPES[node.obj.type] ?? 'standard' });
    } else {
      items.push(base);
    }
  }
  items.sort((a, b) => a.path.localeCompare(b.path));
  const counts = Object.fromEntries(['datacenter', 'folder', 'cluster', 'host', 'resourcepool', 'datastore', 'network', 'template', 'vm'].map((k) => [k, 0])) as Record<InventoryKind, number>;
  for (const item of items) counts[item.kind]++;
  return { items, counts };
}

const NETWORK_TYPES: Readonly<Record<string, NetworkType>> = { DistributedVirtualPortgroup: 'distributed', OpaqueNetwork: 'opaque' };

function kindOf(node: Node): InventoryKind | undefined {
  switch (node.obj.type) {
    case 'Datacenter': return 'datacenter';
    // Only folders that hold VMs are placement targets for clones.
    // childType is an ArrayOfString: <val xsi:type="ArrayOfString"><string>…</string>…</val>.
    case 'Folder': return toArray((node.content.props.childType as { string?: unknown } | undefined)?.string).map(text).includes('VirtualMachine') ? 'folder' : undefined;
    case 'ClusterComputeResource': return 'cluster';
    case 'HostSystem': return 'host';
    case 'ResourcePool': case 'VirtualApp': return 'resourcepool';
    case 'Datastore': return 'datastore';
    case 'Network': case 'DistributedVirtualPortgroup': case 'OpaqueNetwork': return 'network';
    case 'VirtualMachine': return text(node.content.props['config.template']) === 'true' ? 'template' : 'vm';
    default: return undefined;
  }
}
