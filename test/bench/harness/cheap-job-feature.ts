import { PcgError } from '../../../proto/errors.js';
import { finalReply } from '../../../proto/frame-handlers.js';
import type { GatewaySession } from '../../../gateway/tunnel/gateway-session.js';
import type { TunnelFeature } from '../../../gateway/tunnel/tunnel-feature.js';

/** Frame types the cheap feature owns; the real job feature is left out of a bench gateway. */
export const CHEAP_JOB_FRAMES = ['job.offer', 'job.cancel', 'job.report.ack', 'cluster.drift.ack'] as const;

/**
 * Bench stand-in for the gateway's job runner: acknowledges every offer at once, records when
 * (first ack per job, Date.now(), same host clock as the relay), and reports a result right away,
 * so a job costs the relay exactly one dispatch, one ack and one report.
 */
export function cheapJobFeature(acks: Map<string, number>): TunnelFeature {
  return {
    handlers: {
      'job.offer': (frame, session: GatewaySession) => {
        const known = acks.has(frame.job.id);
        session.send({ type: 'job.ack', id: frame.id, job_id: frame.job.id, state: known ? 'running' : 'accepted' });
        if (known) return;
        acks.set(frame.job.id, Date.now());
        void session.requests.call((id) => session.send({
          type: 'job.report', id, job_id: frame.job.id,
          events: [{ seq: 1, at: Date.now(), step: 'bench', level: 'info', message: 'done' }],
          result: { outcome: 'succeeded', nodes: [] },
        }), { timeoutMs: 60_000, onTimeout: () => new PcgError('PCG_ERR_GATEWAY_TIMEOUT', 'report not acknowledged') }).catch(() => undefined);
      },
      'job.cancel': (frame, session: GatewaySession) => session.send({ type: 'job.cancel.ack', id: frame.id, job_id: frame.job_id, state: 'finished' }),
      'job.report.ack': finalReply<GatewaySession, 'job.report.ack'>(),
      'cluster.drift.ack': finalReply<GatewaySession, 'cluster.drift.ack'>(),
    },
  };
}
