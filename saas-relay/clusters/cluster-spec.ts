import type { ClusterSpec, NodeRole, NodeSpec, Placement } from '../../proto/schemas/jobs.js';
import type { ClusterNodeTable, ClusterTable, IpPoolTable } from '../store/schema.js';
import type { ClusterProfile } from '../store/profile-store.js';
import { compareNodes } from '../store/cluster-store.js';

/** Sizes of the two node pools as stored on the cluster (`clusters.node_pools`). */
export interface NodePoolSizes {
  readonly controlPlane: { readonly count: number; readonly cpus: number; readonly memoryMiB: number; readonly diskGiB: number };
  readonly workers: { readonly count: number; readonly cpus: number; readonly memoryMiB: number; readonly diskGiB: number };
}

export type ClusterAddressing = { readonly mode: 'dhcp' } | { readonly mode: 'static'; readonly poolId: string };

export interface ClusterSpecInput {
  readonly cluster: Pick<ClusterTable, 'id' | 'name' | 'placement' | 'node_pools'>;
  readonly profile: Pick<ClusterProfile, 'packs' | 'template'>;
  /** The nodes the job is about: the desired set for apply, every node for delete. */
  readonly nodes: ReadonlyArray<Pick<ClusterNodeTable, 'name' | 'role'>>;
  /** Static addresses by node name; empty for DHCP. */
  readonly addresses: ReadonlyMap<string, string>;
  /** The static pool, for prefix, gateway, DNS and search domains; undefined for DHCP. */
  readonly pool: Pick<IpPoolTable, 'prefix' | 'gateway' | 'dns' | 'search_domains'> | undefined;
}

/**
 * The ClusterSpec a job carries: everything the gateway needs, resolved now, so a job means the
 * same thing whenever and wherever it runs (the profile or pool may change later).
 */
export function buildClusterSpec(input: ClusterSpecInput): ClusterSpec {
  const pools = JSON.parse(input.cluster.node_pools) as NodePoolSizes;
  const network = input.pool && {
    prefix: input.pool.prefix,
    ...(input.pool.gateway !== null ? { gateway: input.pool.gateway } : {}),
    dns: JSON.parse(input.pool.dns) as string[],
    searchDomains: JSON.parse(input.pool.search_domains) as string[],
  };
  const nodes = [...input.nodes].sort(compareNodes).map((node): NodeSpec => {
    const size = node.role === 'control-plane' ? pools.controlPlane : pools.workers;
    const ip = input.addresses.get(node.name);
    return {
      name: node.name, role: node.role, cpus: size.cpus, memoryMiB: size.memoryMiB, diskGiB: size.diskGiB,
      ...(network && ip !== undefined ? { address: { ip, ...network } } : {}),
    };
  });
  return {
    clusterId: input.cluster.id,
    name: input.cluster.name,
    template: input.profile.template,
    placement: JSON.parse(input.cluster.placement) as Placement,
    nodes,
    packs: input.profile.packs.map((p) => ({ ...p })),
  };
}

/** A new node row: desired, not built yet. */
export function desiredNode(clusterId: string, name: string, role: NodeRole, now: number): ClusterNodeTable {
  return { cluster_id: clusterId, name, role, state: 'desired', vm: null, instance_uuid: null, ip: null, ready: 0, updated_at: now };
}

/** Node names for a new cluster: `cp-0..cp-(n-1)`, `worker-0..worker-(m-1)`. */
export function initialNodeNames(controlPlanes: number, workers: number): Array<{ name: string; role: NodeRole }> {
  return [
    ...Array.from({ length: controlPlanes }, (_, i) => ({ name: `cp-${i}`, role: 'control-plane' as const })),
    ...Array.from({ length: workers }, (_, i) => ({ name: `worker-${i}`, role: 'worker' as const })),
  ];
}
