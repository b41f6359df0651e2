import type { TunnelFeature } from '../tunnel-feature.js';

/** The relay's acknowledgement of a heartbeat: proof, for the status page, that the relay hears us. */
export function heartbeatAckFeature(acked: (at: number) => void, now: () => number): TunnelFeature {
  return {
    handlers: { 'heartbeat.ack': () => acked(now()) },
  };
}
