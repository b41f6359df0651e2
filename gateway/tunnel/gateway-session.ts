import type { Logger } from 'pino';
import type { Clock } from '../../proto/clock.js';
import type { ErrorCode } from '../../proto/errors.js';
import { PcgError } from '../../proto/errors.js';
import type { HandlerTable } from '../../proto/frame-handlers.js';
import { silenceLimitMs } from '../../proto/limits.js';
import { RequestTracker } from '../../proto/request-tracker.js';
import type { ChannelEnd, ChannelMessage, SealedChannel } from '../../proto/sealed-channel.js';
import type { Frame, GatewayStatus, WelcomeFrame } from '../../proto/schemas/frames.js';

export interface GatewaySessionOptions {
  /** What each heartbeat reports; read at every beat. */
  readonly status: () => GatewayStatus;
  readonly clock: Clock;
  readonly log: Logger;
}

/**
 * One live tunnel on the gateway: the welcome it was opened with (epoch, heartbeat pace), its
 * sealed channel, its request tracker, and heartbeats at the relay's pace. A relay silent for
 * MISSED_HEARTBEATS intervals is cut so the owner reconnects. Frames go to the handler table;
 * the session holds no feature logic. `ended` settles when the socket has closed.
 */
export class GatewaySession {
  readonly requests = new RequestTracker();
  readonly ended: Promise<ChannelEnd>;
  #resolveEnded!: (end: ChannelEnd) => void;
  #seq = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(
    readonly welcome: WelcomeFrame,
    private readonly channel: SealedChannel,
    private readonly handlers: HandlerTable<GatewaySession>,
    private readonly options: GatewaySessionOptions,
  ) {
    this.ended = new Promise((resolve) => {
      this.#resolveEnded = resolve;
    });
  }

  /** Starts receiving (`pending`: frames that arrived right behind welcome) and heartbeating. */
  start(pending: readonly ChannelMessage[]): this {
    this.channel.start({
      frame: (frame) => this.handlers.dispatch(frame, this),
      closed: (end) => {
        clearTimeout(this.#timer);
        this.requests.close(new PcgError('PCG_ERR_TUNNEL_CLOSED', `the tunnel closed (${end.closeCode}) before the relay answered`));
        this.#resolveEnded(end);
      },
      replyRejected: (id, error) => this.requests.reject(id, error),
    }, pending);
    // The first heartbeat lands at a random point of the first interval: after a relay restart
    // thousands of gateways reconnect within seconds, and lockstep heartbeats would hit the relay
    // as one burst every interval from then on.
    const intervalMs = this.welcome.heartbeat_s * 1000;
    if (this.channel.state === 'open') this.#schedule(Math.floor(Math.random() * intervalMs));
    return this;
  }

  get epoch(): number {
    return this.welcome.epoch;
  }

  get isOpen(): boolean {
    return this.channel.isOpen;
  }

  /** Throws PCG_ERR_TUNNEL_CLOSED when the session is no longer open. */
  send(frame: Frame): void {
    this.channel.send(frame);
  }

  /** Closes with the catalogue's close code for `code`; idempotent. */
  close(code: ErrorCode | 'normal'): void {
    clearTimeout(this.#timer);
    this.channel.close(code);
  }

  #schedule(delayMs: number): void {
    this.#timer = setTimeout(() => this.#beat(), delayMs);
  }

  #beat(): void {
    const now = this.options.clock.now();
    const silentMs = now - this.channel.lastFrameAt;
    if (silentMs > silenceLimitMs(this.welcome.heartbeat_s)) {
      this.options.log.warn({ silentMs }, 'relay silent for too many heartbeats; reconnecting');
      this.channel.terminate();
      return;
    }
    if (!this.channel.isOpen) return;
    this.send({ type: 'heartbeat', seq: this.#seq++, time: now, status: this.options.status() });
    this.#schedule(this.welcome.heartbeat_s * 1000);
  }
}
