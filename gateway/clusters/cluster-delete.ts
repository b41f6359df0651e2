import { readInventory } from '../vsphere/inventory.js';
import { resolveOpenCalls } from './call-resolver.js';
import { locateClusterFolder } from './cluster-folder-locator.js';
import { allOrAbort, throwIfCancelled, type ClusterRun } from './cluster-run.js';
import { findClusterVms } from './cluster-vms.js';
import { journaledTask } from './journaled-task.js';
import { removeVm } from './node-removal.js';
import { Semaphore } from './semaphore.js';

/**
 * Removes every VM of the cluster and its folder. Clones a crashed run left in flight are
 * cancelled or waited out first, then the VMs are found by name (everything in the folder) and
 * by instance UUID (the spec's nodes, wherever they were moved), powered off and destroyed. The
 * folder goes last: destroying it also takes a VM a clone whose task was never journaled made
 * meanwhile, and a clone still running into it fails. Half-made or already gone: nothing to
 * find is success.
 */
export async function deleteCluster(run: ClusterRun): Promise<void> {
  const { cluster, context } = run;
  const clusterId = cluster.clusterId;
  const { datacenter, folder } = locateClusterFolder(await readInventory(run.session), cluster);
  await resolveOpenCalls(run, 'delete');
  throwIfCancelled(run);
  const names = cluster.nodes.map((n) => n.name);
  const vms = await findClusterVms(run.session, run.ops, cluster, folder?.ref, datacenter?.ref, names);
  context.event('delete', `${vms.byNode.size + vms.strays.length} VM(s) to remove${folder ? ` in ${folder.path}` : ''}`);
  const slots = new Semaphore(run.cloneConcurrency);
  await allOrAbort(run, [
    ...[...vms.byNode].map(([node, vm]) => slots.use(() => removeVm(run, node, vm, node))),
    ...vms.strays.map((vm) => slots.use(() => removeVm(run, vm.name, vm, undefined))),
  ]);
  if (folder) {
    throwIfCancelled(run);
    await journaledTask(run, '', 'destroy-folder', () => run.ops.startDestroy(folder.ref), (fault) => fault.is('ManagedObjectNotFound') ? folder.ref : undefined);
    context.event('delete', `folder ${folder.path} removed`);
  }
  for (const node of names) context.readiness.forget(clusterId, node);
  // Last: a delete that crashed before this point still finds the CA if the cluster is applied again.
  await run.clusterKeys.forgetCluster(clusterId);
  // Intents of a crashed run that never reached a task: whatever they did is gone with the folder.
  for (const record of context.calls.unresolved(clusterId)) context.calls.finished(clusterId, record.node, record.op, 'failed');
  context.event('done', 'cluster deleted');
}
