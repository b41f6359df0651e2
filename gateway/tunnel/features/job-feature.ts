import { finalReply } from '../../../proto/frame-handlers.js';
import type { DriftWatcher } from '../../jobs/drift-watcher.js';
import type { JobReporter } from '../../jobs/job-reporter.js';
import type { JobRunner } from '../../jobs/job-runner.js';
import type { GatewaySession } from '../gateway-session.js';
import type { TunnelFeature } from '../tunnel-feature.js';

/**
 * Jobs over the tunnel. `job.offer` is journaled by the runner before `job.ack` goes out, so an ack
 * is a promise kept across a crash; `job.cancel` → `job.cancel.ack`. Reports and drift are
 * requests of the gateway's own, settled by their final replies. On every session open the
 * reporter resends what the relay has not acknowledged and the drift watcher resumes.
 */
export function jobFeature(runner: JobRunner, reporter: JobReporter, drift: DriftWatcher | undefined): TunnelFeature {
  return {
    handlers: {
      'job.offer': (frame, session: GatewaySession) => {
        const state = runner.offer(frame.job);
        session.send({ type: 'job.ack', id: frame.id, job_id: frame.job.id, state });
      },
      'job.cancel': (frame, session: GatewaySession) => {
        const state = runner.cancel(frame.job_id);
        session.send({ type: 'job.cancel.ack', id: frame.id, job_id: frame.job_id, state });
      },
      'job.report.ack': finalReply<GatewaySession, 'job.report.ack'>(),
      'cluster.drift.ack': finalReply<GatewaySession, 'cluster.drift.ack'>(),
    },
    opened: (session) => {
      reporter.opened(session);
      drift?.opened(session);
    },
    closed: (session) => {
      reporter.closed(session);
      drift?.closed(session);
    },
  };
}
