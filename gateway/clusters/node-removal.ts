import type { VmFacts } from '../vsphere/vm-facts.js';
import { throwIfCancelled, type ClusterRun } from './cluster-run.js';
import { journaledTask } from './journaled-task.js';

/**
 * Powers a VM off and destroys it, each under the journal. A VM that is already off
 * (InvalidPowerState) or already gone (ManagedObjectNotFound) is what we wanted: no error.
 * `node` keys the journal; `eventNode` is set only for a real node name (events carry DNS labels).
 */
export async function removeVm(run: ClusterRun, node: string, vm: VmFacts, eventNode: string | undefined): Promise<void> {
  throwIfCancelled(run);
  const at = eventNode ? { node: eventNode } : {};
  run.context.event('remove', `removing VM ${vm.name} (${vm.ref.value})`, at);
  if (vm.powerState !== 'poweredOff') {
    await journaledTask(run, node, 'power-off', () => run.ops.startPowerOff(vm.ref),
      (fault) => fault.is('InvalidPowerState') || fault.is('ManagedObjectNotFound') ? vm.ref : undefined);
  }
  throwIfCancelled(run);
  await journaledTask(run, node, 'destroy', () => run.ops.startDestroy(vm.ref), (fault) => fault.is('ManagedObjectNotFound') ? vm.ref : undefined);
  if (eventNode) run.context.readiness.forget(run.cluster.clusterId, eventNode);
  run.context.event('removed', `VM ${vm.name} destroyed`, at);
}
