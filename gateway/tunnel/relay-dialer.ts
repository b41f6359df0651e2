import { X509Certificate } from 'node:crypto';
import type { SecureContext } from 'node:tls';
import type WebSocket from 'ws';
import type { Clock } from '../../proto/clock.js';
import { privateKeyToPem } from '../../proto/keys.js';
import { MAX_FRAME_BYTES } from '../../proto/limits.js';
import type { GatewayIdentity } from '../identity/identity-store.js';
import type { ProxyEnv } from '../net/proxy-for-url.js';
import { openSession, pinnedRelayKey, type EstablishedSession, type PinnedRelayKey } from './gateway-handshake.js';
import { connectToRelay, relayTlsContext, type RelayTrust } from './relay-connector.js';

export interface DialOptions {
  /** Connect plus handshake deadline, for both together. */
  readonly connectTimeoutMs: number;
  readonly proxy: ProxyEnv;
  readonly clock: Clock;
}

/** Validity of a client certificate, to decide when to renew it. */
export interface CertWindow {
  readonly notBefore: number;
  readonly notAfter: number;
}

/**
 * Dials the relay as one paired gateway: TLS with the relay CA as the only anchor and the client
 * certificate, then the session handshake. Everything per identity is built once (the TLS
 * context costs ~20 ms, a loopback handshake ~2 ms), and the relay's latest TLS session ticket is
 * kept so a reconnect resumes instead of doing a full TLS handshake.
 */
export class RelayDialer {
  /** The relay's latest TLS session ticket. */
  #tlsSession: Buffer | undefined;

  private constructor(
    private readonly identity: GatewayIdentity,
    private readonly trust: RelayTrust,
    private readonly relayKey: PinnedRelayKey,
    private readonly options: DialOptions,
    private tls: SecureContext,
    private window: CertWindow,
  ) {}

  static create(identity: GatewayIdentity, options: DialOptions): RelayDialer {
    const trust: RelayTrust = { kind: 'anchor', caPem: identity.relayCaPem };
    const { context, window } = tlsFor(trust, identity, identity.clientCertPem);
    return new RelayDialer(identity, trust, pinnedRelayKey(identity.relaySignPub), options, context, window);
  }

  /** Validity of the client certificate in use. */
  get certWindow(): CertWindow {
    return this.window;
  }

  /** Uses a renewed client certificate from the next connection on. */
  useCertificate(certPem: string): void {
    ({ context: this.tls, window: this.window } = tlsFor(this.trust, this.identity, certPem));
    this.#tlsSession = undefined; // a resumed session would present the old certificate
  }

  /**
   * Connects and runs the handshake within one deadline. Aborting `signal` gives up at once and
   * drops the socket. Resolves with the socket and the established session (welcome, keys, and
   * what arrived behind the welcome).
   */
  async dial(signal: AbortSignal): Promise<EstablishedSession & { readonly ws: WebSocket }> {
    const { clock, connectTimeoutMs } = this.options;
    const started = clock.now();
    const connection = await connectToRelay({
      signal, relayUrl: this.identity.relayUrl, trust: this.trust, secureContext: this.tls, tlsSession: this.#tlsSession,
      onTlsSession: (session) => {
        this.#tlsSession = session;
      },
      proxy: this.options.proxy, timeoutMs: connectTimeoutMs, maxFrameBytes: MAX_FRAME_BYTES, clock,
    });
    const { ws } = connection;
    // During the handshake an abort drops the socket, which fails the handshake's wait at once.
    const dropOnAbort = (): void => ws.terminate();
    signal.addEventListener('abort', dropOnAbort, { once: true });
    try {
      const established = await openSession(connection, { gatewayId: this.identity.gatewayId, signKey: this.identity.signKey, relay: this.relayKey },
        Math.max(1, connectTimeoutMs - (clock.now() - started)));
      return { ...established, ws };
    } catch (err) {
      ws.terminate();
      throw err;
    } finally {
      signal.removeEventListener('abort', dropOnAbort);
    }
  }
}

function tlsFor(trust: RelayTrust, identity: GatewayIdentity, certPem: string): { context: SecureContext; window: CertWindow } {
  const cert = new X509Certificate(certPem);
  return {
    context: relayTlsContext(trust, { certPem, keyPem: privateKeyToPem(identity.signKey.privateKey) }),
    window: { notBefore: Date.parse(cert.validFrom), notAfter: Date.parse(cert.validTo) },
  };
}
