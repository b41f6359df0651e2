import { connect as tlsConnect, createSecureContext, rootCertificates, type ConnectionOptions, type SecureContext, type TLSSocket } from 'node:tls';
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import { HttpsProxyAgent } from 'https-proxy-agent';
import WebSocket from 'ws';
import type { Clock } from '../../proto/clock.js';
import { PcgError } from '../../proto/errors.js';
import { proxyForUrl, type ProxyEnv } from '../net/proxy-for-url.js';
import { MessageQueue } from './message-queue.js';
import { verifyPinnedChain } from './verify-pinned-chain.js';

/**
 * How the relay's certificate is trusted:
 *  - `pin`: first contact with the portal's CA pin; the chain is checked by hand
 *    (verify-pinned-chain.ts), which tells interception apart from other failures.
 *  - `anchor`: after pairing; the relay CA received then is the only trust anchor and OpenSSL
 *    verifies natively (cheap enough for reconnect storms). A failure means someone else answered.
 *  - `system`: first contact without a pin; system CAs plus an extra bundle.
 */
export type RelayTrust =
  | { readonly kind: 'pin'; readonly caPin: string }
  | { readonly kind: 'anchor'; readonly caPem: string }
  | { readonly kind: 'system'; readonly extraCaPem: readonly string[] };

export interface ClientCertificate {
  readonly certPem: string;
  readonly keyPem: string;
}

/**
 * Builds the TLS context once per identity, not per connection: parsing the ~150 system roots
 * alone costs ~20 ms, ten times a whole loopback handshake.
 */
export function relayTlsContext(trust: RelayTrust, clientCert?: ClientCertificate): SecureContext {
  const ca = trust.kind === 'anchor' ? [trust.caPem] : trust.kind === 'system' ? [...rootCertificates, ...trust.extraCaPem] : undefined;
  return createSecureContext({ ...(ca ? { ca } : {}), ...(clientCert ? { cert: clientCert.certPem, key: clientCert.keyPem } : {}) });
}

export interface ConnectOptions {
  /** `https://host:port` of the relay. */
  readonly relayUrl: string;
  readonly trust: RelayTrust;
  /** From relayTlsContext() with the same trust. */
  readonly secureContext: SecureContext;
  /** A TLS session ticket from an earlier connection to resume (anchor trust only). */
  readonly tlsSession?: Buffer | undefined;
  /** Told each session ticket the relay issues on this connection. */
  readonly onTlsSession?: ((session: Buffer) => void) | undefined;
  readonly proxy: ProxyEnv;
  /** Deadline for TCP, TLS and the websocket upgrade together (ws's own timeout is an idle timer). */
  readonly timeoutMs: number;
  readonly maxFrameBytes: number;
  readonly clock: Clock;
  /** Aborting gives up the attempt at once and drops the socket (the gateway is stopping). */
  readonly signal?: AbortSignal | undefined;
}

export interface RelayConnection {
  readonly ws: WebSocket;
  readonly socket: TLSSocket;
  /** Attached before 'open', so a message sent with the upgrade response is never missed. */
  readonly queue: MessageQueue;
}

const TLS_TRUST_ERRORS = /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|ALTNAME|HOSTNAME/;

export function tunnelUrl(relayUrl: string): URL {
  let url: URL;
  try {
    url = new URL(relayUrl);
  } catch {
    throw new PcgError('PCG_ERR_CONFIG_INVALID', `relay URL "${relayUrl}" is not a URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'wss:') throw new PcgError('PCG_ERR_CONFIG_INVALID', `relay URL must be https://, got ${url.protocol}`);
  return new URL('/v1/tunnel', `wss://${url.host}`);
}

function tlsFailure(trust: RelayTrust, host: string, err: NodeJS.ErrnoException): PcgError {
  const code = err.code ?? err.message;
  if (trust.kind === 'anchor') {
    return new PcgError('PCG_ERR_TLS_INTERCEPTED', `the certificate presented for ${host} does not chain to the relay CA pinned at pairing (${code})`, { cause: err });
  }
  return new PcgError('PCG_ERR_TLS_UNTRUSTED', `TLS to ${host} failed: ${code}`, { cause: err });
}

/** Opens the websocket to the relay (through HTTPS_PROXY when it applies) and checks who answered. */
export function connectToRelay(options: ConnectOptions): Promise<RelayConnection> {
  const url = tunnelUrl(options.relayUrl);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const proxy = proxyForUrl(url, options.proxy);
  const { trust } = options;
  // ws hands every option to tls.connect (directly or through the proxy agent); its types
  // just do not list secureContext.
  // Resumption only where OpenSSL verified the chain natively on first contact: a pinned first
  // contact (checked by hand) and proxied connections always do a full handshake.
  const resumable = trust.kind === 'anchor' && !proxy;
  const wsOptions: Omit<WebSocket.ClientOptions, 'createConnection'> & { secureContext: SecureContext; session?: Buffer; createConnection?: (opts: ConnectionOptions) => TLSSocket } = {
    secureContext: options.secureContext,
    ...(resumable && options.tlsSession ? { session: options.tlsSession } : {}),
    ...(resumable && options.onTlsSession ? {
      createConnection: (opts: ConnectionOptions) => {
        // As ws does for its own TLS connections: no SNI for an IP address.
        const socket = tlsConnect({ ...opts, servername: opts.servername || (isIP(opts.host ?? '') ? '' : opts.host) });
        socket.on('session', (session: Buffer) => options.onTlsSession?.(session));
        return socket;
      },
    } : {}),
    rejectUnauthorized: trust.kind !== 'pin',
    ...(proxy ? { agent: new HttpsProxyAgent(proxy) } : {}),
    handshakeTimeout: options.timeoutMs,
    maxPayload: options.maxFrameBytes,
    perMessageDeflate: false,
  };
  if (options.signal?.aborted) return Promise.reject(new PcgError('PCG_ERR_RELAY_UNREACHABLE', 'the connection attempt was abandoned: the gateway is stopping'));
  const ws = new WebSocket(url, wsOptions as WebSocket.ClientOptions);
  const queue = new MessageQueue(ws);
  return new Promise<RelayConnection>((resolve, reject) => {
    let socket: TLSSocket | undefined;
    let settled = false;
    const deadline = setTimeout(() => fail(new PcgError('PCG_ERR_RELAY_UNREACHABLE', `${url.host} did not complete TLS and the websocket upgrade within ${options.timeoutMs} ms${proxy ? ' (through the proxy)' : ''}`)), options.timeoutMs);
    const onAbort = (): void => fail(new PcgError('PCG_ERR_RELAY_UNREACHABLE', 'the connection attempt was abandoned: the gateway is stopping'));
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const done = (): void => {
      clearTimeout(deadline);
      options.signal?.removeEventListener('abort', onAbort);
    };
    const fail = (error: PcgError): void => {
      if (settled) return;
      settled = true;
      done();
      queue.detach();
      ws.removeAllListeners();
      ws.on('error', () => undefined);
      ws.terminate();
      reject(error);
    };
    const checkPeer = (res: IncomingMessage): boolean => {
      socket = res.socket as TLSSocket;
      if (trust.kind !== 'pin') return true;
      try {
        verifyPinnedChain(socket, host, trust.caPin, options.clock.now());
        return true;
      } catch (err) {
        fail(err as PcgError);
        return false;
      }
    };
    ws.once('upgrade', (res) => void checkPeer(res));
    ws.once('unexpected-response', (_req, res) => {
      if (checkPeer(res)) fail(new PcgError('PCG_ERR_RELAY_UNREACHABLE', `${url.host} answered HTTP ${res.statusCode} instead of a websocket upgrade${proxy ? ' (through the proxy)' : ''}`));
    });
    ws.once('open', () => {
      if (settled) return;
      settled = true;
      done();
      ws.removeAllListeners('error');
      ws.on('error', () => undefined); // errors surface as 'close', which the session handles
      resolve({ ws, socket: socket!, queue });
    });
    ws.once('error', (err: NodeJS.ErrnoException) => {
      if (TLS_TRUST_ERRORS.test(err.code ?? '')) fail(tlsFailure(trust, url.host, err));
      else fail(new PcgError('PCG_ERR_RELAY_UNREACHABLE', `cannot reach ${url.host}${proxy ? ` through proxy ${new URL(proxy).host}` : ''}: ${err.code ?? err.message}`, { cause: err }));
    });
    ws.once('close', () => fail(new PcgError('PCG_ERR_RELAY_UNREACHABLE', `${url.host} closed the connection before the websocket opened`)));
  });
}
