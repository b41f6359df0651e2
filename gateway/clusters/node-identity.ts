/**
 * Names and ids of a cluster's VMs, derived from (cluster id, cluster name, node name) alone, so a
 * run after a crash computes exactly what the crashed run used: the VM name in the cluster's
 * folder is what vCenter reserves (a second clone of it fails with DuplicateName), the instance
 * UUID is the fast lookup (vCenter does not refuse a duplicate, it silently assigns another).
 */
import { createHash } from 'node:crypto';
import { v5 as uuidv5 } from 'uuid';
import type { ClusterSpec, NodeSpec } from '../../proto/schemas/jobs.js';

/** PCG's UUID v5 namespace (a fixed random UUID): instance UUIDs of two products never collide. */
export const PCG_NODE_NAMESPACE = '6f1b7c2e-8a43-4d0e-9b6c-0c1d5e2f7a94';

const MAX_LABEL = 63;

/** Six hex characters of the cluster id's hash: two clusters of the same name get different VM and folder names. */
export function clusterFragment(clusterId: string): string {
  return createHash('sha256').update(clusterId).digest('hex').slice(0, 6);
}

/**
 * The cluster's own VM folder: `pcg-<cluster name>-<fragment>`. vcsim (and a datastore browser)
 * place a VM's files by VM name, not by folder, so uniqueness must come from the names themselves.
 */
export function clusterFolderName(cluster: Pick<ClusterSpec, 'clusterId' | 'name'>): string {
  return `pcg-${cluster.name}-${clusterFragment(cluster.clusterId)}`;
}

/**
 * `<cluster name>-<node name>-<fragment>`, a lowercase DNS label (the guest's host name too).
 * When that exceeds 63 characters the cluster name part is shortened, never the node name, so
 * nodeOfVmName can read the node back.
 */
export function vmNameFor(cluster: Pick<ClusterSpec, 'clusterId' | 'name'>, node: string): string {
  const suffix = `-${node}-${clusterFragment(cluster.clusterId)}`;
  const prefix = cluster.name.slice(0, MAX_LABEL - suffix.length).replace(/-+$/, '');
  return prefix + suffix;
}

/** The node a VM name belongs to, or undefined when the name is not one vmNameFor would make for this cluster. */
export function nodeOfVmName(cluster: Pick<ClusterSpec, 'clusterId' | 'name'>, vmName: string): string | undefined {
  const tail = `-${clusterFragment(cluster.clusterId)}`;
  if (!vmName.endsWith(tail)) return undefined;
  const rest = vmName.slice(0, -tail.length);
  // The prefix is a (possibly shortened) cluster name: try each dash as the split, verify by recomputing.
  for (let i = rest.indexOf('-'); i > 0; i = rest.indexOf('-', i + 1)) {
    const node = rest.slice(i + 1);
    if (node !== '' && vmNameFor(cluster, node) === vmName) return node;
  }
  return undefined;
}

/** The instance UUID of (cluster, node): UUID v5, stable across runs, gateways and restarts. */
export function instanceUuidFor(clusterId: string, node: string): string {
  return uuidv5(`${clusterId}/${node}`, PCG_NODE_NAMESPACE);
}

export interface NodeIdentity {
  readonly node: NodeSpec;
  readonly vmName: string;
  readonly instanceUuid: string;
}

export function nodeIdentity(cluster: Pick<ClusterSpec, 'clusterId' | 'name'>, node: NodeSpec): NodeIdentity {
  return { node, vmName: vmNameFor(cluster, node.name), instanceUuid: instanceUuidFor(cluster.clusterId, node.name) };
}
