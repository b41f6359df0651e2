import type { GatewaySession } from '../gateway-session.js';
import type { TunnelFeature } from '../tunnel-feature.js';

/** Answers the relay's round-trip probe with the same id and data. */
export function echoFeature(): TunnelFeature {
  return {
    handlers: {
      echo: (frame, session: GatewaySession) => session.send({ type: 'echo.reply', id: frame.id, data: frame.data }),
    },
  };
}
