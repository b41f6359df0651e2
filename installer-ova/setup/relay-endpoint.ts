import { isIP } from 'node:net';
import { PcgError } from '../../proto/errors.js';

/** A relay endpoint as the gateway stores it, and what normalising changed, for the form to show. */
export interface RelayEndpoint {
  /** `https://host[:port]`, no path, no trailing slash: the form `pcg-gateway pair --relay` takes. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** What was changed from the input ("added https://", "removed the trailing slash"); empty when nothing. */
  readonly changes: readonly string[];
}

/**
 * Normalises what an admin typed as the relay endpoint: no scheme → https://; wss:// → https://
 * (the portal shows the tunnel URL in places); trailing slashes dropped. A path other than `/`, a
 * query or a fragment is refused rather than dropped: it means something else was pasted (a portal
 * page, a proxy URL), and pairing against a guessed host would only fail later and less clearly.
 * `/v1/tunnel` is the one path accepted, since that is the relay's own websocket endpoint.
 */
export function normalizeRelayEndpoint(input: string): RelayEndpoint {
  const trimmed = input.trim();
  const changes: string[] = [];
  if (trimmed !== input) changes.push('removed surrounding spaces');
  if (!trimmed) throw invalid('is empty');
  let text = trimmed;
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) {
    text = `https://${text}`;
    changes.push('added https://');
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw invalid(`"${trimmed}" is not a host name or URL`);
  }
  if (url.protocol === 'wss:') changes.push('wss:// becomes https://');
  else if (url.protocol !== 'https:') throw invalid(`the relay speaks https, not ${url.protocol.replace(/:$/, '')}`);
  if (!url.hostname) throw invalid(`"${trimmed}" has no host`);
  if (url.username || url.password) throw invalid('must not carry a user name or password');
  if (url.search || url.hash) throw invalid(`must not carry a query or fragment ("${url.search}${url.hash}"); enter only https://host[:port]`);
  const path = url.pathname.replace(/\/+$/, '');
  if (path === '/v1/tunnel') changes.push('removed the tunnel path /v1/tunnel');
  else if (path !== '') throw invalid(`has a path "${url.pathname}"; enter only https://host[:port] as the portal shows it`);
  else if (trimmed.endsWith('/')) changes.push('removed the trailing slash');
  const port = url.port ? Number(url.port) : 443;
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const hostPart = isIP(host) === 6 ? `[${host}]` : host;
  return { url: `https://${hostPart}${url.port ? `:${url.port}` : ''}`, host, port, changes };
}

function invalid(what: string): PcgError {
  return new PcgError('PCG_ERR_CONFIG_INVALID', `relayUrl: ${what}`);
}
