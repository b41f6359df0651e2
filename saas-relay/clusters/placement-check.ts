import { PcgError } from '../../proto/errors.js';
import type { InventoryItem, InventoryKind } from '../../proto/schemas/inventory.js';
import type { Placement } from '../../proto/schemas/jobs.js';

/** The one thing the check needs of a gateway: its live inventory of one kind (in one datacenter). */
export type InventoryReader = (kind: InventoryKind, datacenter?: string) => Promise<InventoryItem[]>;

/** Which inventory kinds may stand for each placement field. */
const FIELDS: ReadonlyArray<{ readonly field: Exclude<keyof Placement, 'datacenter'>; readonly kinds: readonly InventoryKind[] }> = [
  { field: 'folder', kinds: ['folder'] },
  // A compute cluster, a resource pool (vApps included) or a standalone host.
  { field: 'computeResource', kinds: ['cluster', 'resourcepool', 'host'] },
  { field: 'datastore', kinds: ['datastore'] },
  { field: 'network', kinds: ['network'] },
];

/**
 * A placement value names an object by its name, its full inventory path (`/DC0/vm/pcg`) or a path
 * below the datacenter (`vm/pcg`, `host/C0/Resources`), as the gateway resolves it at run time.
 */
export function namesItem(item: InventoryItem, value: string): boolean {
  const trimmed = value.replace(/^\/+|\/+$/g, '');
  return item.name === value || item.path === value || item.path === `/${trimmed}` || item.path.endsWith(`/${trimmed}`);
}

/**
 * Checks a placement and template against the gateway's live inventory before anything is queued:
 * every name must exist in the datacenter (PCG_ERR_PLACEMENT_UNKNOWN naming the field and value),
 * and the template must be a template, not a VM (PCG_ERR_TEMPLATE_INVALID): a clone of a plain VM
 * brings its machine id and addresses along. The inventory kinds are read at once.
 */
export async function checkPlacement(read: InventoryReader, placement: Placement, template: string): Promise<void> {
  const kinds: InventoryKind[] = ['folder', 'cluster', 'resourcepool', 'host', 'datastore', 'network', 'template'];
  const [datacenters, ...lists] = await Promise.all([read('datacenter'), ...kinds.map((kind) => read(kind, placement.datacenter))]);
  if (!datacenters.some((dc) => dc.name === placement.datacenter || dc.path === placement.datacenter)) {
    throw unknown('datacenter', placement.datacenter, datacenters.map((dc) => dc.name));
  }
  const byKind = new Map(kinds.map((kind, i) => [kind, lists[i]!.filter((item) => item.datacenter === null || item.datacenter === placement.datacenter)]));
  for (const { field, kinds: allowed } of FIELDS) {
    const candidates = allowed.flatMap((kind) => byKind.get(kind) ?? []);
    if (!candidates.some((item) => namesItem(item, placement[field]))) throw unknown(field, placement[field], candidates.map((c) => c.path), placement.datacenter);
  }
  const templates = byKind.get('template') ?? [];
  if (!templates.some((item) => namesItem(item, template))) {
    const known = templates.map((t) => t.name).slice(0, 10).join(', ');
    throw new PcgError('PCG_ERR_TEMPLATE_INVALID',
      `the profile's template "${template}" is not a VM template in datacenter ${placement.datacenter} (a plain VM of that name is not accepted)${known ? `; templates there: ${known}` : ''}`);
  }
}

function unknown(field: keyof Placement, value: string, known: readonly string[], datacenter?: string): PcgError {
  const some = known.slice(0, 10).join(', ');
  return new PcgError('PCG_ERR_PLACEMENT_UNKNOWN',
    `placement.${field} "${value}" does not exist${datacenter ? ` in datacenter ${datacenter}` : ''}${some ? `; known: ${some}` : ''}`);
}
