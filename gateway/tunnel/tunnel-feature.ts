import type { FrameHandlers } from '../../proto/frame-handlers.js';
import type { ChannelEnd } from '../../proto/sealed-channel.js';
import type { GatewaySession } from './gateway-session.js';

/**
 * What rides the tunnel on the gateway: handlers for the frames a feature owns, and what it does
 * when a session opens (resend journaled work, report facts) or closes. Registered once, at
 * start, with the tunnel client; sessions know nothing of features.
 */
export interface TunnelFeature {
  readonly handlers?: FrameHandlers<GatewaySession>;
  opened?(session: GatewaySession): void;
  closed?(session: GatewaySession, end: ChannelEnd): void;
}
