import type { Logger } from 'pino';
import type { FrameHandlers } from '../../../proto/frame-handlers.js';
import type { GatewayStore } from '../../store/gateway-store.js';
import type { TunnelSession } from '../tunnel-session.js';

/** vCenter metadata the gateway reports after each welcome lands on its cloud account (never a password). */
export function vcenterInfoHandlers(deps: { readonly gateways: GatewayStore; readonly log: Logger }): FrameHandlers<TunnelSession> {
  return {
    'vcenter.info': async (frame, session) => {
      await deps.gateways.recordVcenterInfo(session.gatewayId, { host: frame.host, thumbprint: frame.thumbprint, version: frame.version, datacenters: frame.datacenters });
      deps.log.info({ gatewayId: session.gatewayId, vcenter: frame.host, version: frame.version }, 'vCenter metadata recorded');
    },
  };
}
