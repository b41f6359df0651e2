import { createSecureContext, rootCertificates, type SecureContext, type TLSSocket } from 'node:tls';
import type { KeyObject } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { HttpsProxyAgent } from 'https-proxy-agent';
import WebSocket from 'ws';
import type { Clock } from '../../proto/clock.js';
import { PcgError } from '../../proto/errors.js';
import { proxyForUrl, type ProxyEnv } from '../net/proxy-for-url.js';
import { MessageQueue } from './message-queue.js';
import { verifyPinnedChain } from './verify-pinned-chain.js';

export interface TlsTrust {
  /** When set, the chain must contain this CA (see verify-pinned-chain.ts); else system CAs + extraCaPem. */
  readonly caPin: string | null;
  /** Extra trust anchors: an inspecting proxy's CA bundle, or the relay CA. */
  readonly extraCaPem: readonly string[];
  readonly clientCert?: { readonly certPem: string; readonly key: KeyObject } | undefined;
}

/**
 * Builds the TLS context once per identity, not per connection: parsing the ~150 system roots
 * costs ~20 ms, ten times a whole loopback handshake. With a pin, system roots play no part.
 */
export function relayTlsContext(trust: TlsTrust): SecureContext {
  return createSecureContext({
    ...(trust.caPin === null ? { ca: [...rootCertificates, ...trust.extraCaPem] } : {}),
    ...(trust.clientCert ? { cert: trust.clientCert.certPem, key: trust.clientCert.key.export({ type: 'pkcs8', format: 'pem' }) } : {}),
  });
}

export interface ConnectOptions {
  /** `https://host:port` of the relay. */
  readonly relayUrl: string;
  readonly caPin: string | null;
  /** From relayTlsContext(), with the same caPin. */
  readonly secureContext: SecureContext;
  readonly proxy: ProxyEnv;
  readonly timeoutMs: number;
  readonly maxFrameBytes: number;
  readonly clock: Clock;
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

/** Opens the websocket to the relay (through HTTPS_PROXY when it applies) and checks who answered. */
export function connectToRelay(options: ConnectOptions): Promise<RelayConnection> {
  const url = tunnelUrl(options.relayUrl);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const proxy = proxyForUrl(url, options.proxy);
  // ws hands every option to tls.connect (directly or through the proxy agent); its types
  // just do not list secureContext.
  const wsOptions: WebSocket.ClientOptions & { secureContext: SecureContext } = {
    secureContext: options.secureContext,
    rejectUnauthorized: options.caPin === null,
    ...(proxy ? { agent: new HttpsProxyAgent(proxy) } : {}),
    handshakeTimeout: options.timeoutMs,
    maxPayload: options.maxFrameBytes,
    perMessageDeflate: false,
  };
  const ws = new WebSocket(url, wsOptions);
  const queue = new MessageQueue(ws);
  return new Promise<RelayConnection>((resolve, reject) => {
    let socket: TLSSocket | undefined;
    let settled = false;
    const fail = (error: PcgError): void => {
      if (settled) return;
      settled = true;
      queue.detach();
      ws.removeAllListeners();
      ws.on('error', () => undefined);
      ws.terminate();
      reject(error);
    };
    const checkPeer = (res: IncomingMessage): boolean => {
      socket = res.socket as TLSSocket;
      if (options.caPin === null) return true;
      try {
        verifyPinnedChain(socket, host, options.caPin, options.clock.now());
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
      ws.removeAllListeners('error');
      ws.on('error', () => undefined); // errors surface as 'close', which the session handles
      resolve({ ws, socket: socket!, queue });
    });
    ws.once('error', (err: NodeJS.ErrnoException) => {
      const code = err.code ?? '';
      if (TLS_TRUST_ERRORS.test(code)) fail(new PcgError('PCG_ERR_TLS_UNTRUSTED', `TLS to ${url.host} failed: ${code}`, { cause: err }));
      else fail(new PcgError('PCG_ERR_RELAY_UNREACHABLE', `cannot reach ${url.host}${proxy ? ` through proxy ${new URL(proxy).host}` : ''}: ${code || err.message}`, { cause: err }));
    });
    ws.once('close', () => fail(new PcgError('PCG_ERR_RELAY_UNREACHABLE', `${url.host} closed the connection before the websocket opened`)));
  });
}
