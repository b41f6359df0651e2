import type { Clock } from '../../../proto/clock.js';
import type { FrameHandlers } from '../../../proto/frame-handlers.js';
import type { GatewayStore } from '../../store/gateway-store.js';
import type { TunnelSession } from '../tunnel-session.js';

/**
 * Heartbeats: each one refreshes the gateway's stored liveness and facts (version, clock skew,
 * certificate expiry) and is acknowledged. The store is asked whether this session is still the
 * gateway's current one: the event feed may not have told this relay of a revocation or a newer
 * session yet, but the store already knows, and the close code tells the gateway which it was.
 */
export function heartbeatHandlers(deps: { readonly gateways: GatewayStore; readonly clock: Clock }): FrameHandlers<TunnelSession> {
  return {
    heartbeat: async (frame, session) => {
      const now = deps.clock.now();
      const standing = await deps.gateways.recordHeartbeat(session.gatewayId, session.epoch, {
        version: frame.status.version, clockSkewMs: frame.time - now, certExpiresAt: frame.status.cert_expires_at,
      });
      if (standing === 'revoked') session.close('PCG_ERR_GATEWAY_REVOKED');
      else if (standing === 'superseded') session.close('PCG_ERR_SESSION_SUPERSEDED', 'a newer session of this gateway exists');
      else if (session.isOpen) session.send({ type: 'heartbeat.ack', seq: frame.seq, server_time: now });
    },
  };
}
