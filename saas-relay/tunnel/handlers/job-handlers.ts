import type { Logger } from 'pino';
import { PcgError } from '../../../proto/errors.js';
import { finalReply, type FrameHandlers } from '../../../proto/frame-handlers.js';
import type { JobAckFrame, JobCancelAckFrame } from '../../../proto/schemas/frames.js';
import type { Job } from '../../../proto/schemas/jobs.js';
import type { ClusterDrift } from '../../jobs/cluster-drift.js';
import { JobReportBatcher } from '../../jobs/job-report-batcher.js';
import type { JobReportStore } from '../../store/job-report-store.js';
import type { RelaySignals } from '../../store/relay-signals.js';
import type { TunnelSession } from '../tunnel-session.js';

export interface JobHandlerDeps {
  readonly reports: JobReportStore;
  readonly drift: ClusterDrift;
  readonly signals: RelaySignals;
  readonly log: Logger;
}

/**
 * Jobs on the relay's side of the tunnel: `job.ack` and `job.cancel.ack` settle the relay's own
 * requests (JobDispatcher); `job.report` and `cluster.drift` are the gateway's requests, stored
 * under the session's epoch (a superseded session gets PCG_ERR_STALE_EPOCH and nothing is stored)
 * and answered once committed, so an ack always means "stored". Reports arriving together, from any
 * sessions of this relay, share one transaction (JobReportBatcher).
 */
export function jobHandlers(deps: JobHandlerDeps): FrameHandlers<TunnelSession> {
  // Wake-ups after commit; a lost one costs latency only (streams and dispatchers poll).
  const wake = (channel: 'cluster_event' | 'job_queued', payload: string): void => {
    deps.signals.notify(channel, payload).catch((err: unknown) => deps.log.warn({ err, channel }, 'cannot signal; the poll will find it'));
  };
  const reports = new JobReportBatcher(deps.reports);
  return {
    'job.ack': finalReply(),
    'job.cancel.ack': finalReply(),
    'job.report': async (frame, session) => {
      const applied = await reports.apply(session.gatewayId, session.epoch, frame);
      session.send({ type: 'job.report.ack', id: frame.id, job_id: frame.job_id, seq: applied.seq, state: applied.job.state });
      if (applied.stored > 0 || applied.finished) wake('cluster_event', applied.job.cluster_id);
      // The cluster's next job (a delete queued behind a cancelled create) may go now.
      if (applied.unblocked) wake('job_queued', session.gatewayId);
    },
    'cluster.drift': async (frame, session) => {
      const drift = await deps.drift.apply(session.gatewayId, session.epoch, frame.cluster_id, frame.missing);
      session.send({ type: 'cluster.drift.ack', id: frame.id, cluster_id: frame.cluster_id, repair_job_id: drift.repairJobId });
      wake('cluster_event', frame.cluster_id);
      if (drift.repairJobId) wake('job_queued', session.gatewayId);
    },
  };
}

/** Offers a job; resolves with the gateway's ack, or rejects (timeout, tunnel closed, error frame). */
export function offerJob(session: TunnelSession, job: Job, timeoutMs: number): Promise<JobAckFrame> {
  return session.requests.call<JobAckFrame>((id) => session.send({ type: 'job.offer', id, job }), {
    timeoutMs,
    onTimeout: () => new PcgError('PCG_ERR_GATEWAY_TIMEOUT', `gateway ${session.gatewayId} did not acknowledge job ${job.id} within ${timeoutMs} ms`),
  });
}

/** Asks the gateway to stop a job; resolves with its answer (cancelling, finished, unknown). */
export function cancelJob(session: TunnelSession, jobId: string, timeoutMs: number): Promise<JobCancelAckFrame> {
  return session.requests.call<JobCancelAckFrame>((id) => session.send({ type: 'job.cancel', id, job_id: jobId }), {
    timeoutMs,
    onTimeout: () => new PcgError('PCG_ERR_GATEWAY_TIMEOUT', `gateway ${session.gatewayId} did not answer the cancel of job ${jobId} within ${timeoutMs} ms`),
  });
}
