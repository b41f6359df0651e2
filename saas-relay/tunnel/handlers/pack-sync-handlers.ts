import type { Logger } from 'pino';
import { PcgError } from '../../../proto/errors.js';
import { finalReply, type FrameHandlers } from '../../../proto/frame-handlers.js';
import type { RegistryResyncAckFrame } from '../../../proto/schemas/frames.js';
import { PackReportParts } from '../../registry/pack-sync-parts.js';
import type { PackSyncStore } from '../../registry/pack-sync-store.js';
import type { RoutedOperation } from '../routed-operation.js';
import type { TunnelSession } from '../tunnel-session.js';

export interface PackSyncHandlerDeps {
  readonly packSync: PackSyncStore;
  readonly log: Logger;
}

/**
 * The gateway's pack index on the relay's side: `registry.index` (full or delta) is applied in one
 * transaction under the session's epoch and answered once committed with the generation stored,
 * or `resync: true` when the delta's base is not what the relay holds or the result did not
 * verify by digest. A full report in parts is kept aside (PackReportParts) until its last part and
 * then applied like a single frame; a part that breaks the sequence drops it and asks for a full
 * report. `registry.resync.ack` settles the relay's own "sync now" request.
 */
export function packSyncHandlers(deps: PackSyncHandlerDeps): FrameHandlers<TunnelSession> {
  const reports = new PackReportParts();
  return {
    'registry.index': async (frame, session) => {
      const taken = reports.take(session, frame);
      if (taken.kind !== 'whole') {
        if (taken.kind === 'dropped') {
          deps.log.warn({ gatewayId: session.gatewayId, reason: taken.reason }, 'pack index report in parts broken off; asking for a full report');
          await deps.packSync.mark(session.gatewayId, 'pending', `${taken.reason}; nothing of it was applied, waiting for a full report`);
        }
        const generation = await deps.packSync.storedGeneration(session.gatewayId);
        session.send({ type: 'registry.index.ack', id: frame.id, generation, resync: taken.kind === 'dropped' });
        return;
      }
      const applied = await deps.packSync.apply(session.gatewayId, session.epoch, taken.frame);
      if (applied.resync) deps.log.warn({ gatewayId: session.gatewayId, mode: frame.mode, generation: frame.generation, stored: applied.generation }, 'pack index report not applied; asking for a full report');
      session.send({ type: 'registry.index.ack', id: frame.id, generation: applied.generation, resync: applied.resync });
    },
    'registry.resync.ack': finalReply(),
  };
}

/** "Sync now", routed to the relay holding the gateway's tunnel: resolves with the generation the full report stored. */
export const packResyncOperation: RoutedOperation<Record<string, never>, { generation: number }> = {
  name: 'pack-resync',
  run: async (session, _args, { timeoutMs }) => {
    const ack = await session.requests.call<RegistryResyncAckFrame>((id) => session.send({ type: 'registry.resync', id }), {
      timeoutMs,
      onTimeout: () => new PcgError('PCG_ERR_GATEWAY_TIMEOUT', `gateway ${session.gatewayId} did not report its pack index within ${timeoutMs} ms`),
    });
    return { generation: ack.generation };
  },
};
