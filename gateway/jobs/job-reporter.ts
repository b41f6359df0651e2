import type { Logger } from 'pino';
import { PcgError } from '../../proto/errors.js';
import type { RequestTracker } from '../../proto/request-tracker.js';
import type { Frame, JobReportAckFrame } from '../../proto/schemas/frames.js';
import { TERMINAL_JOB_STATES, type JobEvent, type JobResult, type JobState } from '../../proto/schemas/jobs.js';
import type { JobJournal } from './job-journal.js';

/** What the reporter needs of a tunnel session (GatewaySession is one). */
export interface ReportSession {
  readonly isOpen: boolean;
  readonly requests: RequestTracker;
  send(frame: Frame): void;
}

export interface JobReporterOptions {
  /** How long the relay may take to acknowledge a report. @default 30_000 */
  readonly reportTimeoutMs?: number;
  /** First delay before a failed or unacknowledged report is sent again; doubles up to `maxRetryMs`. @default 2_000 */
  readonly retryMs?: number;
  /** @default 60_000 */
  readonly maxRetryMs?: number;
}

export interface JobReporterPorts {
  readonly journal: JobJournal;
  readonly log: Logger;
  /** The relay holds a job as ended (e.g. cancelled while this gateway was offline) that still runs here. */
  relayEnded(jobId: string, state: JobState): void;
}

/** The most events one `job.report` carries (the frame schema's limit). */
export const EVENTS_PER_REPORT = 200;

interface Sent {
  readonly result: JobResult | undefined;
}

/**
 * Delivers each job's journaled outbox to the relay as `job.report` requests: events in seq
 * order, at most 200 a frame, the result in the last report once every event is acknowledged or
 * travels with it. `job.report.ack` marks events acknowledged up to its seq, and the job delivered
 * when it acknowledged the result. One report per job is in flight; on every session open all that
 * is unacknowledged is sent again (results made while offline arrive on reconnect). A failure or
 * an ack without progress waits for a timer (doubling) or the next open: never a tight loop.
 */
export class JobReporter {
  #session: ReportSession | undefined;
  readonly #inFlight = new Set<string>();
  #retryTimer: NodeJS.Timeout | undefined;
  #retryDelay: number;
  #closed = false;
  readonly #options: Required<JobReporterOptions>;

  constructor(options: JobReporterOptions, private readonly ports: JobReporterPorts) {
    this.#options = Object.freeze({ reportTimeoutMs: 30_000, retryMs: 2_000, maxRetryMs: 60_000, ...options });
    this.#retryDelay = this.#options.retryMs;
  }

  /** A session opened: everything unacknowledged goes out again. */
  opened(session: ReportSession): void {
    if (this.#closed) return;
    this.#session = session;
    this.#retryDelay = this.#options.retryMs;
    this.#flushAll();
  }

  /** The session closed: reports in flight fail with it (the tracker rejects them) and are resent on the next open. */
  closed(session: ReportSession): void {
    if (this.#session !== session) return;
    this.#session = undefined;
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
  }

  /** The job's outbox changed (runner): sends it now when a session is open and nothing of the job is in flight. */
  changed(jobId: string): void {
    this.#send(jobId);
  }

  /** Jobs with a report waiting for its ack. */
  get inFlight(): number {
    return this.#inFlight.size;
  }

  /** Idempotent; reports in flight are abandoned (they stay in the journal). */
  close(): void {
    this.#closed = true;
    this.#session = undefined;
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
  }

  #flushAll(): void {
    for (const jobId of this.ports.journal.pendingReports()) this.#send(jobId);
  }

  #send(jobId: string): void {
    const session = this.#session;
    if (this.#closed || !session?.isOpen || this.#inFlight.has(jobId) || !this.ports.journal.isOpen) return;
    const entry = this.ports.journal.get(jobId);
    if (!entry) return;
    const pending = this.ports.journal.unackedEvents(jobId, EVENTS_PER_REPORT + 1);
    const events: JobEvent[] = pending.slice(0, EVENTS_PER_REPORT);
    const result = entry.state === 'finished' && !entry.delivered && pending.length <= EVENTS_PER_REPORT ? entry.result ?? undefined : undefined;
    if (events.length === 0 && !result) return;
    const sent: Sent = { result };
    this.#inFlight.add(jobId);
    session.requests.call<JobReportAckFrame>(
      (id) => session.send({ type: 'job.report', id, job_id: jobId, events, ...(result ? { result } : {}) }),
      {
        timeoutMs: this.#options.reportTimeoutMs,
        onTimeout: () => new PcgError('PCG_ERR_GATEWAY_TIMEOUT', `the relay did not acknowledge the report of job ${jobId} within ${this.#options.reportTimeoutMs} ms`),
      },
    ).then((ack) => {
      this.#inFlight.delete(jobId);
      if (this.#acked(jobId, sent, ack)) {
        this.#retryDelay = this.#options.retryMs;
        this.#send(jobId);
      } else {
        this.#scheduleRetry();
      }
    }, (err: unknown) => {
      this.#inFlight.delete(jobId);
      const error = PcgError.wrap(err, 'PCG_ERR_INTERNAL');
      if (error.code !== 'PCG_ERR_TUNNEL_CLOSED') this.ports.log.warn({ jobId, code: error.code, detail: error.message }, 'job report not acknowledged; sending it again later');
      this.#scheduleRetry();
    });
  }

  /** True when the ack moved anything forward. */
  #acked(jobId: string, sent: Sent, ack: JobReportAckFrame): boolean {
    const { journal } = this.ports;
    if (!journal.isOpen) return false;
    const acked = journal.ackEvents(jobId, ack.seq);
    const terminal = TERMINAL_JOB_STATES.includes(ack.state);
    let delivered = false;
    if (sent.result && terminal) {
      journal.markDelivered(jobId);
      delivered = true;
    } else if (terminal && journal.get(jobId)?.state === 'running') {
      this.ports.relayEnded(jobId, ack.state);
    }
    return acked > 0 || delivered;
  }

  #scheduleRetry(): void {
    if (this.#closed || this.#retryTimer || !this.#session) return;
    const delay = this.#retryDelay;
    this.#retryDelay = Math.min(this.#retryDelay * 2, this.#options.maxRetryMs);
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.#flushAll();
    }, delay);
  }
}
