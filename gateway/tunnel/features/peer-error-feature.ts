import type { Logger } from 'pino';
import type { TunnelFeature } from '../tunnel-feature.js';

/** An `error` frame from the relay: it settles the request it names, and is logged either way. */
export function peerErrorFeature(log: Logger): TunnelFeature {
  return {
    handlers: {
      error: (frame, session) => {
        const settled = frame.id !== undefined && session.requests.rejectWithFrame({ ...frame, id: frame.id });
        log.warn({ code: frame.code, detail: frame.message, ref: frame.ref, settled }, 'relay reported an error');
      },
    },
  };
}
