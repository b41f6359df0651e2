import type { ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { ClusterEvent, ClusterEventStore } from '../store/cluster-event-store.js';
import type { RelaySignals } from '../store/relay-signals.js';

export interface ClusterEventFeedOptions {
  /** Safety net under the `cluster_event` signal: how often an idle stream reads anyway. @default 1000 */
  readonly pollMs?: number;
  /** A comment line this often keeps proxies from closing an idle stream. @default 15_000 */
  readonly heartbeatMs?: number;
  /** Events read per store round trip. @default 500 */
  readonly batch?: number;
}

export interface ClusterEventFeedDeps {
  readonly events: ClusterEventStore;
  readonly signals: RelaySignals;
  readonly log: Logger;
}

/** An event as the API shows it (list and stream alike). */
export interface ClusterEventView {
  id: number; at: string; step: string; node: string | null; level: 'info' | 'warn' | 'error'; message: string; jobId: string | null; seq: number | null;
}

export function eventView(e: ClusterEvent): ClusterEventView {
  return { id: e.id, at: new Date(e.at).toISOString(), step: e.step, node: e.node, level: e.level, message: e.message, jobId: e.job_id, seq: e.seq };
}

/**
 * Live cluster events as server-sent events. A stream reads the store after its cursor whenever
 * the `cluster_event` signal names its cluster (from this or, on PostgreSQL, any relay) or its poll
 * comes round, so a lost signal costs a second, never an event. It ends when the client goes, when
 * the relay closes (close()), or after the last event of a deleted cluster.
 *
 * Known limit: on PostgreSQL two transactions appending to one cluster at once may commit their
 * ids out of order, and a reader between the commits would skip the lower id. Appends of one
 * cluster are serialised by its gateway's report path, so this needs a concurrent API-side append.
 */
export class ClusterEventFeed {
  readonly #wakers = new Map<string, Set<() => void>>();
  readonly #enders = new Set<() => void>();
  readonly #finished = new Set<Promise<void>>();
  readonly #options: Required<ClusterEventFeedOptions>;
  #closed = false;

  private constructor(options: ClusterEventFeedOptions, private readonly deps: ClusterEventFeedDeps) {
    this.#options = { pollMs: options.pollMs ?? 1000, heartbeatMs: options.heartbeatMs ?? 15_000, batch: options.batch ?? 500 };
  }

  static create(options: ClusterEventFeedOptions, deps: ClusterEventFeedDeps): ClusterEventFeed {
    const feed = new ClusterEventFeed(options, deps);
    deps.signals.listen('cluster_event', (clusterId) => {
      for (const wake of feed.#wakers.get(clusterId) ?? []) wake();
    });
    return feed;
  }

  get openStreams(): number {
    return this.#enders.size;
  }

  /**
   * Streams the events of a cluster after `afterId` to `res` (already hijacked from the framework)
   * until one of the ends above; resolves when the response has ended.
   */
  async stream(res: ServerResponse, scope: { tenantId: string; clusterId: string }, afterId: number, isDeleted: () => Promise<boolean>): Promise<void> {
    if (this.#closed) {
      res.writeHead(503, { 'content-type': 'application/json' }).end(JSON.stringify({ code: 'PCG_ERR_RELAY_BUSY', message: 'the relay is shutting down' }));
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache, no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    res.write('retry: 1000\n\n');
    let ended = false;
    let wake: (() => void) | undefined;
    const end = (): void => {
      if (ended) return;
      ended = true;
      wake?.();
    };
    const rouse = (): void => wake?.();
    const wakers = this.#wakers.get(scope.clusterId) ?? new Set();
    this.#wakers.set(scope.clusterId, wakers);
    wakers.add(rouse);
    this.#enders.add(end);
    res.once('close', end);
    const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), this.#options.heartbeatMs);
    let cursor = afterId;
    let finish = (): void => undefined;
    const finished = new Promise<void>((resolve) => (finish = resolve));
    this.#finished.add(finished);
    try {
      while (!ended) {
        // Deleted is read before the events: everything committed with the deletion is then in the read.
        const deleted = await isDeleted();
        const events = await this.deps.events.after(scope.tenantId, scope.clusterId, cursor, this.#options.batch);
        for (const e of events) {
          cursor = e.id;
          const ok = res.write(`id: ${e.id}\nevent: cluster-event\ndata: ${JSON.stringify(eventView(e))}\n\n`);
          if (!ok) await new Promise<void>((resolve) => {
            const done = (): void => {
              res.off('drain', done);
              res.off('close', done);
              resolve();
            };
            res.on('drain', done);
            res.on('close', done);
          });
          if (ended) break;
        }
        if (events.length === this.#options.batch) continue;
        if (deleted) break;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, this.#options.pollMs);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wake = undefined;
      }
    } catch (err) {
      this.deps.log.warn({ err, clusterId: scope.clusterId }, 'cluster event stream failed; the client resumes with Last-Event-ID');
    } finally {
      clearInterval(heartbeat);
      wakers.delete(rouse);
      if (wakers.size === 0 && this.#wakers.get(scope.clusterId) === wakers) this.#wakers.delete(scope.clusterId);
      this.#enders.delete(end);
      res.off('close', end);
      if (!res.writableEnded) res.end();
      this.#finished.delete(finished);
      finish();
    }
  }

  /**
   * Idempotent: ends every open stream (clients reconnect elsewhere and resume by Last-Event-ID)
   * and waits until each has stopped reading the store.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const end of [...this.#enders]) end();
    await Promise.all([...this.#finished]);
  }
}
