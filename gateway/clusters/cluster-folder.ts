import type { CallRecord } from '../jobs/job-executor.js';
import { findByInventoryPath } from '../vsphere/finder.js';
import type { MoRef } from '../vsphere/soap-xml.js';
import { VimFault } from '../vsphere/vim-fault.js';
import { throwIfCancelled, type ClusterRun } from './cluster-run.js';
import { clusterFolderName } from './node-identity.js';
import type { ResolvedPlacement } from './placement-resolver.js';

/**
 * The cluster's own folder, made once. CreateFolder is no task: the intent is journaled, then
 * the call; DuplicateName means an earlier run (or a racing one) made it, so it is looked up by
 * path. `open` are the records a crashed run left: an open create-folder intent is settled here.
 */
export async function ensureClusterFolder(run: ClusterRun, placement: ResolvedPlacement, open: readonly CallRecord[]): Promise<MoRef> {
  const { calls, checkpoint, jobId } = run.context;
  const clusterId = run.cluster.clusterId;
  const pending = open.some((r) => r.node === '' && r.op === 'create-folder');
  if (placement.clusterFolder) {
    if (pending) calls.finished(clusterId, '', 'create-folder', 'done', placement.clusterFolder.ref.value);
    return placement.clusterFolder.ref;
  }
  throwIfCancelled(run);
  const name = clusterFolderName(run.cluster);
  calls.intent(clusterId, '', 'create-folder', jobId);
  checkpoint('create-folder.intent');
  let folder: MoRef | undefined;
  try {
    folder = await run.ops.createFolder(placement.parentFolder.ref, name);
  } catch (err) {
    if (!(err instanceof VimFault)) throw err;
    folder = err.is('DuplicateName') ? await findByInventoryPath(run.session, placement.clusterFolderPath) : undefined;
    if (!folder) {
      calls.finished(clusterId, '', 'create-folder', 'failed');
      throw err;
    }
  }
  calls.finished(clusterId, '', 'create-folder', 'done', folder.value);
  checkpoint('create-folder.done');
  run.context.event('folder', `folder ${placement.clusterFolderPath} ready`);
  return folder;
}
