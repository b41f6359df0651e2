import { X509Certificate } from 'node:crypto';
import { PcgError } from '../../proto/errors.js';
import type { CheckReport } from './check-report-schema.js';
import { CheckRecorder, failStep } from './check-report.js';
import { hostPort, proxyConnectProbe, resolveHost, tcpProbe } from './network-probes.js';
import type { ProbeOptions } from './network-probes.js';
import { normalizeRelayEndpoint } from './relay-endpoint.js';
import type { ProxySettings } from './setup-settings.js';
import { proxyForDisplay } from './without-userinfo.js';

/**
 * `http://host:port` (or https://), optionally `user:password@`, with nothing else: the form
 * HTTPS_PROXY takes. Messages show the value without its userinfo.
 */
export function parseProxyUrl(value: string): URL {
  const shown = proxyForDisplay(value);
  const text = /^[a-z][a-z0-9+.-]*:\/\//i.test(value.trim()) ? value.trim() : `http://${value.trim()}`;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new PcgError('PCG_ERR_CONFIG_INVALID', `proxy.httpsProxy: "${shown}" is not a URL like http://proxy.example.com:3128`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new PcgError('PCG_ERR_CONFIG_INVALID', `proxy.httpsProxy: must be http:// or https://, not ${url.protocol}`);
  if (!url.hostname) throw new PcgError('PCG_ERR_CONFIG_INVALID', `proxy.httpsProxy: "${shown}" has no host`);
  if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash) throw new PcgError('PCG_ERR_CONFIG_INVALID', `proxy.httpsProxy: "${shown}" has a path or query; enter only http://host:port`);
  return url;
}

/** The proxy's CA must be a CA certificate in PEM; returns its subject for the report. */
export function parseProxyCa(pem: string): X509Certificate {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(pem);
  } catch (err) {
    throw new PcgError('PCG_ERR_CONFIG_INVALID', 'proxy.proxyCaPem: not a PEM certificate (-----BEGIN CERTIFICATE-----)', { cause: err });
  }
  if (!cert.ca) throw new PcgError('PCG_ERR_CONFIG_INVALID', `proxy.proxyCaPem: "${cert.subject.replace(/\n/g, ', ')}" is not a CA certificate (basicConstraints CA:FALSE)`);
  return cert;
}

/** The proxy: its URL, TCP to it, CONNECT to the relay's host and port, and its CA when given. */
export function checkProxy(input: { readonly proxy: ProxySettings; readonly relayUrl: string }, options: ProbeOptions = {}): Promise<CheckReport> {
  const timeoutMs = options.timeoutMs ?? 5_000;
  return new CheckRecorder().run(async (r) => {
    const url = await r.step('url', 'proxy.httpsProxy', () => parseProxyUrl(input.proxy.httpsProxy), (u) => `${u.protocol}//${u.host}`);
    // Shown back into the form: with credentials in it, the typed value stays (this one has none).
    if (!url.username && !url.password) r.normalized['proxy.httpsProxy'] = `${url.protocol}//${url.host}`;
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
    const addresses = await r.step('dns', 'proxy.httpsProxy', () => resolveHost(host), (a) => `${host} resolved to ${a.join(', ')}`);
    await r.step('tcp', 'proxy.httpsProxy', () => tcpProbe(addresses[0]!, port, timeoutMs, 'PCG_ERR_PROXY_UNREACHABLE', 'the proxy at'),
      () => `connected to ${hostPort(addresses[0]!, port)}`);
    let relay;
    try {
      relay = normalizeRelayEndpoint(input.relayUrl);
    } catch (err) {
      throw failStep('connect', 'relayUrl', 'PCG_ERR_CONFIG_INVALID', (err as PcgError).detail ?? 'relayUrl: invalid');
    }
    await r.step('connect', 'proxy.httpsProxy', () => proxyConnectProbe(url, relay.host, relay.port, timeoutMs),
      () => `CONNECT ${hostPort(relay.host, relay.port)} accepted`);
    if (input.proxy.proxyCaPem?.trim()) {
      await r.step('ca', 'proxy.proxyCaPem', () => parseProxyCa(input.proxy.proxyCaPem!), (c) => `CA "${c.subject.replace(/\n/g, ', ')}", valid to ${c.validTo}`);
    }
  });
}
