import { PcgError } from '../../proto/errors.js';
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
}

type TaskInfo = Record<string, unknown>;

function faultOf(task: MoRef, info: TaskInfo): VimFault {
  const error = (info.error ?? {}) as Record<string, unknown>;
  const fault = (error.fault ?? {}) as Record<string, unknown>;
  const fields = Object.fromEntries(Object.entries(fault).filter(([k]) => !k.startsWith('@_')).map(([k, v]) => [k, typeof v === 'object' ? v : text(v)]));
  return new VimFault(xsiType(fault) ?? 'SystemError', text(error.localizedMessage), fields, `task ${task.value}`);
}

/**
 * Waits for a task with WaitForUpdatesEx on a property collector of its own (so concurrent waits
 * never share a version stream), bounded by a deadline and an abort signal; the collector is
 * destroyed however the wait ends. A failed task throws the vim fault it carries.
 */
export async function waitForTask(session: VimSession, task: MoRef, options: WaitOptions = {}): Promise<TaskResult> {
  const deadline = Date.now() + (options.timeoutMs ?? 600_000);
  const created = await session.call('CreatePropertyCollector', el('_this', session.content.propertyCollector));
  const collector = moRef(created.returnval);
  try {
    await session.call('CreateFilter', el('_this', collector)
      + raw('spec', raw('propSet', el('type', 'Task') + el('all', false) + el('pathSet', 'info'))
        + raw('objectSet', el('obj', task) + el('skip', false)))
      + el('partialUpdates', false));
    let version = '';
    for (;;) {
      if (options.signal?.aborted) throw new PcgError('PCG_ERR_VCENTER_FAULT', `waiting for ${task.value} was cancelled`);
      const left = deadline - Date.now();
      if (left <= 0) throw new PcgError('PCG_ERR_VCENTER_FAULT', `task ${task.value} did not finish in time`);
      const res = await session.call('WaitForUpdatesEx', el('_this', collector) + el('version', version)
        + raw('options', el('maxWaitSeconds', Math.max(1, Math.min(10, Math.ceil(left / 1000))))));
      const update = res.returnval as Record<string, unknown> | undefined;
      if (!update) continue; // maxWaitSeconds passed without a change
      version = text(update.version);
      for (const filter of toArray(update.filterSet as unknown[])) {
        for (const object of toArray(child(filter, 'objectSet') as unknown[])) {
          for (const change of toArray(child(object, 'changeSet') as unknown[])) {
            const info = child(change, 'val') as TaskInfo | undefined;
            if (!info) continue;
            const state = text(info.state);
            if (info.progress !== undefined) options.onProgress?.(Number(text(info.progress)));
            if (state === 'success') return { task, result: info.result && typeof info.result === 'object' && '@_type' in info.result ? moRef(info.result) : undefined };
            if (state === 'error') throw faultOf(task, info);
          }
        }
      }
    }
  } finally {
    await session.call('DestroyPropertyCollector', el('_this', collector)).catch(() => undefined);
  }
}
