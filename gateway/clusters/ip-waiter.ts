import { setTimeout as sleep } from 'node:timers/promises';
import type { Clock } from '../../proto/clock.js';
import { PcgError } from '../../proto/errors.js';
import type { MoRef } from '../vsphere/soap-xml.js';
import { readVms, type VmFacts } from '../vsphere/vm-facts.js';
import type { VimSession } from '../vsphere/vim-session.js';

interface Waiter {
  readonly vm: MoRef;
  readonly node: string;
  readonly deadline: number;
  readonly resolve: (facts: VmFacts) => void;
  readonly reject: (err: unknown) => void;
}

export interface IpWaiterOptions {
  /** Time between reads of guest.ipAddress. @default 2000 */
  readonly pollMs: number;
  readonly clock: Clock;
  readonly signal: AbortSignal;
}

/**
 * Waits for guests to report an address (guest.ipAddress, from VMware tools). All nodes waiting
 * share one poll: each round is one RetrievePropertiesEx over every VM still waiting, so the
 * requests per node do not grow with the cluster. Each waiter has its own deadline.
 */
export class IpWaiter {
  readonly #waiting = new Map<string, Waiter>();
  #loop: Promise<void> | undefined;

  constructor(private readonly session: VimSession, private readonly options: IpWaiterOptions) {}

  /** Resolves with the VM's facts once it has an address; rejects with PCG_ERR_NODE_TIMEOUT after `timeoutMs`. */
  wait(vm: MoRef, node: string, timeoutMs: number): Promise<VmFacts> {
    return new Promise<VmFacts>((resolve, reject) => {
      this.#waiting.set(vm.value, { vm, node, deadline: this.options.clock.now() + timeoutMs, resolve, reject });
      this.#ensurePolling();
    });
  }

  #ensurePolling(): void {
    // A waiter added while the loop was ending (after its last size check) starts the next loop.
    this.#loop ??= this.#poll().finally(() => {
      this.#loop = undefined;
      if (this.#waiting.size > 0) this.#ensurePolling();
    });
  }

  async #poll(): Promise<void> {
    try {
      // The first look comes sooner: on a fast vCenter (or tools already running) the address is
      // there well before a full interval has passed.
      let delay = Math.min(500, this.options.pollMs);
      while (this.#waiting.size > 0) {
        await sleep(delay, undefined, { signal: this.options.signal });
        delay = this.options.pollMs;
        const waiters = [...this.#waiting.values()];
        const facts = new Map((await readVms(this.session, waiters.map((w) => w.vm))).map((f) => [f.ref.value, f]));
        const now = this.options.clock.now();
        for (const w of waiters) {
          const vm = facts.get(w.vm.value);
          if (vm?.ipAddress) this.#settle(w, () => w.resolve(vm));
          else if (!vm) this.#settle(w, () => w.reject(new PcgError('PCG_ERR_NODE_TIMEOUT', `the VM of node ${w.node} (${w.vm.value}) was removed while waiting for its address`)));
          else if (now >= w.deadline) this.#settle(w, () => w.reject(new PcgError('PCG_ERR_NODE_TIMEOUT', `node ${w.node} (${vm.name}) got no IP address in time`)));
        }
      }
    } catch (err) {
      const reason = this.options.signal.aborted ? new PcgError('PCG_ERR_JOB_CANCELLED', 'stopped waiting for node addresses', { cause: err }) : err;
      for (const w of this.#waiting.values()) this.#settle(w, () => w.reject(reason));
    }
  }

  #settle(w: Waiter, settle: () => void): void {
    this.#waiting.delete(w.vm.value);
    settle();
  }
}
