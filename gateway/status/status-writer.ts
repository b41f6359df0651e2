import type { Logger } from 'pino';
import { writeStatus, type StatusRecord } from './status-file.js';

/**
 * Writes status.json for `pcg-gateway status`, one write at a time: writes are chained so an
 * older record never lands after a newer one, and a failed write is logged, never fatal.
 */
export class StatusWriter {
  #writing: Promise<void> = Promise.resolve();

  constructor(private readonly stateDir: string, private readonly log: Logger) {}

  report(status: StatusRecord): void {
    this.#writing = this.#writing
      .then(() => writeStatus(this.stateDir, status))
      .catch((err: unknown) => this.log.warn({ err }, 'cannot write status.json'));
  }

  /** Settles when every record reported so far is on disk. */
  flush(): Promise<void> {
    return this.#writing;
  }
}
