import type { Logger } from 'pino';
import type { Clock } from '../../proto/clock.js';
import { PcgError } from '../../proto/errors.js';
import type { ClusterSpec, Job } from '../../proto/schemas/jobs.js';
import type { JobStore } from '../store/job-store.js';
import type { RelaySignals } from '../store/relay-signals.js';
import type { JobTable } from '../store/schema.js';
import { cancelJob, offerJob } from '../tunnel/handlers/job-handlers.js';
import type { SessionListener } from '../tunnel/tunnel-hub.js';
import type { TunnelSession } from '../tunnel/tunnel-session.js';

export interface JobDispatcherOptions {
  /** This relay process's id, as recorded with the sessions it holds. */
  readonly relayId: string;
  /** Safety net under the signals: lost wake-ups, expired leases, cancel requests. @default 1000 */
  readonly pollMs?: number;
  /** How long an offer or a cancel waits for the gateway's answer. @default 15_000 */
  readonly answerTimeoutMs?: number;
  /** Gateways handled per store round trip. @default 500 */
  readonly gatewaysPerBatch?: number;
  /** Jobs claimed per store round trip. @default 200 */
  readonly jobsPerBatch?: number;
  /** Offers awaiting their ack at once, over all sessions; claiming pauses above it. @default 2000 */
  readonly maxInFlight?: number;
}

export interface JobDispatcherDeps {
  readonly hub: { session(gatewayId: string): TunnelSession | undefined; onSession(listener: SessionListener): void };
  readonly jobs: JobStore;
  readonly signals: RelaySignals;
  readonly clock: Clock;
  readonly log: Logger;
}

type Resolved = Required<JobDispatcherOptions>;

/**
 * Hands queued jobs to the gateways whose tunnels this relay holds. The store decides, this only
 * asks it; any number of relays may run one:
 *
 *   session opened ──> re-offer dispatched/running jobs, ask to stop cancel-requested ones, claim queued
 *   job_queued(gw) ──> if the tunnel is here: claim queued (oldest of each cluster), offer; send cancels
 *   poll (1 s)     ──> expired leases → queued; gateways held here with work → as job_queued
 *   job.ack        ──> dispatched → running (epoch-fenced)      cancel.ack unknown → cancelled outright
 *
 * Gateways to serve collect in one set and are drained in batches (a few store round trips per
 * batch, however many signals arrived), with at most `maxInFlight` offers awaiting acks, so a burst
 * of jobs or a reconnect storm never fans out without bound. A repeated offer is harmless: the
 * gateway's journal knows the job and answers `running` or `finished`.
 */
export class JobDispatcher {
  readonly #wanted = new Set<string>();
  /** Gateways whose tunnel opened here: their unfinished jobs are offered again. */
  readonly #reopened = new Set<string>();
  /** Job ids offered, or asked to stop, on a session and not yet answered: never twice at once. */
  readonly #offered = new WeakMap<TunnelSession, Set<string>>();
  readonly #cancelAsked = new WeakMap<TunnelSession, Set<string>>();
  readonly #busy = new Set<Promise<void>>();
  /** Acks received and not yet stored: stored together, one transaction per batch. */
  #acks: Array<{ jobId: string; gatewayId: string; epoch: number }> = [];
  #ackFlush: NodeJS.Immediate | undefined;
  #ackFlushing = false;
  #inFlight = 0;
  #draining = false;
  #polling = false;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  private constructor(private readonly options: Resolved, private readonly deps: JobDispatcherDeps) {}

  static create(options: JobDispatcherOptions, deps: JobDispatcherDeps): JobDispatcher {
    const dispatcher = new JobDispatcher({
      relayId: options.relayId, pollMs: options.pollMs ?? 1000, answerTimeoutMs: options.answerTimeoutMs ?? 15_000,
      gatewaysPerBatch: options.gatewaysPerBatch ?? 500, jobsPerBatch: options.jobsPerBatch ?? 200, maxInFlight: options.maxInFlight ?? 2000,
    }, deps);
    deps.hub.onSession({ opened: (session) => dispatcher.#opened(session) });
    deps.signals.listen('job_queued', (gatewayId) => dispatcher.#want(gatewayId));
    dispatcher.#timer = setInterval(() => dispatcher.#poll(), dispatcher.options.pollMs);
    return dispatcher;
  }

  /** Offers awaiting the gateway's ack right now. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /**
   * Idempotent: stops the poll and waits for store work under way. Offers still awaiting acks are
   * left to their leases (the job goes back to the queue and is offered again, by any relay).
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    this.#timer = undefined;
    clearImmediate(this.#ackFlush);
    this.#ackFlush = undefined;
    await Promise.allSettled([...this.#busy]);
  }

  #opened(session: TunnelSession): void {
    this.#reopened.add(session.gatewayId);
    this.#want(session.gatewayId);
  }

  #want(gatewayId: string): void {
    if (this.#closed || !this.deps.hub.session(gatewayId)) return;
    this.#wanted.add(gatewayId);
    this.#drain();
  }

  /** Runs `work` as tracked store work: close() waits for it; failures are logged, the poll retries. */
  #track(what: string, work: () => Promise<void>): Promise<void> {
    const running = work().catch((err: unknown) => this.deps.log.warn({ err }, `job dispatch: ${what} failed; the poll retries`));
    this.#busy.add(running);
    void running.finally(() => this.#busy.delete(running));
    return running;
  }

  /** One drain at a time; whatever is wanted meanwhile is picked up by the same loop. */
  #drain(): void {
    if (this.#draining || this.#closed) return;
    this.#draining = true;
    void this.#track('drain', () => this.#drainBatches()).finally(() => {
      this.#draining = false;
      if (this.#wanted.size > 0 && this.#inFlight < this.options.maxInFlight && !this.#closed) this.#drain();
    });
  }

  async #drainBatches(): Promise<void> {
    while (this.#wanted.size > 0 && !this.#closed && this.#inFlight < this.options.maxInFlight) {
      const gateways: string[] = [];
      for (const id of this.#wanted) {
        this.#wanted.delete(id);
        if (this.deps.hub.session(id)) gateways.push(id);
        if (gateways.length >= this.options.gatewaysPerBatch) break;
      }
      const reopened = gateways.filter((id) => this.#reopened.delete(id));
      const limit = Math.min(this.options.jobsPerBatch, this.options.maxInFlight - this.#inFlight);
      // The three reads go to the store together (one round trip of latency, not three): they are
      // independent, since a claim never takes a job with a cancel request, and a job both
      // claimed and re-offered is offered once (#offer skips a job already awaiting its ack).
      const [cancels, inFlight, claims] = await Promise.allSettled([
        this.deps.jobs.cancelRequested(gateways),
        this.deps.jobs.inFlight(reopened),
        limit > 0 ? this.deps.jobs.claim(gateways, limit) : Promise.resolve([]),
      ]);
      // Claimed jobs are offered even if a read beside them failed: otherwise they would wait out their lease.
      const claimed = claims.status === 'fulfilled' ? claims.value : [];
      if (cancels.status === 'rejected' || inFlight.status === 'rejected') {
        for (const job of claimed) this.#offer(job);
        throw cancels.status === 'rejected' ? cancels.reason : (inFlight as PromiseRejectedResult).reason;
      }
      // Cancels first: a job both re-offered and cancel-requested is only asked to stop.
      const cancelIds = new Set(cancels.value.map((j) => j.id));
      for (const job of cancels.value) {
        if (job.state === 'queued') await this.#cancelQueued(job);
        else this.#askToCancel(job);
      }
      const again = inFlight.value.filter((job) => !cancelIds.has(job.id));
      const renewed = await this.deps.jobs.renewLeases(again.filter((job) => job.state === 'dispatched').map((job) => job.id));
      for (const job of again) if (job.state !== 'dispatched' || renewed.has(job.id)) this.#offer(job);
      if (claims.status === 'rejected') throw claims.reason;
      // A full batch (or none, with too many offers awaiting acks) may have left jobs behind: those gateways go round again.
      if (limit <= 0 || claimed.length === limit) for (const id of gateways) this.#wanted.add(id);
      for (const job of claimed) this.#offer(job);
      if (limit <= 0) return;
    }
  }

  #offer(job: JobTable): void {
    const session = this.deps.hub.session(job.gateway_id);
    if (!session) {
      void this.#track('release', () => this.#release(job));
      return;
    }
    const offered = setFor(this.#offered, session);
    if (offered.has(job.id)) return;
    offered.add(job.id);
    this.#inFlight++;
    let wire: Job;
    try {
      wire = { id: job.id, kind: job.kind, action: job.action, attempt: Math.max(1, job.attempts), cluster: JSON.parse(job.spec) as ClusterSpec };
    } catch (err) {
      this.deps.log.error({ err, jobId: job.id }, 'job spec is not valid JSON; the job is left for its lease');
      offered.delete(job.id);
      this.#inFlight--;
      return;
    }
    void offerJob(session, wire, this.options.answerTimeoutMs)
      .then(() => this.#recordAck({ jobId: job.id, gatewayId: session.gatewayId, epoch: session.epoch }))
      .catch((err: unknown) => {
        const error = PcgError.wrap(err, 'PCG_ERR_INTERNAL');
        // The offer never reached a live session: put the job back now rather than at its lease's end.
        if ((error.code === 'PCG_ERR_TUNNEL_CLOSED' || error.code === 'PCG_ERR_GATEWAY_OFFLINE') && job.state === 'dispatched' && !this.#closed) {
          return this.#track('release', () => this.#release(job));
        }
        this.deps.log.info({ code: error.code, detail: error.message, jobId: job.id, gatewayId: job.gateway_id }, 'job offer not acknowledged; its lease brings it back');
        return undefined;
      })
      .finally(() => {
        offered.delete(job.id);
        this.#inFlight--;
        if (this.#wanted.size > 0) this.#drain();
      });
  }

  /**
   * Acks arriving together are stored together: under load one transaction carries hundreds,
   * which is what keeps a busy store from becoming the queue. A stale ack (its session was
   * superseded) is dropped: the new session was offered the job again.
   */
  #recordAck(ack: { jobId: string; gatewayId: string; epoch: number }): void {
    if (this.#closed) return;
    this.#acks.push(ack);
    if (this.#ackFlush || this.#ackFlushing) return;
    this.#ackFlush = setImmediate(() => {
      this.#ackFlush = undefined;
      this.#ackFlushing = true;
      void this.#track('ack', async () => {
        while (this.#acks.length > 0 && !this.#closed) await this.deps.jobs.ackMany(this.#acks.splice(0, 500));
      }).finally(() => {
        this.#ackFlushing = false;
        if (this.#acks.length > 0) this.#recordAck(this.#acks.pop()!);
      });
    });
  }

  /** dispatched → queued for an offer that went nowhere, and a wake-up for whichever relay holds the gateway now. */
  async #release(job: JobTable): Promise<void> {
    if (job.state !== 'dispatched') return;
    if (await this.deps.jobs.release(job.id, job.attempts)) await this.#signal('job_queued', job.gateway_id);
  }

  #askToCancel(job: JobTable): void {
    const session = this.deps.hub.session(job.gateway_id);
    if (!session) return;
    const asked = setFor(this.#cancelAsked, session);
    if (asked.has(job.id)) return;
    asked.add(job.id);
    void cancelJob(session, job.id, this.options.answerTimeoutMs)
      .then((answer) => {
        // `cancelling` and `finished`: the gateway's report carries the result. `unknown`: it never
        // had the job (the offer was lost), so nothing will report; end it here.
        if (answer.state !== 'unknown' || this.#closed) return undefined;
        return this.#track('cancel', async () => {
          const row = await this.deps.jobs.cancelOutright(job.id, 'requested');
          if (row) await this.#signal('cluster_event', row.cluster_id);
        });
      })
      .catch((err: unknown) => {
        asked.delete(job.id); // asked again at the next poll
        this.deps.log.info({ err, jobId: job.id }, 'job cancel not answered; asking again');
      });
  }

  async #cancelQueued(job: JobTable): Promise<void> {
    const row = await this.deps.jobs.cancelOutright(job.id, 'queued');
    if (!row) return;
    await this.#signal('cluster_event', row.cluster_id);
    await this.#signal('job_queued', row.gateway_id); // the cluster's next job may go now
  }

  async #signal(channel: 'job_queued' | 'cluster_event', payload: string): Promise<void> {
    await this.deps.signals.notify(channel, payload).catch((err: unknown) => this.deps.log.warn({ err, channel }, 'cannot signal; the poll will find it'));
  }

  #poll(): void {
    if (this.#polling || this.#closed) return;
    this.#polling = true;
    void this.#track('poll', async () => {
      // Any relay may requeue an expired lease; the holder of the gateway claims it again below
      // (or at its own poll), and a wake-up saves the others a second.
      for (const gatewayId of await this.deps.jobs.requeueExpired()) {
        if (this.deps.hub.session(gatewayId)) this.#want(gatewayId);
        else await this.#signal('job_queued', gatewayId);
      }
      for (const job of await this.deps.jobs.queuedWithCancelRequest()) await this.#cancelQueued(job);
      for (const gatewayId of await this.deps.jobs.gatewaysWithWork(this.options.relayId)) this.#want(gatewayId);
    }).finally(() => {
      this.#polling = false;
    });
  }
}

function setFor(map: WeakMap<TunnelSession, Set<string>>, session: TunnelSession): Set<string> {
  let set = map.get(session);
  if (!set) {
    set = new Set();
    map.set(session, set);
  }
  return set;
}
