import type { ErrorCode } from '../../proto/errors.js';
import { PcgError } from '../../proto/errors.js';
import type { HandlerTable } from '../../proto/frame-handlers.js';
import { RequestTracker } from '../../proto/request-tracker.js';
import type { ChannelEnd, SealedChannel } from '../../proto/sealed-channel.js';
import type { Frame } from '../../proto/schemas/frames.js';

/** Who the session is with, as the handshake proved it. */
export interface SessionPeer {
  readonly gatewayId: string;
  readonly tenantId: string;
  /** The fencing token this session was opened with. */
  readonly epoch: number;
  /** The gateway's Ed25519 key pinned at pairing, base64. */
  readonly signPub: string;
}

/**
 * One authenticated tunnel on the relay: the gateway it belongs to, its epoch, its sealed
 * channel and its request tracker. Every frame goes to the handler table the hub was built with;
 * the session holds no feature logic.
 */
export class TunnelSession implements SessionPeer {
  readonly requests = new RequestTracker();
  readonly gatewayId: string;
  readonly tenantId: string;
  readonly epoch: number;
  readonly signPub: string;

  constructor(
    peer: SessionPeer,
    private readonly channel: SealedChannel,
    private readonly handlers: HandlerTable<TunnelSession>,
    private readonly onClosed: (session: TunnelSession, end: ChannelEnd) => void,
  ) {
    this.gatewayId = peer.gatewayId;
    this.tenantId = peer.tenantId;
    this.epoch = peer.epoch;
    this.signPub = peer.signPub;
  }

  /** Starts receiving; frames that arrived behind the handshake are handled first. */
  start(): this {
    this.channel.start({
      frame: (frame) => this.handlers.dispatch(frame, this),
      closed: (end) => {
        this.requests.close(new PcgError('PCG_ERR_GATEWAY_OFFLINE', `the tunnel of gateway ${this.gatewayId} closed before it answered`));
        this.onClosed(this, end);
      },
      replyRejected: (id, error) => this.requests.reject(id, error),
    });
    return this;
  }

  get isOpen(): boolean {
    return this.channel.isOpen;
  }

  get lastFrameAt(): number {
    return this.channel.lastFrameAt;
  }

  /** Throws PCG_ERR_TUNNEL_CLOSED when the session is no longer open. */
  send(frame: Frame): void {
    this.channel.send(frame);
  }

  /** Closes with the catalogue's close code for `code`; idempotent. */
  close(code: ErrorCode | 'normal', detail?: string): void {
    this.channel.close(code, detail);
  }
}
