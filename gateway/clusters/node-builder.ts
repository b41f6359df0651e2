import { PcgError } from '../../proto/errors.js';
import type { NodeStatus } from '../../proto/schemas/jobs.js';
import { findByInventoryPath } from '../vsphere/finder.js';
import type { MoRef } from '../vsphere/soap-xml.js';
import type { VimFault } from '../vsphere/vim-fault.js';
import type { VmFacts } from '../vsphere/vm-facts.js';
import type { ClusterSecrets } from './cluster-secrets.js';
import { throwIfCancelled, type ClusterRun } from './cluster-run.js';
import type { IpWaiter } from './ip-waiter.js';
import { journaledTask } from './journaled-task.js';
import { nodeGuestinfo } from './node-guestinfo.js';
import type { NodeIdentity } from './node-identity.js';
import type { ResolvedPlacement } from './placement-resolver.js';
import type { Semaphore } from './semaphore.js';
import { nodeDeviceEdits, type TemplateHardware } from './template-hardware.js';

/** What every node of one apply shares. */
export interface BuildShared {
  readonly placement: ResolvedPlacement;
  readonly folder: MoRef;
  readonly secrets: ClusterSecrets;
  /** The template's NIC and disk as read once for the job. */
  readonly hardware: TemplateHardware;
  readonly cloneSlots: Semaphore;
  readonly ipWaiter: IpWaiter;
}

/** A node with its VM powered on and an address; readiness is awaited by the caller. */
export type BuiltNode = Omit<NodeStatus, 'ready'>;

/**
 * One node: clone it unless its VM exists → power it on unless on → wait for its address.
 * `existing` is what the lookup found (by name in the folder or by instance UUID).
 */
export async function buildNode(run: ClusterRun, shared: BuildShared, identity: NodeIdentity, existing: VmFacts | undefined, init: boolean, joinAddress: string | undefined): Promise<BuiltNode> {
  const node = identity.node.name;
  let vm = existing;
  if (vm) {
    run.context.event('clone', `VM ${vm.name} exists (${vm.ref.value}), not cloned`, { node });
  } else {
    vm = await shared.cloneSlots.use(() => cloneNode(run, shared, identity, init, joinAddress));
  }
  if (vm.powerState !== 'poweredOn') {
    throwIfCancelled(run);
    run.context.event('power-on', `powering on ${vm.name}`, { node });
    const ref = vm.ref;
    await journaledTask(run, node, 'power-on', () => run.ops.startPowerOn(ref), (fault) => fault.is('InvalidPowerState') ? ref : undefined);
    vm = { ...vm, powerState: 'poweredOn', ipAddress: null };
  }
  if (!vm.ipAddress) {
    throwIfCancelled(run);
    vm = await shared.ipWaiter.wait(vm.ref, node, run.readyTimeoutMs);
  }
  run.context.event('ip', `${vm.name} has address ${vm.ipAddress}`, { node });
  return { name: node, role: identity.node.role, vm: vm.ref.value, instanceUuid: vm.instanceUuid || identity.instanceUuid, ip: vm.ipAddress };
}

async function cloneNode(run: ClusterRun, shared: BuildShared, identity: NodeIdentity, init: boolean, joinAddress: string | undefined): Promise<VmFacts> {
  throwIfCancelled(run);
  const { placement, folder } = shared;
  const { readiness } = run.context;
  const node = identity.node.name;
  // A clone is a new machine (a repair of a VM removed by hand, a retry on a fresh vCenter): it must
  // phone home itself; a report of the VM it replaces must not count.
  readiness.forget(run.cluster.clusterId, node);
  const extraConfig = nodeGuestinfo({
    cluster: run.cluster, identity, init, joinAddress, endpoint: readiness.endpoint,
    nodeToken: readiness.tokenFor(run.cluster.clusterId, node), secrets: shared.secrets,
  });
  const { edits, kept } = nodeDeviceEdits(shared.hardware, identity.node);
  if (kept) {
    run.context.event('clone', `template disk of ${kept.templateGiB} GiB is larger than the ${identity.node.diskGiB} GiB asked for; kept (a disk is never shrunk)`, { node, level: 'warn' });
  }
  run.context.event('clone', `cloning ${identity.vmName} from ${placement.template.name}`, { node });
  // The name in the folder is the reservation: a second clone of it fails (DuplicateName; vcsim:
  // FileAlreadyExists on the same datastore path), whoever issued the first. Then it exists: find it.
  const exists = async (fault: VimFault): Promise<MoRef | undefined> => {
    if (!fault.is('DuplicateName') && !fault.is('FileAlreadyExists')) return undefined;
    const found = await findByInventoryPath(run.session, `${placement.clusterFolderPath}/${identity.vmName}`)
      ?? await run.ops.findByInstanceUuid(identity.instanceUuid, placement.datacenter.ref);
    if (!found) {
      throw new PcgError('PCG_ERR_VCENTER_FAULT', `the name ${identity.vmName} is taken (${fault.faultType}) but no VM of that name or instance UUID is in ${placement.clusterFolderPath}; remove the leftover files or VM in vCenter`, { cause: fault });
    }
    run.context.event('clone', `VM ${identity.vmName} already exists (${found.value}), using it`, { node });
    return found;
  };
  const { result } = await journaledTask(run, node, 'clone', () => run.ops.startClone(placement.template.ref, folder, identity.vmName, {
    location: { folder, datastore: placement.datastore.ref, pool: placement.pool.ref },
    // deviceChange edits the source's devices by key: the NIC onto the placement network, the
    // first disk grown to diskGiB (the clone's copy of it; the template is untouched).
    config: { instanceUuid: identity.instanceUuid, numCPUs: identity.node.cpus, memoryMB: identity.node.memoryMiB, deviceChange: edits, extraConfig },
    powerOn: false,
  }), exists);
  if (!result) throw new PcgError('PCG_ERR_VCENTER_FAULT', `CloneVM_Task for ${identity.vmName} returned no VM`);
  // A VM found after DuplicateName may be in any state; a fresh clone is off (powerOn false).
  return { ref: result, name: identity.vmName, instanceUuid: '', powerState: 'unknown', ipAddress: null, template: false };
}
