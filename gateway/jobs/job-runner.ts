import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { Clock } from '../../proto/clock.js';
import { PcgError } from '../../proto/errors.js';
import type { Job, JobResult } from '../../proto/schemas/jobs.js';
import type { JobContext, JobExecutor, NodeReadiness } from './job-executor.js';
import type { JobJournal, JournaledJob } from './job-journal.js';
import { JobRetryPolicy, NO_OUTAGES, type JobRetryOptions, type OutageDetector } from './job-retry-policy.js';

export interface JobRunnerOptions {
  /** Jobs executing at once; the rest wait in journal order. @default 4 */
  readonly maxConcurrent: number;
  /** How long close() waits for aborted jobs to return before it lets go of them. @default 10_000 */
  readonly closeGraceMs?: number;
  /** Executions run again after a vCenter outage, and the delays between them. @default DEFAULT_JOB_RETRY */
  readonly retry?: Partial<JobRetryOptions>;
}

export interface JobRunnerPorts {
  readonly journal: JobJournal;
  readonly executor: JobExecutor;
  readonly readiness: NodeReadiness;
  readonly clock: Clock;
  readonly log: Logger;
  /** A named point between two effects; the daemon may die there on purpose (PCG_FAILPOINT). */
  checkpoint(name: string): void;
  /** Something new is in a job's outbox (an event or its result): the reporter sends it. */
  outboxChanged(jobId: string): void;
  /** Which execution errors are an outage worth a retry (the vCenter service). @default NO_OUTAGES: none */
  readonly outages?: OutageDetector;
  /** Waits between two executions; rejects when `signal` aborts. @default timers/promises setTimeout */
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

export type RunnerState = 'created' | 'running' | 'closing' | 'closed';
export type OfferAnswer = 'accepted' | 'running' | 'finished';
export type CancelAnswer = 'cancelling' | 'finished' | 'unknown';

interface Active {
  readonly controller: AbortController;
  /** Shared with the execution, which reads it synchronously from its first step on. */
  readonly flags: { cancelled: boolean };
  readonly done: Promise<void>;
}

/**
 * Runs the jobs the relay offers, each exactly once per journal entry: the journal's
 * insert-if-absent decides whether an offer is new. At most `maxConcurrent` jobs execute at once,
 * and never two of one cluster (a cluster's jobs run one after another, in journal order).
 *
 *   offer --new--> waiting --slot free, cluster idle--> executing --> finished (journaled, reported)
 *   cancel: waiting --> finished(cancelled) at once; executing --> abort, ends cancelled
 *   close(): aborts executing jobs WITHOUT finishing them; the next start runs them again from the
 *   start (executors are idempotent), as it does after a crash.
 *   outage (vCenter unreachable, its session lost): executing --warn event, backoff--> executing
 *   again from the start, at most `retry.retryLimit` times; then finished(failed) with the last error.
 */
export class JobRunner {
  #state: RunnerState = 'created';
  /** Waiting jobs in journal order. */
  readonly #waiting: Array<{ readonly id: string; readonly clusterId: string }> = [];
  readonly #active = new Map<string, Active>();
  /** Cluster ids with a job executing. */
  readonly #busyClusters = new Set<string>();
  #pumpScheduled = false;
  #closing: Promise<void> | undefined;
  readonly #retry: JobRetryPolicy;
  readonly #sleep: (ms: number, signal: AbortSignal) => Promise<void>;

  private constructor(private readonly options: Required<Omit<JobRunnerOptions, 'retry'>>, private readonly ports: JobRunnerPorts, retry: JobRetryPolicy) {
    this.#retry = retry;
    this.#sleep = ports.sleep ?? ((ms, signal) => sleep(ms, undefined, { signal }));
  }

  /** Loads the jobs the journal holds as unfinished (a crash or a stop interrupted them); start() runs them. */
  static create(options: JobRunnerOptions, ports: JobRunnerPorts): JobRunner {
    if (!Number.isInteger(options.maxConcurrent) || options.maxConcurrent < 1) throw new Error(`maxConcurrent must be a positive integer, not ${options.maxConcurrent}`);
    const { retry, ...rest } = options;
    const runner = new JobRunner(Object.freeze({ closeGraceMs: 10_000, ...rest }), ports, new JobRetryPolicy(retry ?? {}, ports.outages ?? NO_OUTAGES));
    const resumed = ports.journal.unfinished();
    for (const entry of resumed) runner.#waiting.push({ id: entry.id, clusterId: entry.clusterId });
    if (resumed.length > 0) ports.log.info({ jobs: resumed.map((j) => j.id) }, 'resuming jobs interrupted by a restart');
    return runner;
  }

  /** Starts executing (journaled jobs first); once. */
  start(): this {
    if (this.#state !== 'created') throw new Error(`JobRunner.start() in state ${this.#state}`);
    this.#state = 'running';
    this.#schedulePump();
    return this;
  }

  get state(): RunnerState {
    return this.#state;
  }

  /** Jobs executing and jobs waiting for a slot or for their cluster. */
  get counts(): { readonly running: number; readonly queued: number } {
    return { running: this.#active.size, queued: this.#waiting.length };
  }

  /** True while a job of the cluster executes or waits (its VMs are in flux). */
  isClusterBusy(clusterId: string): boolean {
    return this.#busyClusters.has(clusterId) || this.#waiting.some((w) => w.clusterId === clusterId);
  }

  /** Journals the job if it is new and queues it. Durable before it returns, so the ack that follows is true. */
  offer(job: Job): OfferAnswer {
    this.#assertRunning('offer');
    if (this.ports.journal.accept(job)) {
      this.#waiting.push({ id: job.id, clusterId: job.cluster.clusterId });
      this.#schedulePump();
      return 'accepted';
    }
    const known = this.ports.journal.get(job.id)!;
    if (known.state === 'running') return 'running';
    // Offered again though finished: the relay lacks the result (a lost ack, a stale epoch). Say it again.
    this.ports.journal.reopenDelivery(job.id);
    this.ports.outboxChanged(job.id);
    return 'finished';
  }

  cancel(jobId: string): CancelAnswer {
    this.#assertRunning('cancel');
    const known = this.ports.journal.get(jobId);
    if (!known) return 'unknown';
    if (known.state === 'finished') return 'finished';
    const active = this.#active.get(jobId);
    if (active) {
      if (!active.flags.cancelled) {
        active.flags.cancelled = true;
        this.ports.journal.requestCancel(jobId);
        active.controller.abort(new PcgError('PCG_ERR_JOB_CANCELLED', `job ${jobId} was cancelled`));
      }
      return 'cancelling';
    }
    const at = this.#waiting.findIndex((w) => w.id === jobId);
    if (at >= 0) this.#waiting.splice(at, 1);
    this.#finish(known, cancelledResult(jobId, 'before it started'));
    return 'cancelling';
  }

  /** Idempotent. Aborts executing jobs and leaves them unfinished in the journal; waits (bounded) for them to return. */
  close(): Promise<void> {
    if (this.#closing) return this.#closing;
    this.#state = 'closing';
    this.#waiting.length = 0;
    const stopping = new PcgError('PCG_ERR_JOB_CANCELLED', 'the gateway is stopping; the job runs again from the start when it restarts');
    for (const active of this.#active.values()) active.controller.abort(stopping);
    this.#closing = (async () => {
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, this.options.closeGraceMs);
      });
      await Promise.race([Promise.all([...this.#active.values()].map((a) => a.done)), grace]);
      clearTimeout(timer);
      if (this.#active.size > 0) this.ports.log.warn({ jobs: [...this.#active.keys()] }, 'jobs did not return within the grace period; they run again at the next start');
      this.#state = 'closed';
    })();
    return this.#closing;
  }

  #assertRunning(what: string): void {
    if (this.#state !== 'running') throw new PcgError('PCG_ERR_TUNNEL_CLOSED', `the job runner is ${this.#state}; ${what} is not taken now`);
  }

  /** Deferred: the job.ack of an offer goes out before anything the job reports. */
  #schedulePump(): void {
    if (this.#pumpScheduled) return;
    this.#pumpScheduled = true;
    setImmediate(() => {
      this.#pumpScheduled = false;
      this.#pump();
    });
  }

  #pump(): void {
    for (let i = 0; i < this.#waiting.length && this.#state === 'running' && this.#active.size < this.options.maxConcurrent;) {
      const waiting = this.#waiting[i]!;
      if (this.#busyClusters.has(waiting.clusterId)) {
        i++;
        continue;
      }
      this.#waiting.splice(i, 1);
      const entry = this.ports.journal.get(waiting.id);
      if (entry?.state === 'running') this.#start(entry);
    }
  }

  #start(entry: JournaledJob): void {
    const clusterId = entry.clusterId;
    this.#busyClusters.add(clusterId);
    const flags = { cancelled: entry.cancelRequested };
    const controller = new AbortController();
    const done = this.#execute(entry, controller.signal, () => flags.cancelled)
      .catch((err: unknown) => this.ports.log.error({ err, jobId: entry.id }, 'job bookkeeping failed; the job runs again at the next start'))
      .finally(() => {
        this.#active.delete(entry.id);
        this.#busyClusters.delete(clusterId);
        this.#schedulePump();
      });
    this.#active.set(entry.id, { controller, flags, done });
  }

  async #execute(entry: JournaledJob, signal: AbortSignal, cancelled: () => boolean): Promise<void> {
    const { journal, log } = this.ports;
    const resumed = entry.startedAt !== null;
    journal.markStarted(entry.id);
    this.#event(entry.id, 'job', resumed ? `resumed after a gateway restart (attempt ${entry.job.attempt})` : `started (attempt ${entry.job.attempt})`);
    log.info({ jobId: entry.id, clusterId: entry.clusterId, kind: entry.job.kind, resumed }, 'job started');
    this.ports.checkpoint('job.started');
    let result: JobResult | undefined;
    for (let retries = 0; !result;) {
      const decide = this.#retry.watch();
      try {
        if (cancelled()) throw new PcgError('PCG_ERR_JOB_CANCELLED');
        const { nodes } = await this.ports.executor.execute(this.#context(entry, signal));
        result = { outcome: 'succeeded', nodes };
      } catch (err) {
        // Stopping, not cancelled: the job stays unfinished in the journal and runs again at the next start.
        if (this.#state !== 'running' && !cancelled()) return;
        const decision = cancelled() ? { retry: false as const } : decide(err, retries);
        if (decision.retry) {
          this.#retryEvent(entry, decision.reason, decision.retryNumber, decision.delayMs);
          try {
            await this.#sleep(decision.delayMs, signal);
          } catch {
            if (this.#state !== 'running' && !cancelled()) return;
          }
          retries = decision.retryNumber;
          continue;
        }
        if (decision.reason) this.#event(entry.id, 'retry', `${decision.reason}; no retry left after ${retries} (jobs.retryLimit ${this.#retry.options.retryLimit})`, { level: 'error' });
        result = cancelled() ? cancelledResult(entry.id, 'while it ran') : failedResult(err);
        if (result.outcome === 'failed' && !(err instanceof PcgError)) log.error({ err, jobId: entry.id }, 'job failed with an internal error');
      }
    }
    if (!journal.isOpen) return;
    this.#finish(entry, result);
    this.ports.checkpoint('job.finished');
  }

  /** What failed, which retry comes, and when: the user sees the job is not stuck nor failed yet. */
  #retryEvent(entry: JournaledJob, reason: string, retryNumber: number, delayMs: number): void {
    const at = new Date(this.ports.clock.now() + delayMs).toISOString();
    const seconds = Math.round(delayMs / 100) / 10;
    this.#event(entry.id, 'retry', `${reason}; retry ${retryNumber} of ${this.#retry.options.retryLimit} runs the job again from the start in ${seconds} s (at ${at})`, { level: 'warn' });
    this.ports.log.warn({ jobId: entry.id, clusterId: entry.clusterId, retry: retryNumber, delayMs, reason }, 'job execution failed with an outage; retrying');
  }

  #finish(entry: JournaledJob, result: JobResult): void {
    if (!this.ports.journal.finish(entry.id, result)) return;
    this.ports.log.info({ jobId: entry.id, clusterId: entry.clusterId, outcome: result.outcome, code: result.error?.code }, 'job finished');
    this.ports.outboxChanged(entry.id);
  }

  #event(jobId: string, step: string, message: string, options?: Parameters<JobContext['event']>[2]): void {
    // After close() the journal is gone and the job will be run again: its events would be noise.
    if (!this.ports.journal.isOpen) return;
    this.ports.journal.appendEvent(jobId, step, message, options);
    this.ports.outboxChanged(jobId);
  }

  #context(entry: JournaledJob, signal: AbortSignal): JobContext {
    return {
      job: entry.job, signal, calls: this.ports.journal.calls, readiness: this.ports.readiness,
      event: (step, message, options) => this.#event(entry.id, step, message, options),
      checkpoint: (name) => this.ports.checkpoint(name),
    };
  }
}

function cancelledResult(jobId: string, when: string): JobResult {
  const error = new PcgError('PCG_ERR_JOB_CANCELLED', `job ${jobId} was cancelled ${when}`);
  return { outcome: 'cancelled', error: { code: error.code, message: error.message.slice(0, 2048) }, nodes: [] };
}

function failedResult(err: unknown): JobResult {
  const error = PcgError.wrap(err, 'PCG_ERR_INTERNAL');
  return { outcome: 'failed', error: { code: error.code, message: error.message.slice(0, 2048) }, nodes: [] };
}
