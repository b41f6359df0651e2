import { PcgError } from '../../proto/errors.js';
import type { NodeStatus } from '../../proto/schemas/jobs.js';
import { readInventory } from '../vsphere/inventory.js';
import type { VmFacts } from '../vsphere/vm-facts.js';
import { resolveOpenCalls } from './call-resolver.js';
import { ensureClusterFolder } from './cluster-folder.js';
import { allOrAbort, throwIfCancelled, type ClusterRun } from './cluster-run.js';
import { clusterSecrets } from './cluster-secrets.js';
import { findClusterVms } from './cluster-vms.js';
import { IpWaiter } from './ip-waiter.js';
import { buildNode, type BuildShared, type BuiltNode } from './node-builder.js';
import { nodeIdentity, type NodeIdentity } from './node-identity.js';
import { removeVm } from './node-removal.js';
import { resolvePlacement } from './placement-resolver.js';
import { readTemplateHardware } from './template-hardware.js';
import { Semaphore } from './semaphore.js';

/**
 * Makes vSphere hold exactly the spec's nodes (create, scale, repair):
 *
 * ```
 *  inventory (1 read) → placement → template devices, network backing (1–2 reads) → cluster CA
 *   → open calls of a crashed run → folder → the cluster's VMs
 *   → per node, clones bounded: [clone if absent] → [power on if off] → address
 *   → every node phoned home → VMs of nodes no longer wanted removed, newest first
 * ```
 *
 * With DHCP the first control plane goes first: the others' userdata carries its address.
 */
export async function applyCluster(run: ClusterRun): Promise<NodeStatus[]> {
  const { cluster, context } = run;
  const placement = resolvePlacement(await readInventory(run.session), cluster);
  context.event('placement', `datacenter ${placement.datacenter.name}, pool ${placement.pool.path}, datastore ${placement.datastore.name}, network ${placement.network.name}, template ${placement.template.name}`);
  // Per job, before anything is made: a template or network no node can use fails here, and the
  // CA exists (kept) before any userdata that carries it or its hash is written.
  const hardware = await readTemplateHardware(run.session, placement);
  const secrets = await clusterSecrets(cluster.clusterId, run.clusterKeys);
  const open = await resolveOpenCalls(run, 'apply');
  throwIfCancelled(run);
  const folder = await ensureClusterFolder(run, placement, open);
  const desired = cluster.nodes.map((n) => nodeIdentity(cluster, n));
  const vms = await findClusterVms(run.session, run.ops, cluster, folder, placement.datacenter.ref, desired.map((d) => d.node.name));
  for (const record of open) {
    const vm = vms.byNode.get(record.node);
    // A clone intent of a crashed run whose VM the lookup found: that clone happened.
    if (record.op === 'clone' && vm) context.calls.finished(cluster.clusterId, record.node, 'clone', 'done', vm.ref.value);
  }
  const shared: BuildShared = {
    placement, folder, hardware, secrets,
    cloneSlots: new Semaphore(run.cloneConcurrency), ipWaiter: new IpWaiter(run.session, { pollMs: run.ipPollMs, clock: run.clock, signal: run.signal }),
  };
  const first = desired.find((d) => d.node.role === 'control-plane') ?? desired[0];
  const build = (identity: NodeIdentity, joinAddress: string | undefined): Promise<BuiltNode> =>
    buildNode(run, shared, identity, vms.byNode.get(identity.node.name), identity === first, joinAddress);
  const built = new Map<string, BuiltNode>();
  let joinAddress = first?.node.address?.ip;
  if (first && joinAddress === undefined) {
    const cp = await build(first, undefined);
    built.set(cp.name, cp);
    joinAddress = cp.ip ?? undefined;
  }
  const rest = desired.filter((d) => !built.has(d.node.name));
  for (const node of await allOrAbort(run, rest.map((d) => build(d, joinAddress)))) built.set(node.name, node);
  await allOrAbort(run, desired.map((d) => waitReady(run, d)));
  await removeUnwanted(run, vms.byNode, new Set(desired.map((d) => d.node.name)));
  context.event('done', `${desired.length} node(s) running`);
  return desired.map((d) => ({ ...built.get(d.node.name)!, ready: true }));
}

async function waitReady(run: ClusterRun, identity: NodeIdentity): Promise<void> {
  const node = identity.node.name;
  try {
    await run.context.readiness.waitReady(run.cluster.clusterId, node, { timeoutMs: run.readyTimeoutMs, signal: run.signal });
  } catch (err) {
    throwIfCancelled(run);
    if (err instanceof PcgError && err.code === 'PCG_ERR_NODE_TIMEOUT') {
      throw new PcgError('PCG_ERR_NODE_TIMEOUT', `node ${node} (VM ${identity.vmName}) did not report ready within ${run.readyTimeoutMs} ms`, { cause: err });
    }
    throw err;
  }
  run.context.event('ready', `${identity.vmName} reported ready`, { node });
}

/** Trailing number of a node name (`worker-12` → 12): higher is newer, as the relay numbers nodes. */
const ordinal = (node: string): number => Number(/(\d+)$/.exec(node)?.[1] ?? -1);

/**
 * Scale down: VMs of this cluster's nodes that the spec no longer has, newest first and one at a
 * time, so an interrupted scale-down has removed the newest. Strays in the folder (VMs not
 * named like a node of this cluster) are left alone: only a delete removes what it did not make.
 */
async function removeUnwanted(run: ClusterRun, byNode: ReadonlyMap<string, VmFacts>, wanted: ReadonlySet<string>): Promise<void> {
  const unwanted = [...byNode].filter(([node]) => !wanted.has(node))
    .sort(([a], [b]) => ordinal(b) - ordinal(a) || b.localeCompare(a));
  for (const [node, vm] of unwanted) await removeVm(run, node, vm, node);
}
