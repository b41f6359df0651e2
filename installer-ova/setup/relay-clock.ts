import { request } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { rootCertificates } from 'node:tls';
import { HttpsProxyAgent } from 'https-proxy-agent';
import type { Clock } from '../../proto/clock.js';
import { PcgError } from '../../proto/errors.js';
import { proxyForUrl, type ProxyEnv } from '../../gateway/net/proxy-for-url.js';
import type { RelayTrust } from '../../gateway/tunnel/relay-connector.js';
import { verifyPinnedChain } from '../../gateway/tunnel/verify-pinned-chain.js';

export interface RelayClock {
  /** The relay's time as its Date header said, in ms. */
  readonly relayTimeMs: number;
  /** Relay clock minus local clock; the Date header has 1 s resolution, so ±0.5 s at best. */
  readonly offsetMs: number;
}

/**
 * The relay's clock from the Date header of GET /healthz (not rate limited, no key needed), over
 * the same trust as the tunnel: with a pin the chain is checked by hand, so a clock from an
 * intercepting proxy is never taken for the relay's.
 */
export function readRelayClock(relayUrl: string, trust: RelayTrust, proxy: ProxyEnv, timeoutMs: number, clock: Clock): Promise<RelayClock> {
  const url = new URL('/healthz', relayUrl);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const proxyUrl = proxyForUrl(url, proxy);
  const tlsOptions = trust.kind === 'pin'
    ? { rejectUnauthorized: false }
    : { rejectUnauthorized: true, ca: trust.kind === 'anchor' ? [trust.caPem] : [...rootCertificates, ...trust.extraCaPem] };
  const sentAt = clock.now();
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method: 'GET', timeout: timeoutMs, ...tlsOptions,
      agent: proxyUrl ? new HttpsProxyAgent(proxyUrl, tlsOptions) : false,
    }, (res) => {
      res.resume();
      const receivedAt = clock.now();
      try {
        if (trust.kind === 'pin') verifyPinnedChain(res.socket as TLSSocket, host, trust.caPin, receivedAt);
      } catch (err) {
        reject(err instanceof Error ? err : new Error(String(err)));
        return;
      }
      const date = Date.parse(res.headers.date ?? '');
      if (Number.isNaN(date)) {
        reject(new PcgError('PCG_ERR_RELAY_UNREACHABLE', `${url.host} sent no Date header (HTTP ${res.statusCode}); is this the relay?`));
        return;
      }
      // The header is truncated to the second: its middle is the best guess, against the local midpoint.
      resolve({ relayTimeMs: date, offsetMs: Math.round(date + 500 - (sentAt + receivedAt) / 2) });
    });
    req.once('timeout', () => req.destroy(new PcgError('PCG_ERR_RELAY_UNREACHABLE', `${url.host} did not answer GET /healthz within ${timeoutMs} ms`)));
    req.once('error', (err: NodeJS.ErrnoException) => {
      reject(err instanceof PcgError ? err : new PcgError('PCG_ERR_RELAY_UNREACHABLE', `GET ${url.host}/healthz failed: ${err.code ?? err.message}`, { cause: err }));
    });
    req.end();
  });
}
