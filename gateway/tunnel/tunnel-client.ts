import type { SecureContext } from 'node:tls';
import type { Logger } from 'pino';
import type { Clock } from '../../proto/clock.js';
import { PcgError, RelayBusyError, type ErrorCode } from '../../proto/errors.js';
import type { GatewayIdentity } from '../identity/identity-store.js';
import type { ProxyEnv } from '../net/proxy-for-url.js';
import type { StatusRecord, TunnelState } from '../status/status-file.js';
import { Backoff, type BackoffOptions } from './backoff.js';
import type { VcenterPort } from '../vsphere/vcenter-service.js';
import { openSession, pinnedRelayKey, type PinnedRelayKey } from './gateway-handshake.js';
import { GatewaySession } from './gateway-session.js';
import { connectToRelay, relayTlsContext, type RelayTrust } from './relay-connector.js';
import { X509Certificate } from 'node:crypto';
import { privateKeyToPem } from '../../proto/keys.js';

export interface TunnelClientOptions {
  readonly backoff: BackoffOptions;
  /** Connect plus handshake deadline. @default 15_000 */
  readonly connectTimeoutMs: number;
  readonly proxy: ProxyEnv;
  readonly version: string;
}

/** The client's outside world: where status goes and where a renewed certificate is kept. */
export interface TunnelClientPorts {
  readonly clock: Clock;
  readonly log: Logger;
  reportStatus(status: StatusRecord): void;
  saveClientCertificate(pem: string): Promise<void>;
  /** The vCenter this gateway serves, when configured. */
  readonly vcenter?: VcenterPort | undefined;
}

/** Errors after which retrying cannot help: the operator must act. */
const TERMINAL: ReadonlySet<ErrorCode> = new Set(['PCG_ERR_GATEWAY_REVOKED', 'PCG_ERR_GATEWAY_UNKNOWN', 'PCG_ERR_SESSION_SUPERSEDED']);

/**
 * Keeps the tunnel up: connect, handshake, run the session, and on any loss reconnect with
 * capped exponential backoff and full jitter (a relay's retry-after hint is honoured, with
 * jitter). Stops for good on revocation or when another process of the same gateway takes over.
 *
 *   connecting --welcome--> online --close--> connecting (after backoff)
 *        \--fail--> offline --backoff--> connecting
 *   any --revoked|superseded--> revoked (terminal)      any --stop()--> stopped
 */
export class TunnelClient {
  #state: TunnelState | 'stopped' = 'connecting';
  #since: number;
  #session: GatewaySession | undefined;
  #identity: GatewayIdentity;
  #lastHeartbeatAt: number | null = null;
  #lastError: ErrorCode | null = null;
  #sleep: { timer: NodeJS.Timeout; wake: () => void } | undefined;
  #terminalError: PcgError | undefined;
  /** TLS context and validity window of the current client certificate; rebuilt after a renewal. */
  #tls!: SecureContext;
  #certWindow!: { notBefore: number; notAfter: number };
  #loopDone: Promise<void> | undefined;
  /** The relay's latest TLS session ticket: a reconnect resumes instead of a full handshake. */
  #tlsSession: Buffer | undefined;
  readonly #trust: RelayTrust;
  readonly #relayKey: PinnedRelayKey;
  readonly #backoff: Backoff;
  #startedAt: number;

  private constructor(identity: GatewayIdentity, private readonly options: TunnelClientOptions, private readonly ports: TunnelClientPorts) {
    this.#identity = identity;
    this.#trust = { kind: 'anchor', caPem: identity.relayCaPem };
    this.#relayKey = pinnedRelayKey(identity.relaySignPub);
    this.#backoff = new Backoff(options.backoff);
    this.#startedAt = ports.clock.now();
    this.#since = this.#startedAt;
    this.#useCertificate(identity.clientCertPem);
  }

  /**
   * Builds everything per identity up front (TLS context, pinned keys), so a reconnect costs
   * only the handshake itself. Call start() to connect.
   */
  static prepare(identity: GatewayIdentity, options: TunnelClientOptions, ports: TunnelClientPorts): TunnelClient {
    return new TunnelClient(identity, options, ports);
  }

  /** Starts the connect loop once; later calls do nothing. */
  start(): this {
    if (!this.#loopDone) {
      this.#startedAt = this.ports.clock.now();
      this.#loopDone = this.#loop();
    }
    return this;
  }

  /** Settles when the loop has ended: on stop() or on a terminal error. */
  get done(): Promise<void> {
    return this.#loopDone ?? Promise.resolve();
  }

  #useCertificate(certPem: string): void {
    const cert = new X509Certificate(certPem);
    this.#certWindow = { notBefore: Date.parse(cert.validFrom), notAfter: Date.parse(cert.validTo) };
    this.#tls = relayTlsContext(this.#trust, { certPem, keyPem: privateKeyToPem(this.#identity.signKey.privateKey) });
    this.#tlsSession = undefined; // a resumed session would present the old certificate
  }

  get state(): TunnelState | 'stopped' {
    return this.#state;
  }

  get session(): GatewaySession | undefined {
    return this.#session;
  }

  /** Why the client stopped by itself, if it did. */
  get terminalError(): PcgError | undefined {
    return this.#terminalError;
  }

  /** Idempotent; resolves once the loop has ended and the socket is closed. */
  async stop(): Promise<void> {
    if (this.#state !== 'stopped' && this.#state !== 'revoked') this.#setState('stopped');
    this.#session?.close('normal');
    this.#sleep?.wake();
    await this.done;
  }

  #setState(state: TunnelState | 'stopped'): void {
    if (this.#state === state) return;
    this.#state = state;
    this.#since = this.ports.clock.now();
    this.#report();
  }

  #report(): void {
    if (this.#state === 'stopped') return;
    this.ports.reportStatus({
      pid: process.pid, state: this.#state, since: this.#since, lastHeartbeatAt: this.#lastHeartbeatAt,
      epoch: this.#session?.welcome.epoch ?? null, certExpiresAt: this.#certWindow.notAfter,
      lastError: this.#state === 'online' ? null : this.#lastError, updatedAt: this.ports.clock.now(),
    });
  }

  get #stopped(): boolean {
    return this.#state === 'stopped' || this.#state === 'revoked';
  }

  async #loop(): Promise<void> {
    this.#report();
    while (!this.#stopped) {
      let delay: number;
      try {
        const ended = await this.#connectOnce();
        if (this.#stopped) break;
        if (ended.code && TERMINAL.has(ended.code)) {
          this.#terminate(new PcgError(ended.code, `the relay closed the tunnel (${ended.closeCode})`));
          break;
        }
        this.ports.log.warn({ closeCode: ended.closeCode, code: ended.code, reason: ended.reason }, 'tunnel closed; reconnecting');
        this.#lastError = ended.code ?? 'PCG_ERR_RELAY_UNREACHABLE';
        delay = this.#backoff.next();
      } catch (err) {
        if (this.#stopped) break;
        const error = err instanceof PcgError ? err : new PcgError('PCG_ERR_RELAY_UNREACHABLE', String(err), { cause: err });
        if (TERMINAL.has(error.code)) {
          this.#terminate(error);
          break;
        }
        this.#lastError = error.code;
        delay = error instanceof RelayBusyError ? this.#backoff.afterHint(error.retryAfterMs) : this.#backoff.next();
        this.ports.log.warn({ code: error.code, detail: error.message, retryInMs: delay, attempt: this.#backoff.attempts }, 'relay not reachable; retrying');
      }
      this.#setState('offline');
      await this.#pause(delay);
      if (!this.#stopped) this.#setState('connecting');
    }
  }

  #terminate(error: PcgError): void {
    this.#terminalError = error;
    this.#lastError = error.code;
    this.ports.log.error({ code: error.code }, error.message);
    this.#state = 'revoked';
    this.#since = this.ports.clock.now();
    this.#report();
  }

  async #connectOnce(): Promise<{ closeCode: number; code: ErrorCode | undefined; reason: string }> {
    const identity = this.#identity;
    const connection = await connectToRelay({
      relayUrl: identity.relayUrl,
      trust: this.#trust,
      secureContext: this.#tls,
      tlsSession: this.#tlsSession,
      onTlsSession: (session) => {
        this.#tlsSession = session;
      },
      proxy: this.options.proxy,
      timeoutMs: this.options.connectTimeoutMs,
      maxFrameBytes: 1_048_576,
      clock: this.ports.clock,
    });
    const { ws } = connection;
    let established;
    try {
      established = await openSession(connection, { gatewayId: identity.gatewayId, signKey: identity.signKey, relay: this.#relayKey }, this.options.connectTimeoutMs);
    } catch (err) {
      ws.terminate();
      throw err;
    }
    if (this.#stopped) {
      ws.terminate();
      return { closeCode: 1000, code: undefined, reason: 'stopped' };
    }
    const session = new GatewaySession(ws, established.sealer, established.opener, established.welcome, established.pending, {
      version: this.options.version, startedAt: this.#startedAt, signKey: identity.signKey, certWindow: () => this.#certWindow,
    }, {
      heartbeatAcked: (at) => {
        this.#lastHeartbeatAt = at;
        this.#report();
      },
      certificateRenewed: async (pem) => {
        await this.ports.saveClientCertificate(pem);
        this.#identity = { ...this.#identity, clientCertPem: pem };
        this.#useCertificate(pem);
      },
    }, this.ports.clock, this.ports.log, this.ports.vcenter);
    this.#session = session;
    this.#backoff.reset();
    this.#lastError = null;
    this.#setState('online');
    this.ports.log.info({ epoch: established.welcome.epoch, heartbeatS: established.welcome.heartbeat_s }, 'tunnel online');
    const ended = await session.ended;
    this.#session = undefined;
    return ended;
  }

  #pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.#sleep = undefined;
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.#sleep = { timer, wake };
    });
  }
}
