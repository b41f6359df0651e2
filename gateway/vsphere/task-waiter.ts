import { PcgError } from '../../proto/errors.js';
import type { SessionScope } from './session-scope.js';
import { child, el, moRef, raw, text, toArray, xsiType, type MoRef } from './soap-xml.js';
import { VimFault } from './vim-fault.js';
import type { VimSession } from './vim-session.js';

export interface TaskResult {
  readonly task: MoRef;
  /** The task's result when it is a managed object (a clone's new VM), else undefined. */
  readonly result: MoRef | undefined;
}

export interface WaitOptions {
  /** Overall deadline. @default 600_000 */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  /** Told the task's progress (0–100) when vCenter reports it. */
  readonly onProgress?: (percent: number) => void;
  /** The clock the deadline is kept by (tests pass their own). @default Date.now */
  readonly now?: () => number;
}

type TaskInfo = Record<string, unknown>;

function faultOf(task: MoRef, info: TaskInfo): VimFault {
  const error = (info.error ?? {}) as Record<string, unknown>;
  const fault = (error.fault ?? {}) as Record<string, unknown>;
  const fields = Object.fromEntries(Object.entries(fault).filter(([k]) => !k.startsWith('@_')).map(([k, v]) => [k, typeof v === 'object' ? v : text(v)]));
  return new VimFault(xsiType(fault) ?? 'SystemError', text(error.localizedMessage), fields, `task ${task.value}`);
}

const cancelled = (task: MoRef, cause: unknown): PcgError =>
  new PcgError('PCG_ERR_VCENTER_TASK_CANCELLED', `waiting for ${task.value} was cancelled`, { cause });

/**
 * Waits for a task with WaitForUpdatesEx on a property collector of its own (so concurrent waits
 * never share a version stream), bounded by a deadline and an abort signal; the collector is
 * destroyed however the wait ends. Three endings a caller tells apart by code:
 *
 * | ending                      | error                                    |
 * |-----------------------------|------------------------------------------|
 * | the task failed in vCenter  | VimFault (PCG_ERR_VCENTER_FAULT, …)      |
 * | the deadline passed         | PCG_ERR_VCENTER_TASK_TIMEOUT             |
 * | the signal aborted the wait | PCG_ERR_VCENTER_TASK_CANCELLED           |
 *
 * Neither a timeout nor a cancel stops the task itself: it may still finish in vCenter.
 * The collector belongs to the session: if the session is renewed mid-wait, a new collector is
 * made in the new session and the wait goes on (the task itself outlives sessions).
 */
export async function waitForTask(session: Pick<VimSession, 'renewable'>, task: MoRef, options: WaitOptions = {}): Promise<TaskResult> {
  const now = options.now ?? Date.now;
  const timeoutMs = options.timeoutMs ?? 600_000;
  const deadline = now() + timeoutMs;
  return session.renewable((scope) => waitInScope(scope, task, options, () => deadline - now(), timeoutMs));
}

async function waitInScope(scope: SessionScope, task: MoRef, options: WaitOptions, left: () => number, timeoutMs: number): Promise<TaskResult> {
  const { signal } = options;
  const created = await scope.call('CreatePropertyCollector', el('_this', scope.content.propertyCollector));
  const collector = moRef(created.returnval);
  // An abort during a long WaitForUpdatesEx: vCenter ends that wait at once (RequestCanceled).
  const onAbort = (): void => void scope.callIfLive('CancelWaitForUpdates', collector).catch(() => undefined);
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    await scope.call('CreateFilter', el('_this', collector)
      + raw('spec', raw('propSet', el('type', 'Task') + el('all', false) + el('pathSet', 'info'))
        + raw('objectSet', el('obj', task) + el('skip', false)))
      + el('partialUpdates', false));
    let version = '';
    for (;;) {
      if (signal?.aborted) throw cancelled(task, signal.reason);
      const ms = left();
      if (ms <= 0) throw new PcgError('PCG_ERR_VCENTER_TASK_TIMEOUT', `task ${task.value} did not finish in time (${timeoutMs} ms)`);
      let res: Record<string, unknown>;
      try {
        res = await scope.call('WaitForUpdatesEx', el('_this', collector) + el('version', version)
          + raw('options', el('maxWaitSeconds', Math.max(1, Math.min(10, Math.ceil(ms / 1000))))));
      } catch (err) {
        if (signal?.aborted) throw cancelled(task, err);
        throw err;
      }
      const update = res.returnval as Record<string, unknown> | undefined;
      if (!update) continue; // maxWaitSeconds passed without a change
      version = text(update.version);
      const info = latestInfo(update);
      if (!info) continue;
      if (info.progress !== undefined) options.onProgress?.(Number(text(info.progress)));
      const state = text(info.state);
      if (state === 'success') return { task, result: info.result && typeof info.result === 'object' && '@_type' in info.result ? moRef(info.result) : undefined };
      if (state === 'error') throw faultOf(task, info);
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
    await scope.callIfLive('DestroyPropertyCollector', collector).catch(() => undefined);
  }
}

/** The last `info` value in an UpdateSet (one filter, one object: the task). */
function latestInfo(update: Record<string, unknown>): TaskInfo | undefined {
  let info: TaskInfo | undefined;
  for (const filter of toArray(update.filterSet as unknown[])) {
    for (const object of toArray(child(filter, 'objectSet') as unknown[])) {
      for (const change of toArray(child(object, 'changeSet') as unknown[])) {
        info = (child(change, 'val') as TaskInfo | undefined) ?? info;
      }
    }
  }
  return info;
}
