import type { CallRecord } from '../jobs/job-executor.js';
import { VimFault } from '../vsphere/vim-fault.js';
import type { ClusterRun } from './cluster-run.js';

/**
 * Resolves the calls a crashed run left open, before this run issues anything new:
 *
 * | record              | apply                                 | delete                               |
 * |---------------------|---------------------------------------|--------------------------------------|
 * | issued (task known) | wait for the task (it may have ended) | clone: CancelTask, then wait it out  |
 * | intent (no task)    | kept: the lookup by name/UUID decides | kept: the folder read and FindByUuid |
 *
 * After this, a clone that was in flight has either made its VM (found by the lookup that
 * follows) or failed; an intent whose call never reached vCenter is replaced by the next
 * intent of the same (node, op). Returns the records still open (intents only).
 */
export async function resolveOpenCalls(run: ClusterRun, mode: 'apply' | 'delete'): Promise<CallRecord[]> {
  const { calls } = run.context;
  const clusterId = run.cluster.clusterId;
  const open = calls.unresolved(clusterId);
  await Promise.all(open.filter((r) => r.state === 'issued' && r.task).map(async (record) => {
    const task = { type: 'Task', value: record.task! };
    if (mode === 'delete' && record.op === 'clone') {
      // No orphan VM: stop the clone if vCenter still can (vcsim 0.24 has no CancelTask; a task that ended is InvalidState).
      await run.ops.cancelTask(task).catch((err: unknown) => {
        if (!(err instanceof VimFault)) throw err;
      });
    }
    try {
      const result = await run.ops.waitTask(task, { signal: run.signal, timeoutMs: run.taskTimeoutMs, now: () => run.clock.now() });
      calls.finished(clusterId, record.node, record.op, 'done', result.result?.value);
      run.context.event('resume', `${record.op} of an earlier run finished (${task.value})`, record.node ? { node: record.node } : {});
    } catch (err) {
      // A fault: the task failed, or vCenter forgot it (restarted: ManagedObjectNotFound). The lookups decide.
      if (!(err instanceof VimFault)) throw err;
      calls.finished(clusterId, record.node, record.op, 'failed');
      run.log.info({ cluster: clusterId, node: record.node, op: record.op, task: task.value, fault: err.faultType }, 'open call of an earlier run ended with a fault');
    }
  }));
  return calls.unresolved(clusterId);
}
