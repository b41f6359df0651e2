import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Clock } from '../../proto/clock.js';
import { PcgError, type ErrorCode } from '../../proto/errors.js';
import type { GatewayEvents } from '../store/gateway-events.js';
import type { GatewayStore } from '../store/gateway-store.js';
import type { HandlerTable } from '../../proto/frame-handlers.js';
import { silenceLimitMs } from '../../proto/limits.js';
import { SealedChannel } from '../../proto/sealed-channel.js';
import { rejectConnection, runRelayHandshake, type HandshakeServices } from './relay-handshake.js';
import { TunnelSession } from './tunnel-session.js';

/** Told when a session of this relay opens (after welcome) and when it closes: features resume work here. */
export interface SessionListener {
  opened?(session: TunnelSession): void;
  closed?(session: TunnelSession): void;
}

export interface TunnelHubOptions {
  /** Path the tunnel upgrades on. @default '/v1/tunnel' */
  readonly path: string;
  /** Seconds between gateway heartbeats, told to the gateway in `welcome`. */
  readonly heartbeatSeconds: number;
  /** Handshakes in flight above which new connections are refused with a retry-after hint. */
  readonly maxConcurrentHandshakes: number;
  /** Retry-after hint sent with PCG_ERR_RELAY_BUSY. */
  readonly busyRetryAfterMs: number;
  /** Largest websocket message accepted; larger ones close the connection with 1009. */
  readonly maxFrameBytes: number;
  readonly handshakeTimeoutMs: number;
  /** How often the change feed is polled for revocations and supersedes from any relay. */
  readonly eventPollMs: number;
  /** This relay process's id, recorded with each session it holds so other relays can route to it. */
  readonly relayId: string;
}

export interface TunnelHubDeps {
  readonly gateways: GatewayStore;
  readonly events: GatewayEvents;
  /** Every frame a session receives goes here (relay-handlers.ts). */
  readonly handlers: HandlerTable<TunnelSession>;
  readonly handshake: Omit<HandshakeServices, 'handshakeTimeoutMs'>;
  readonly clock: Clock;
  readonly log: Logger;
}

/**
 * Accepts gateway tunnels at /v1/tunnel: admission control, handshake, one live session per
 * gateway in this process. Cross-process facts (epoch, revocation) live in the store and reach
 * every relay through the change feed, so two relays can share one PostgreSQL.
 */
export class TunnelHub {
  readonly #wss: WebSocketServer;
  readonly #sessions = new Map<string, TunnelSession>();
  readonly #listeners: SessionListener[] = [];
  /** Sessions listeners were told opened: only those are told closed. */
  readonly #announced = new WeakSet<TunnelSession>();
  #handshaking = 0;
  #lastEventId = 0;
  #timers: NodeJS.Timeout[] = [];
  #polling = false;
  #closed = false;

  private constructor(private readonly options: TunnelHubOptions, private readonly deps: TunnelHubDeps) {
    this.#wss = new WebSocketServer({ noServer: true, maxPayload: options.maxFrameBytes, perMessageDeflate: false, clientTracking: false });
  }

  static async create(options: TunnelHubOptions, deps: TunnelHubDeps): Promise<TunnelHub> {
    const hub = new TunnelHub(options, deps);
    hub.#lastEventId = await deps.events.latestId();
    hub.#timers.push(setInterval(() => hub.#pollEvents(), options.eventPollMs));
    hub.#timers.push(setInterval(() => hub.#sweepSilentSessions(), Math.max(250, (options.heartbeatSeconds * 1000) / 2)));
    hub.#timers.push(setInterval(() => void deps.events.prune().catch((err: unknown) => deps.log.warn({ err }, 'event prune failed')), 30_000));
    return hub;
  }

  get sessionCount(): number {
    return this.#sessions.size;
  }

  /** This relay's open session of a gateway, if it holds one. */
  session(gatewayId: string): TunnelSession | undefined {
    const session = this.#sessions.get(gatewayId);
    return session?.isOpen ? session : undefined;
  }

  /** Registers a feature's interest in sessions opening and closing; call at start. */
  onSession(listener: SessionListener): void {
    this.#listeners.push(listener);
  }

  #notify(event: 'opened' | 'closed', session: TunnelSession): void {
    for (const listener of this.#listeners) {
      try {
        listener[event]?.(session);
      } catch (err) {
        this.deps.log.error({ err, gatewayId: session.gatewayId }, `session ${event} listener failed`);
      }
    }
  }

  /** The HTTP server's 'upgrade' listener. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const path = (req.url ?? '').split('?')[0];
    if (path !== this.options.path || this.#closed) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.#onConnection(ws, socket as TLSSocket));
  }

  #onConnection(ws: WebSocket, socket: TLSSocket): void {
    if (this.#handshaking >= this.options.maxConcurrentHandshakes) {
      rejectConnection(ws, new PcgError('PCG_ERR_RELAY_BUSY', `${this.#handshaking} handshakes in progress`), this.options.busyRetryAfterMs);
      return;
    }
    this.#handshaking++;
    ws.on('error', (err) => this.deps.log.debug({ err }, 'tunnel socket error'));
    runRelayHandshake(ws, socket, { ...this.deps.handshake, handshakeTimeoutMs: this.options.handshakeTimeoutMs })
      .then(async (outcome) => {
        if (outcome.kind === 'paired') {
          this.deps.log.info({ gatewayId: outcome.gatewayId }, 'gateway paired');
          return;
        }
        const { gateway, sealer, opener, agent } = outcome.session;
        const epoch = await this.deps.gateways.beginSession(gateway, agent, this.options.relayId);
        const logBindings = { gatewayId: gateway.id, epoch };
        const channel = new SealedChannel(ws, sealer, opener, { accepts: this.deps.handlers.accepts, clock: this.deps.clock, log: this.deps.log, logBindings });
        const session = new TunnelSession({ gatewayId: gateway.id, tenantId: gateway.tenant_id, epoch, signPub: gateway.sign_pub ?? '' }, channel, this.deps.handlers,
          (s) => this.#onSessionClosed(s)).start();
        if (!session.isOpen) return; // the socket died between auth and now; start() has recorded its end
        if (this.#closed) {
          session.close('normal'); // the relay began closing while the store was asked
          return;
        }
        const previous = this.#sessions.get(gateway.id);
        if (previous && previous.epoch > epoch) {
          // Two sessions of one gateway raced through beginSession and the newer one got here first.
          session.close('PCG_ERR_SESSION_SUPERSEDED', `superseded by epoch ${previous.epoch}`);
          return;
        }
        this.#sessions.set(gateway.id, session);
        previous?.close('PCG_ERR_SESSION_SUPERSEDED', `superseded by epoch ${epoch}`);
        session.send({ type: 'welcome', epoch, heartbeat_s: this.options.heartbeatSeconds, server_time: this.deps.clock.now() });
        this.deps.log.debug({ ...logBindings, tlsResumed: socket.isSessionReused() }, 'tunnel established');
        this.#announced.add(session);
        this.#notify('opened', session);
      })
      .catch((err: unknown) => {
        const error = PcgError.wrap(err, 'PCG_ERR_INTERNAL', 'handshake failed');
        this.deps.log.info({ code: error.code, detail: error.detail, err: error.code === 'PCG_ERR_INTERNAL' ? err : undefined }, 'tunnel handshake refused');
        rejectConnection(ws, error);
      })
      .finally(() => {
        this.#handshaking--;
      });
  }

  #onSessionClosed(session: TunnelSession): void {
    if (this.#sessions.get(session.gatewayId) === session) this.#sessions.delete(session.gatewayId);
    if (this.#announced.has(session)) this.#notify('closed', session);
    this.deps.gateways.endSession(session.gatewayId, session.epoch).catch((err: unknown) => this.deps.log.warn({ err }, 'could not record session end'));
  }

  /** Closes this process's session of a gateway at once (revocation, re-pairing). */
  closeGateway(gatewayId: string, code: ErrorCode): void {
    this.#sessions.get(gatewayId)?.close(code);
  }

  #pollEvents(): void {
    if (this.#polling || this.#closed) return;
    this.#polling = true;
    this.deps.events.since(this.#lastEventId)
      .then((events) => {
        for (const event of events) {
          this.#lastEventId = Math.max(this.#lastEventId, event.id);
          const session = this.#sessions.get(event.gateway_id);
          if (!session) continue;
          if (event.kind === 'revoked') session.close('PCG_ERR_GATEWAY_REVOKED');
          else if (session.epoch < event.epoch) session.close('PCG_ERR_SESSION_SUPERSEDED', `superseded by epoch ${event.epoch}`);
        }
      })
      .catch((err: unknown) => this.deps.log.warn({ err }, 'event feed poll failed'))
      .finally(() => {
        this.#polling = false;
      });
  }

  /** Closes sessions silent for MISSED_HEARTBEATS intervals: the peer or the path is gone. */
  #sweepSilentSessions(): void {
    const deadline = this.deps.clock.now() - silenceLimitMs(this.options.heartbeatSeconds);
    for (const session of this.#sessions.values()) {
      if (session.lastFrameAt < deadline) session.close('PCG_ERR_HEARTBEAT_TIMEOUT');
    }
  }

  /** Idempotent: stops the timers and closes every session. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const timer of this.#timers) clearInterval(timer);
    this.#timers = [];
    for (const session of this.#sessions.values()) session.close('normal');
    this.#wss.close();
  }
}
