import { el, moRef, raw, type MoRef } from './soap-xml.js';
import { waitForTask, type TaskResult, type WaitOptions } from './task-waiter.js';
import { cloneSpecXml, configSpecXml, customizationSpecXml, type CloneSpec, type ConfigSpec, type LinuxCustomization } from './vm-specs.js';
import type { VimSession } from './vim-session.js';

/** The vSphere operations the job runner needs, each waiting for its task where there is one. */
export class VmOperations {
  constructor(private readonly session: VimSession) {}

  async #task(method: string, argsXml: string, wait?: WaitOptions): Promise<TaskResult> {
    return this.waitTask(await this.#start(method, argsXml), wait);
  }

  async #start(method: string, argsXml: string): Promise<MoRef> {
    const res = await this.session.call(method, argsXml);
    return moRef(res.returnval);
  }

  /** Waits for a task started earlier (by this process or, from the journal, a previous one). */
  waitTask(task: MoRef, wait?: WaitOptions): Promise<TaskResult> {
    return waitForTask(this.session, task, wait);
  }

  /**
   * Starts a clone and returns its task without waiting: a caller that journals the task
   * reference before the wait can resolve the clone after a crash.
   */
  startClone(source: MoRef, folder: MoRef, name: string, spec: CloneSpec): Promise<MoRef> {
    return this.#start('CloneVM_Task', el('_this', source) + el('folder', folder) + el('name', name) + raw('spec', cloneSpecXml(spec)));
  }

  startPowerOn(vm: MoRef): Promise<MoRef> {
    return this.#start('PowerOnVM_Task', el('_this', vm));
  }

  startPowerOff(vm: MoRef): Promise<MoRef> {
    return this.#start('PowerOffVM_Task', el('_this', vm));
  }

  /** Destroy_Task of a VM or a folder (a folder's remaining children go with it). */
  startDestroy(entity: MoRef): Promise<MoRef> {
    return this.#start('Destroy_Task', el('_this', entity));
  }

  /**
   * Task.CancelTask: asks vCenter to stop a task. Only cancelable tasks stop (a clone is; vcsim
   * 0.24 has no CancelTask, MethodNotFound); a task that already ended is InvalidState.
   * Either way the caller still waits the task out to learn how it ended.
   */
  async cancelTask(task: MoRef): Promise<void> {
    await this.session.call('CancelTask', el('_this', task));
  }

  async createFolder(parent: MoRef, name: string): Promise<MoRef> {
    const res = await this.session.call('CreateFolder', el('_this', parent) + el('name', name));
    return moRef(res.returnval);
  }

  /** Clones `source` (a template or VM); resolves with the new VM. */
  async cloneVm(source: MoRef, folder: MoRef, name: string, spec: CloneSpec, wait?: WaitOptions): Promise<MoRef> {
    const { result } = await this.#task('CloneVM_Task', el('_this', source) + el('folder', folder) + el('name', name) + raw('spec', cloneSpecXml(spec)), wait);
    if (!result) throw new Error(`CloneVM_Task for ${name} returned no VM`);
    return result;
  }

  reconfigureVm(vm: MoRef, spec: ConfigSpec, wait?: WaitOptions): Promise<TaskResult> {
    return this.#task('ReconfigVM_Task', el('_this', vm) + raw('spec', configSpecXml(spec)), wait);
  }

  /** Static IPs and host name, applied by VMware tools at the next power-on (the VM must be off). */
  customizeVm(vm: MoRef, spec: LinuxCustomization, wait?: WaitOptions): Promise<TaskResult> {
    return this.#task('CustomizeVM_Task', el('_this', vm) + raw('spec', customizationSpecXml(spec)), wait);
  }

  powerOn(vm: MoRef, wait?: WaitOptions): Promise<TaskResult> {
    return this.#task('PowerOnVM_Task', el('_this', vm), wait);
  }

  powerOff(vm: MoRef, wait?: WaitOptions): Promise<TaskResult> {
    return this.#task('PowerOffVM_Task', el('_this', vm), wait);
  }

  destroy(entity: MoRef, wait?: WaitOptions): Promise<TaskResult> {
    return this.#task('Destroy_Task', el('_this', entity), wait);
  }

  /** SearchIndex.FindByUuid on the instance UUID; undefined when no VM has it. */
  async findByInstanceUuid(uuid: string, datacenter?: MoRef): Promise<MoRef | undefined> {
    const res = await this.session.call('FindByUuid', el('_this', this.session.content.searchIndex) + el('datacenter', datacenter)
      + el('uuid', uuid) + el('vmSearch', true) + el('instanceUuid', true));
    return res.returnval === undefined || res.returnval === '' ? undefined : moRef(res.returnval);
  }

  /** An event on the entity in vCenter's event log, so admins see what the gateway did. */
  async logUserEvent(entity: MoRef, message: string): Promise<void> {
    await this.session.call('LogUserEvent', el('_this', this.session.content.eventManager) + el('entity', entity) + el('msg', message));
  }
}
