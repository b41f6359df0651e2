import type { VsphereOp } from '../jobs/job-executor.js';
import type { MoRef } from '../vsphere/soap-xml.js';
import type { TaskResult } from '../vsphere/task-waiter.js';
import { VimFault } from '../vsphere/vim-fault.js';
import type { ClusterRun } from './cluster-run.js';

/**
 * One state-changing vSphere task under the write-ahead discipline:
 *
 * ```
 *   journal intent ─ checkpoint <op>.intent ─ start ─ journal issued(task) ─ checkpoint <op>.issued
 *     ─ wait ─ journal finished ─ checkpoint <op>.done
 * ```
 *
 * A crash between intent and issued leaves an intent the next run resolves by looking the object
 * up; after issued, by waiting for the task. A vim fault is vCenter's answer (the call did or
 * achieved nothing): journaled as failed. A transport error or an aborted wait leaves the record
 * unresolved on purpose, because the task may still run: the next run resolves it.
 * `recover` may turn a fault into success (a clone whose name exists: the VM is there).
 */
export async function journaledTask(
  run: ClusterRun, node: string, op: VsphereOp, start: () => Promise<MoRef>,
  recover?: (fault: VimFault) => MoRef | undefined | Promise<MoRef | undefined>,
): Promise<TaskResult> {
  const { calls, checkpoint, jobId } = run.context;
  const clusterId = run.cluster.clusterId;
  calls.intent(clusterId, node, op, jobId);
  checkpoint(`${op}.intent`);
  let task: MoRef | undefined;
  try {
    task = await start();
    calls.issued(clusterId, node, op, task.value);
    checkpoint(`${op}.issued`);
    const result = await run.ops.waitTask(task, { signal: run.signal, timeoutMs: run.taskTimeoutMs, now: () => run.clock.now() });
    calls.finished(clusterId, node, op, 'done', result.result?.value);
    checkpoint(`${op}.done`);
    return result;
  } catch (err) {
    if (!(err instanceof VimFault)) throw err;
    const recovered = recover ? await recover(err) : undefined;
    if (!recovered) {
      calls.finished(clusterId, node, op, 'failed');
      throw err;
    }
    calls.finished(clusterId, node, op, 'done', recovered.value);
    checkpoint(`${op}.done`);
    return { task: task ?? { type: 'Task', value: '' }, result: recovered };
  }
}
