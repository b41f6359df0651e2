import type { Logger } from 'pino';
import { isErrorCode } from '../../../proto/errors.js';
import type { FrameHandlers } from '../../../proto/frame-handlers.js';
import type { TunnelSession } from '../tunnel-session.js';

/** An `error` frame from the gateway: it settles the request it names, and is logged either way. */
export function peerErrorHandlers(deps: { readonly log: Logger }): FrameHandlers<TunnelSession> {
  return {
    error: (frame, session) => {
      const settled = frame.id !== undefined && session.requests.rejectWithFrame({ ...frame, id: frame.id });
      deps.log.warn({ gatewayId: session.gatewayId, code: isErrorCode(frame.code) ? frame.code : 'unknown', detail: frame.message, ref: frame.ref, settled }, 'gateway reported an error');
    },
  };
}
