import { EventEmitter } from 'node:events';
import type { RelaySignals, SignalChannel } from './relay-signals.js';

/**
 * Signals within one process: the SQLite default, where a relay is one process. Relays sharing a
 * SQLite file across processes are not woken; their poll finds the work.
 */
export class LocalSignals implements RelaySignals {
  readonly #emitter = new EventEmitter();

  notify(channel: SignalChannel, payload: string): Promise<void> {
    // After the caller's current step, as NOTIFY is delivered after its transaction commits.
    queueMicrotask(() => this.#emitter.emit(channel, payload));
    return Promise.resolve();
  }

  listen(channel: SignalChannel, listener: (payload: string) => void): void {
    this.#emitter.on(channel, listener);
  }

  close(): Promise<void> {
    this.#emitter.removeAllListeners();
    return Promise.resolve();
  }
}
