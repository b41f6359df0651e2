import type { Logger } from 'pino';
import type { Clock } from '../../proto/clock.js';
import { PcgError, RelayBusyError, type ErrorCode } from '../../proto/errors.js';
import { HandlerTable } from '../../proto/frame-handlers.js';
import { SealedChannel, type ChannelEnd } from '../../proto/sealed-channel.js';
import { RELAY_FRAME_TYPES } from '../../proto/schemas/frames.js';
import type { GatewayIdentity } from '../identity/identity-store.js';
import type { ProxyEnv } from '../net/proxy-for-url.js';
import type { StatusRecord, TunnelState } from '../status/status-file.js';
import { Backoff, type BackoffOptions } from './backoff.js';
import { GatewaySession } from './gateway-session.js';
import { RelayDialer, type CertWindow } from './relay-dialer.js';
import type { TunnelFeature } from './tunnel-feature.js';

export interface TunnelClientOptions {
  readonly backoff: BackoffOptions;
  /** Connect plus handshake deadline. @default 15_000 */
  readonly connectTimeoutMs: number;
  readonly proxy: ProxyEnv;
  readonly version: string;
}

/** The client's outside world: where status goes. */
export interface TunnelClientPorts {
  readonly clock: Clock;
  readonly log: Logger;
  reportStatus(status: StatusRecord): void;
}

/** Errors after which retrying cannot help: the operator must act. */
const TERMINAL: ReadonlySet<ErrorCode> = new Set(['PCG_ERR_GATEWAY_REVOKED', 'PCG_ERR_GATEWAY_UNKNOWN', 'PCG_ERR_SESSION_SUPERSEDED']);

const TRANSITIONS: Readonly<Record<TunnelState, readonly TunnelState[]>> = {
  connecting: ['online', 'backoff', 'stopped'],
  online: ['backoff', 'stopped'],
  backoff: ['connecting', 'stopped'],
  stopped: [],
};

/**
 * Keeps the tunnel up: connect, handshake, run the session, and on any loss reconnect with
 * capped exponential backoff and full jitter (a relay's retry-after hint is honoured, with
 * jitter). Stops for good, with the reason, on revocation, when the relay does not know this
 * gateway, or when another process of the same gateway takes over.
 *
 *   connecting --welcome--> online --closed--> backoff --timer--> connecting
 *        \--fail-----------------------------> backoff
 *   any --stop() | terminal refusal--> stopped (reason: the refusal's code, or none)
 *
 * Features (handlers plus opened/closed hooks) are registered at creation.
 */
export class TunnelClient {
  #state: TunnelState = 'connecting';
  #since: number;
  #session: GatewaySession | undefined;
  #lastHeartbeatAt: number | null = null;
  #lastError: ErrorCode | null = null;
  #stopReason: PcgError | undefined;
  #wake: (() => void) | undefined;
  /** The connection attempt in progress (connect and handshake); stop() aborts it. */
  #attempt: AbortController | undefined;
  #loopDone: Promise<void> | undefined;
  #startedAt: number;

  private constructor(
    private readonly dialer: RelayDialer,
    private readonly backoff: Backoff,
    private readonly handlers: HandlerTable<GatewaySession>,
    private readonly features: readonly TunnelFeature[],
    private readonly options: TunnelClientOptions,
    private readonly ports: TunnelClientPorts,
  ) {
    this.#startedAt = ports.clock.now();
    this.#since = this.#startedAt;
  }

  /**
   * Builds everything per identity up front (TLS context, pinned keys, the handler table), so a
   * reconnect costs only the handshake itself. Call start() to connect.
   */
  static create(identity: GatewayIdentity, options: TunnelClientOptions, ports: TunnelClientPorts, features: readonly TunnelFeature[]): TunnelClient {
    const handlers = HandlerTable.register<GatewaySession>(RELAY_FRAME_TYPES, features.flatMap((f) => (f.handlers ? [f.handlers] : [])));
    const dialer = RelayDialer.create(identity, { connectTimeoutMs: options.connectTimeoutMs, proxy: options.proxy, clock: ports.clock });
    return new TunnelClient(dialer, new Backoff(options.backoff), handlers, features, options, ports);
  }

  /** Starts the connect loop once; later calls do nothing. */
  start(): this {
    if (!this.#loopDone) {
      this.#startedAt = this.ports.clock.now();
      this.#loopDone = this.#loop();
    }
    return this;
  }

  /** Settles when the loop has ended: on stop() or on a terminal refusal. */
  get done(): Promise<void> {
    return this.#loopDone ?? Promise.resolve();
  }

  get state(): TunnelState {
    return this.#state;
  }

  get session(): GatewaySession | undefined {
    return this.#session;
  }

  /** Why the client stopped by itself, if it did. */
  get stopReason(): PcgError | undefined {
    return this.#stopReason;
  }

  /** Validity of the client certificate in use. */
  get certWindow(): CertWindow {
    return this.dialer.certWindow;
  }

  /** Uses a renewed client certificate from the next connection on. */
  useCertificate(certPem: string): void {
    this.dialer.useCertificate(certPem);
  }

  /** Idempotent; resolves once the loop has ended and the socket is closed. */
  async stop(): Promise<void> {
    if (this.#state !== 'stopped') this.#transition('stopped');
    this.#attempt?.abort();
    this.#session?.close('normal');
    this.#wake?.();
    await this.done;
  }

  #transition(to: TunnelState, at = this.ports.clock.now()): void {
    if (!TRANSITIONS[this.#state].includes(to)) throw new Error(`illegal tunnel transition ${this.#state} → ${to}`);
    this.#state = to;
    this.#since = at;
    this.#report();
  }

  #report(): void {
    this.ports.reportStatus({
      pid: process.pid, state: this.#state, since: this.#since,
      reason: this.#stopReason ? { code: this.#stopReason.code, message: this.#stopReason.message } : null,
      lastHeartbeatAt: this.#lastHeartbeatAt, epoch: this.#session?.epoch ?? null, certExpiresAt: this.dialer.certWindow.notAfter,
      lastError: this.#state === 'online' ? null : this.#lastError, updatedAt: this.ports.clock.now(),
    });
  }

  /** The relay acknowledged a heartbeat (features/heartbeat-ack-feature.ts). */
  heartbeatAcked(at: number): void {
    this.#lastHeartbeatAt = at;
    this.#report();
  }

  async #loop(): Promise<void> {
    this.#report();
    while (this.#state !== 'stopped') {
      let delay: number;
      try {
        const ended = await this.#connectOnce();
        if (this.#stopped) break;
        if (ended.code && TERMINAL.has(ended.code)) {
          this.#stop(new PcgError(ended.code, `the relay closed the tunnel (${ended.closeCode})`));
          break;
        }
        this.ports.log.warn({ closeCode: ended.closeCode, code: ended.code, reason: ended.reason }, 'tunnel closed; reconnecting');
        this.#lastError = ended.code ?? 'PCG_ERR_RELAY_UNREACHABLE';
        delay = this.backoff.next();
      } catch (err) {
        if (this.#stopped) break;
        const error = PcgError.wrap(err, 'PCG_ERR_RELAY_UNREACHABLE');
        if (TERMINAL.has(error.code)) {
          this.#stop(error);
          break;
        }
        this.#lastError = error.code;
        delay = error instanceof RelayBusyError ? this.backoff.afterHint(error.retryAfterMs) : this.backoff.next();
        this.ports.log.warn({ code: error.code, detail: error.message, retryInMs: delay, attempt: this.backoff.attempts }, 'relay not reachable; retrying');
      }
      this.#transition('backoff');
      await this.#pause(delay);
      if (!this.#stopped) this.#transition('connecting');
    }
  }

  /** A getter, not a field test: stop() may run during any await of the loop. */
  get #stopped(): boolean {
    return this.#state === 'stopped';
  }

  #stop(reason: PcgError): void {
    this.#stopReason = reason;
    this.#lastError = reason.code;
    this.ports.log.error({ code: reason.code }, reason.message);
    this.#transition('stopped');
  }

  async #connectOnce(): Promise<ChannelEnd> {
    const attempt = new AbortController();
    this.#attempt = attempt;
    try {
      return await this.#connectAndRun(attempt.signal);
    } finally {
      this.#attempt = undefined;
    }
  }

  async #connectAndRun(signal: AbortSignal): Promise<ChannelEnd> {
    const established = await this.dialer.dial(signal);
    const { ws } = established;
    if (this.#stopped) {
      ws.terminate();
      return { closeCode: 1000, code: undefined, reason: 'stopped' };
    }
    const log = this.ports.log.child({ epoch: established.welcome.epoch });
    const channel = new SealedChannel(ws, established.sealer, established.opener, { accepts: this.handlers.accepts, clock: this.ports.clock, log });
    const session = new GatewaySession(established.welcome, channel, this.handlers, {
      clock: this.ports.clock, log,
      status: () => ({
        version: this.options.version, uptime_s: Math.round((this.ports.clock.now() - this.#startedAt) / 1000), cert_expires_at: this.dialer.certWindow.notAfter,
      }),
    });
    this.#session = session;
    this.backoff.reset();
    this.#lastError = null;
    // The welcome is the relay's first word on this session, and the relay counts the session's
    // start as the gateway's first sign of life: both sides show the same moment.
    const welcomedAt = this.ports.clock.now();
    this.#lastHeartbeatAt = welcomedAt;
    session.start(established.pending);
    this.#transition('online', welcomedAt);
    this.ports.log.info({ epoch: established.welcome.epoch, heartbeatS: established.welcome.heartbeat_s }, 'tunnel online');
    this.#each((f) => f.opened?.(session), 'opened');
    const ended = await session.ended;
    this.#each((f) => f.closed?.(session, ended), 'closed');
    this.#session = undefined;
    return ended;
  }

  #each(call: (feature: TunnelFeature) => void, hook: string): void {
    for (const feature of this.features) {
      try {
        call(feature);
      } catch (err) {
        this.ports.log.error({ err }, `a tunnel feature failed in ${hook}`);
      }
    }
  }

  #pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#wake = undefined;
        resolve();
      }, ms);
      this.#wake = () => {
        clearTimeout(timer);
        this.#wake = undefined;
        resolve();
      };
    });
  }
}
