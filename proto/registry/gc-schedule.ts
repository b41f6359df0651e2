import type { Logger } from 'pino';
import type { ContentStore } from './content-store.js';

/**
 * Collects a registry's garbage every `intervalMs`, one collection at a time; a failure is logged
 * and the next tick tries again. The store's grace period protects blobs pushed just before a run.
 */
export class GcSchedule {
  #closed = false;
  #collecting: Promise<unknown> = Promise.resolve();
  readonly #timer: NodeJS.Timeout;

  private constructor(private readonly store: Pick<ContentStore, 'collectGarbage'>, intervalMs: number, private readonly log: Logger) {
    this.#timer = setInterval(() => this.#collect(), intervalMs);
    // A registry's collector never keeps a process alive.
    this.#timer.unref();
  }

  static start(store: Pick<ContentStore, 'collectGarbage'>, intervalMs: number, log: Logger): GcSchedule {
    return new GcSchedule(store, intervalMs, log);
  }

  /** Idempotent: no new run starts; resolves once a run in progress has ended. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    await this.#collecting;
  }

  #collect(): void {
    if (this.#closed) return;
    this.#collecting = this.#collecting.then(async () => {
      if (this.#closed) return;
      const { removedBlobs, freedBytes } = await this.store.collectGarbage();
      if (removedBlobs > 0) this.log.info({ removedBlobs, freedBytes }, 'registry garbage collected');
    }).catch((err: unknown) => this.log.warn({ err }, 'registry garbage collection failed'));
  }
}
