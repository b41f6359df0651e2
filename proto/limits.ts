/** Protocol constants both ends rely on; each lives here once. */

/** Largest websocket message either end accepts; a larger one closes with 1009. */
export const MAX_FRAME_BYTES = 1_048_576;

/**
 * Heartbeat intervals without a single frame after which a peer is taken for gone: the relay
 * closes the session, the gateway reconnects, and the relay's API shows the gateway offline.
 */
export const MISSED_HEARTBEATS = 3;

/** How long a peer that never answers the websocket close handshake may hold the socket. */
export const CLOSE_GRACE_MS = 2000;

/** The silence, in ms, after which a peer heartbeating every `heartbeatSeconds` is taken for gone. */
export function silenceLimitMs(heartbeatSeconds: number): number {
  return MISSED_HEARTBEATS * heartbeatSeconds * 1000;
}
