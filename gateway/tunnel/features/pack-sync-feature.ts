import { finalReply } from '../../../proto/frame-handlers.js';
import type { PackSyncReporter } from '../../registry/pack-sync-reporter.js';
import type { GatewaySession } from '../gateway-session.js';
import type { TunnelFeature } from '../tunnel-feature.js';

/**
 * The pack index over the tunnel: `registry.index` is the gateway's request (full on every session
 * open, deltas on change), settled by `registry.index.ack`; `registry.resync` ("sync now") is the
 * relay's, answered with `registry.resync.ack` once the full report it asked for is acknowledged.
 */
export function packSyncFeature(reporter: PackSyncReporter): TunnelFeature {
  return {
    handlers: {
      'registry.index.ack': finalReply<GatewaySession, 'registry.index.ack'>(),
      // A failure (no registry here, the report not acknowledged) is answered by the channel as an error frame.
      'registry.resync': async (frame, session: GatewaySession) => {
        const generation = await reporter.resync();
        session.send({ type: 'registry.resync.ack', id: frame.id, generation });
      },
    },
    opened: (session) => reporter.opened(session),
    closed: (session) => reporter.closed(session),
  };
}
