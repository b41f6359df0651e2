import type { ClusterSpec } from '../../proto/schemas/jobs.js';
import type { MoRef } from '../vsphere/soap-xml.js';
import { readFolderVms, readVms, type VmFacts } from '../vsphere/vm-facts.js';
import type { VimSession } from '../vsphere/vim-session.js';
import type { VmOperations } from '../vsphere/vm-operations.js';
import { instanceUuidFor, nodeOfVmName } from './node-identity.js';

/** A cluster's VMs as found in vCenter. */
export interface ClusterVms {
  /** By node name: found by name in the cluster folder, or by instance UUID wherever it is. */
  readonly byNode: Map<string, VmFacts>;
  /** VMs in the cluster's folder whose name is no node's of this cluster (a delete removes them too). */
  readonly strays: VmFacts[];
}

/**
 * Finds the cluster's VMs: one read of the folder (name is the reservation: by name), then for
 * each of `expected` not seen there a FindByUuid on its derived instance UUID (a VM moved out of
 * the folder by an admin), then one read of what those found. Requests: 3 + 1 per node not in the
 * folder + 1, so a lookup never costs more per node as the cluster grows.
 */
export async function findClusterVms(
  session: VimSession, ops: VmOperations, cluster: Pick<ClusterSpec, 'clusterId' | 'name'>,
  folder: MoRef | undefined, datacenter: MoRef | undefined, expected: readonly string[],
): Promise<ClusterVms> {
  const byNode = new Map<string, VmFacts>();
  const strays: VmFacts[] = [];
  for (const vm of folder ? await readFolderVms(session, folder) : []) {
    const node = nodeOfVmName(cluster, vm.name);
    if (node !== undefined && !byNode.has(node)) byNode.set(node, vm);
    else strays.push(vm);
  }
  const unseen = expected.filter((n) => !byNode.has(n));
  const found = await Promise.all(unseen.map(async (node) => [node, await ops.findByInstanceUuid(instanceUuidFor(cluster.clusterId, node), datacenter)] as const));
  const refs = found.filter((f): f is readonly [string, MoRef] => f[1] !== undefined);
  const facts = new Map((await readVms(session, refs.map(([, ref]) => ref))).map((f) => [f.ref.value, f]));
  for (const [node, ref] of refs) {
    const vm = facts.get(ref.value);
    if (vm) byNode.set(node, vm);
  }
  return { byNode, strays };
}
