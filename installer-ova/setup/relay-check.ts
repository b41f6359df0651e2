import { isCaPin } from '../../proto/ca-pin.js';
import { systemClock } from '../../proto/clock.js';
import { PcgError } from '../../proto/errors.js';
import { MAX_FRAME_BYTES } from '../../proto/limits.js';
import { proxyForUrl, type ProxyEnv } from '../../gateway/net/proxy-for-url.js';
import { connectToRelay, relayTlsContext, type RelayTrust } from '../../gateway/tunnel/relay-connector.js';
import type { CheckReport } from './check-report-schema.js';
import { CheckRecorder, failStep } from './check-report.js';
import { hostPort, proxyConnectProbe, resolveHost, tcpProbe, type ProbeOptions } from './network-probes.js';
import { parseProxyUrl } from './proxy-check.js';
import { normalizeRelayEndpoint } from './relay-endpoint.js';
import { readRelayClock } from './relay-clock.js';
import type { ProxySettings } from './setup-settings.js';

export interface RelayCheckInput {
  readonly relayUrl: string;
  readonly caPin?: string | undefined;
  readonly proxy?: ProxySettings | undefined;
}


/** The trust a first contact uses: the portal's pin, else system CAs plus a proxy's CA. */
export function firstContactTrust(caPin: string | undefined, proxy: ProxySettings | undefined): RelayTrust {
  return caPin ? { kind: 'pin', caPin } : { kind: 'system', extraCaPem: proxy?.proxyCaPem ? [proxy.proxyCaPem] : [] };
}

export function proxyEnvOf(proxy: ProxySettings | undefined): ProxyEnv {
  return { httpsProxy: proxy?.httpsProxy, noProxy: proxy?.noProxy };
}

/**
 * The relay endpoint, live: normalise it, then DNS and TCP (or CONNECT through the proxy), then the
 * real websocket endpoint over TLS with the pin (connectToRelay, as pairing will), and the relay's
 * clock for the NTP step (facts.relayOffsetMs). Nothing secret is sent: the websocket is closed
 * before the handshake.
 */
export function checkRelay(input: RelayCheckInput, options: ProbeOptions = {}): Promise<CheckReport> {
  const timeoutMs = options.timeoutMs ?? 5_000;
  const clock = options.clock ?? systemClock;
  return new CheckRecorder().run(async (r) => {
    const endpoint = await r.step('url', 'relayUrl', () => normalizeRelayEndpoint(input.relayUrl),
      (e) => (e.changes.length ? `${e.url} (${e.changes.join(', ')})` : e.url));
    r.normalized.relayUrl = endpoint.url;
    const caPin = input.caPin?.trim() || undefined;
    if (caPin !== undefined && !isCaPin(caPin)) throw failStep('pin', 'caPin', 'PCG_ERR_CONFIG_INVALID', 'caPin: must look like sha256/<44 base64 characters>, as the portal shows it');
    const proxy = proxyEnvOf(input.proxy);
    const proxyUrl = proxyForUrl(new URL(endpoint.url), proxy);
    if (proxyUrl) {
      const parsed = await r.step('proxy', 'proxy.httpsProxy', () => parseProxyUrl(proxyUrl), (u) => u.host);
      await r.step('connect', 'proxy.httpsProxy', () => proxyConnectProbe(parsed, endpoint.host, endpoint.port, timeoutMs),
        () => `proxy ${parsed.host} opened CONNECT ${hostPort(endpoint.host, endpoint.port)}`);
    } else {
      const addresses = await r.step('dns', 'relayUrl', () => resolveHost(endpoint.host), (a) => `${endpoint.host} resolved to ${a.join(', ')}`);
      await r.step('tcp', 'relayUrl', () => tcpProbe(addresses[0]!, endpoint.port, timeoutMs, 'PCG_ERR_RELAY_UNREACHABLE', 'the relay at'),
        () => `connected to ${hostPort(addresses[0]!, endpoint.port)}`);
    }
    const trust = firstContactTrust(caPin, input.proxy);
    await r.step('tls', caPin ? 'caPin' : 'relayUrl', async () => {
      try {
        const connection = await connectToRelay({
          relayUrl: endpoint.url, trust, secureContext: relayTlsContext(trust), proxy, timeoutMs, maxFrameBytes: MAX_FRAME_BYTES, clock,
        });
        connection.ws.terminate();
      } catch (err) {
        // Unreachable at this point is the relay's problem (or the URL's), not the pin's.
        if (err instanceof PcgError && err.code === 'PCG_ERR_RELAY_UNREACHABLE') throw failStep('tls', 'relayUrl', err.code, err.detail ?? err.message);
        throw err;
      }
    }, () => (caPin ? `the relay's chain contains the pinned CA ${caPin}; websocket endpoint answers` : 'certificate trusted; websocket endpoint answers'));
    const relayClock = await r.step('clock', 'relayUrl', () => readRelayClock(endpoint.url, trust, proxy, timeoutMs, clock),
      (c) => `relay time ${new Date(c.relayTimeMs).toISOString()}, ${(c.offsetMs / 1000).toFixed(1)} s from this appliance`);
    r.facts.relayTime = new Date(relayClock.relayTimeMs).toISOString();
    r.facts.relayOffsetMs = relayClock.offsetMs;
  });
}
