import type { Logger } from 'pino';
import { PcgError } from '../../proto/errors.js';
import type { ClusterDriftAckFrame } from '../../proto/schemas/frames.js';
import type { ClusterInspector } from './job-executor.js';
import type { JobJournal } from './job-journal.js';
import type { ReportSession } from './job-reporter.js';

export interface DriftWatcherOptions {
  /** Pause between two checks of every built cluster. @default 60_000 */
  readonly intervalMs: number;
  /** How long the relay may take to answer `cluster.drift`. @default 30_000 */
  readonly ackTimeoutMs?: number;
}

export interface DriftWatcherPorts {
  readonly journal: JobJournal;
  readonly inspector: ClusterInspector;
  /** A cluster with a job executing or waiting is skipped: its VMs are in flux. */
  clusterBusy(clusterId: string): boolean;
  readonly log: Logger;
}

/**
 * Notices VMs removed behind the gateway's back. Every interval, while a session is open, it asks
 * vSphere for the nodes missing from each cluster whose last job succeeded (journal), and sends
 * `cluster.drift` for a missing set once: the set is journaled as reported when the relay
 * acknowledges it, and reported again only after a new job of the cluster finished (which clears
 * it). So a repair that does not happen, or a relay that queues none, never makes a loop.
 */
export class DriftWatcher {
  #session: ReportSession | undefined;
  #timer: NodeJS.Timeout | undefined;
  #checking: Promise<void> | undefined;
  readonly #abort = new AbortController();
  #closed = false;

  constructor(private readonly options: DriftWatcherOptions, private readonly ports: DriftWatcherPorts) {}

  opened(session: ReportSession): void {
    if (this.#closed) return;
    this.#session = session;
    this.#timer ??= setInterval(() => {
      this.check().catch((err: unknown) => this.ports.log.warn({ err }, 'drift check failed'));
    }, this.options.intervalMs);
  }

  closed(session: ReportSession): void {
    if (this.#session === session) this.#session = undefined;
  }

  /** One pass over every watched cluster; a pass already under way is joined, not doubled. */
  check(): Promise<void> {
    this.#checking ??= this.#checkAll().finally(() => {
      this.#checking = undefined;
    });
    return this.#checking;
  }

  /** Idempotent: stops the timer, aborts a pass under way and waits for it. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#abort.abort(new PcgError('PCG_ERR_JOB_CANCELLED', 'the gateway is stopping'));
    await this.#checking;
  }

  async #checkAll(): Promise<void> {
    if (this.#closed || !this.#session?.isOpen) return;
    for (const cluster of this.ports.journal.watchedClusters()) {
      if (this.#closed || !this.#session?.isOpen) return;
      if (this.ports.clusterBusy(cluster.clusterId)) continue;
      try {
        const missing = [...new Set(await this.ports.inspector.missingNodes(cluster.spec, this.#abort.signal))].sort();
        if (missing.length === 0 || sameSet(missing, cluster.reportedMissing)) continue;
        // A job may have started while vSphere was read: then the set is stale.
        if (this.ports.clusterBusy(cluster.clusterId)) continue;
        await this.#report(cluster.clusterId, cluster.lastJobId, missing);
      } catch (err) {
        if (this.#closed) return;
        const error = PcgError.wrap(err, 'PCG_ERR_INTERNAL');
        this.ports.log.warn({ clusterId: cluster.clusterId, code: error.code, detail: error.message }, 'drift check failed; trying again at the next interval');
      }
    }
  }

  async #report(clusterId: string, lastJobId: string, missing: string[]): Promise<void> {
    const session = this.#session;
    if (!session?.isOpen) return;
    this.ports.log.warn({ clusterId, missing }, 'nodes missing from vCenter; reporting drift');
    const timeoutMs = this.options.ackTimeoutMs ?? 30_000;
    const ack = await session.requests.call<ClusterDriftAckFrame>((id) => session.send({ type: 'cluster.drift', id, cluster_id: clusterId, missing }), {
      timeoutMs, onTimeout: () => new PcgError('PCG_ERR_GATEWAY_TIMEOUT', `the relay did not acknowledge the drift of cluster ${clusterId} within ${timeoutMs} ms`),
      signal: this.#abort.signal,
    });
    if (this.ports.journal.isOpen) this.ports.journal.markDriftReported(clusterId, lastJobId, missing);
    this.ports.log.info({ clusterId, repairJobId: ack.repair_job_id }, 'drift acknowledged by the relay');
  }
}

function sameSet(sorted: readonly string[], reported: readonly string[] | null): boolean {
  return reported !== null && reported.length === sorted.length && reported.every((n, i) => n === sorted[i]);
}
