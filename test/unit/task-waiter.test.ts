import { strict as assert } from 'node:assert';
import { PcgError } from '../../proto/errors.js';
import { waitForTask } from '../../gateway/vsphere/task-waiter.js';
import { VimFault } from '../../gateway/vsphere/vim-fault.js';
import { FakeSession, recorded, recordedMoRef, type Answer } from './recorded-soap.js';

const TASK = { type: 'Task', value: 'task-7' };

/** A WaitForUpdatesEx answer carrying the task's info, as vCenter sends it. */
function taskUpdate(version: number, info: string): Record<string, unknown> {
  return recorded('WaitForUpdatesEx', `<version>${version}</version><filterSet><filter type="PropertyFilter">session[52]filter-1</filter>`
    + `<objectSet><kind>modify</kind><obj type="Task">task-7</obj><changeSet><name>info</name><op>assign</op>`
    + `<val xsi:type="TaskInfo"><key>task-7</key><task type="Task">task-7</task>${info}</val></changeSet></objectSet></filterSet>`);
}

/** The collector's own methods answered, WaitForUpdatesEx by `wait`. */
function session(wait: Answer): FakeSession {
  return new FakeSession((method, args) => {
    if (method === 'CreatePropertyCollector') return Promise.resolve(recordedMoRef(method, 'PropertyCollector', 'session[52]pc-1'));
    if (method === 'CreateFilter') return Promise.resolve(recordedMoRef(method, 'PropertyFilter', 'session[52]filter-1'));
    if (method === 'WaitForUpdatesEx') return wait(method, args);
    return Promise.resolve(recorded(method));
  });
}

const failure = (promise: Promise<unknown>): Promise<unknown> => promise.then(() => assert.fail('the wait succeeded'), (e: unknown) => e);

describe('task waits: timeout, cancel and fault are told apart by code', () => {
  it('success returns the result moref and reports progress', async () => {
    const progress: number[] = [];
    const fake = session(() => Promise.resolve(taskUpdate(1, '<state>success</state><progress>100</progress><result type="VirtualMachine" xsi:type="ManagedObjectReference">vm-42</result>')));
    assert.deepEqual(await waitForTask(fake, TASK, { onProgress: (p) => progress.push(p) }), { task: TASK, result: { type: 'VirtualMachine', value: 'vm-42' } });
    assert.deepEqual(progress, [100]);
    assert.deepEqual(fake.methods, ['CreatePropertyCollector', 'CreateFilter', 'WaitForUpdatesEx', 'DestroyPropertyCollector']);
  });

  it('the deadline passing is PCG_ERR_VCENTER_TASK_TIMEOUT (504, close 4035); each wait is bounded by the time left', async () => {
    let now = 1_000_000;
    // vCenter answers an empty WaitForUpdatesEx when maxWaitSeconds passes without a change.
    const fake = session((_m, args) => {
      now += Number(/<maxWaitSeconds>(\d+)</.exec(args)![1]) * 1000;
      return Promise.resolve(recorded('WaitForUpdatesEx'));
    });
    const err = await failure(waitForTask(fake, TASK, { timeoutMs: 25_000, now: () => now }));
    assert.ok(err instanceof PcgError && !(err instanceof VimFault));
    assert.deepEqual([err.code, err.httpStatus, err.closeCode], ['PCG_ERR_VCENTER_TASK_TIMEOUT', 504, 4035]);
    assert.match(err.message, /^task task-7 did not finish in time \(25000 ms\)\. The vCenter task did not finish in time and may still be running/);
    const waits = fake.calls.filter(([m]) => m === 'WaitForUpdatesEx').map(([, a]) => /<maxWaitSeconds>(\d+)</.exec(a)![1]);
    assert.deepEqual(waits, ['10', '10', '5']);
    assert.equal(fake.methods.at(-1), 'DestroyPropertyCollector');
  });

  it('an abort during a wait is PCG_ERR_VCENTER_TASK_CANCELLED (409, close 4036): CancelWaitForUpdates ends the pending wait', async () => {
    const controller = new AbortController();
    let endWait: ((fault: VimFault) => void) | undefined;
    const fake = new FakeSession((method) => {
      if (method === 'CreatePropertyCollector') return Promise.resolve(recordedMoRef(method, 'PropertyCollector', 'session[52]pc-1'));
      if (method === 'WaitForUpdatesEx') {
        // vCenter holds the wait open; the test aborts while it is pending.
        setImmediate(() => controller.abort(new Error('job cancelled')));
        return new Promise((_resolve, reject) => (endWait = reject));
      }
      if (method === 'CancelWaitForUpdates') endWait?.(new VimFault('RequestCanceled', 'The task was canceled by a user.', {}, 'WaitForUpdatesEx'));
      return Promise.resolve(recorded(method));
    });
    const err = await failure(waitForTask(fake, TASK, { signal: controller.signal }));
    assert.ok(err instanceof PcgError && !(err instanceof VimFault));
    assert.deepEqual([err.code, err.httpStatus, err.closeCode], ['PCG_ERR_VCENTER_TASK_CANCELLED', 409, 4036]);
    assert.match(err.message, /^waiting for task-7 was cancelled\. /);
    assert.ok(err.cause instanceof VimFault && err.cause.is('RequestCanceled'));
    assert.deepEqual(fake.methods, ['CreatePropertyCollector', 'CreateFilter', 'WaitForUpdatesEx', 'CancelWaitForUpdates', 'DestroyPropertyCollector']);
    assert.match(fake.calls[3]![1], /^<_this type="PropertyCollector">session\[52\]pc-1<\/_this>$/);
  });

  it('a task that failed in vCenter throws its vim fault: PCG_ERR_VCENTER_FAULT, or the more specific code of its type', async () => {
    const failed = (fault: string, message: string): FakeSession => session(() => Promise.resolve(taskUpdate(1,
      `<state>error</state><error><fault xsi:type="${fault}">${fault === 'NoPermission' ? '<object type="Folder">group-v3</object><privilegeId>VirtualMachine.Inventory.Create</privilegeId>' : '<requestedState>poweredOff</requestedState><existingState>poweredOff</existingState>'}</fault><localizedMessage>${message}</localizedMessage></error>`)));
    const power = await failure(waitForTask(failed('InvalidPowerState', 'The attempted operation cannot be performed in the current state (Powered off).'), TASK));
    assert.ok(power instanceof VimFault);
    assert.deepEqual([power.code, power.faultType, power.httpStatus, power.closeCode], ['PCG_ERR_VCENTER_FAULT', 'InvalidPowerState', 502, 4034]);
    assert.equal(power.detail, 'task task-7: InvalidPowerState: The attempted operation cannot be performed in the current state (Powered off).');
    assert.deepEqual(power.faultDetail, { requestedState: 'poweredOff', existingState: 'poweredOff' });
    const denied = await failure(waitForTask(failed('NoPermission', 'Permission to perform this operation was denied.'), TASK));
    assert.ok(denied instanceof VimFault);
    assert.deepEqual([denied.code, denied.faultType], ['PCG_ERR_VCENTER_PERMISSION', 'NoPermission']);
    assert.match(denied.message, /\(missing privilege VirtualMachine\.Inventory\.Create\)/);
  });
});
