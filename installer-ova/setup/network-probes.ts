import { lookup } from 'node:dns/promises';
import { request } from 'node:http';
import { connect, isIP, type Socket } from 'node:net';
import type { Clock } from '../../proto/clock.js';
import { PcgError, type ErrorCode } from '../../proto/errors.js';

/** What every check's network steps take. */
export interface ProbeOptions {
  /** Per network step. @default 5_000 */
  readonly timeoutMs?: number;
  readonly clock?: Clock;
}

/**
 * The live probes the checks share: DNS, a TCP connect, and CONNECT through an HTTP proxy. Each
 * names the host, port and errno in its error, so the wizard can say which hop failed.
 */

/** Resolves `host` the way the gateway will (getaddrinfo: /etc/hosts, then DNS); an IP is itself. */
export async function resolveHost(host: string): Promise<string[]> {
  if (isIP(host)) return [host];
  try {
    const found = await lookup(host, { all: true });
    return found.map((a) => a.address);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new PcgError('PCG_ERR_DNS_UNRESOLVED', `${host} does not resolve (${code})`, { cause: err });
  }
}

/** Opens and closes a TCP connection; `code` is the error to report when it fails. */
export function tcpProbe(host: string, port: number, timeoutMs: number, code: ErrorCode, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    const fail = (reason: string, cause?: unknown): void => {
      socket.destroy();
      reject(new PcgError(code, `cannot reach ${what} ${hostPort(host, port)}: ${reason}`, { cause }));
    };
    socket.setTimeout(timeoutMs, () => fail(`no answer within ${timeoutMs} ms (ETIMEDOUT)`));
    socket.once('error', (err: NodeJS.ErrnoException) => fail(err.code ?? err.message, err));
    socket.once('connect', () => {
      socket.destroy();
      resolve();
    });
  });
}

/**
 * Asks the proxy to CONNECT to `host:port` and closes the tunnel at once, with the URL's
 * credentials as Basic Proxy-Authorization (as the gateway's proxy agent sends them). A proxy that
 * is down or refuses (403, 407, 502…) gives PCG_ERR_PROXY_UNREACHABLE with its status line;
 * messages name the proxy by host only, never with its credentials.
 */
export function proxyConnectProbe(proxyUrl: URL, host: string, port: number, timeoutMs: number): Promise<void> {
  const target = hostPort(host, port);
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (err?: PcgError): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      if (err) reject(err);
      else resolve();
    };
    const req = request({
      host: proxyUrl.hostname.replace(/^\[|\]$/g, ''), port: Number(proxyUrl.port || (proxyUrl.protocol === 'https:' ? 443 : 80)),
      method: 'CONNECT', path: target, headers: { host: target, ...proxyAuthorization(proxyUrl) }, agent: false,
    });
    const timer = setTimeout(() => settle(new PcgError('PCG_ERR_PROXY_UNREACHABLE', `proxy ${proxyUrl.host} did not answer CONNECT ${target} within ${timeoutMs} ms`)), timeoutMs);
    req.once('connect', (res, socket: Socket) => {
      socket.destroy();
      if (res.statusCode === 200) settle();
      else settle(new PcgError('PCG_ERR_PROXY_UNREACHABLE', `proxy ${proxyUrl.host} refused CONNECT ${target}: HTTP ${res.statusCode} ${res.statusMessage ?? ''}`.trim()));
    });
    req.once('response', (res) => {
      res.resume();
      settle(new PcgError('PCG_ERR_PROXY_UNREACHABLE', `proxy ${proxyUrl.host} answered CONNECT ${target} with HTTP ${res.statusCode}`));
    });
    req.once('error', (err: NodeJS.ErrnoException) => settle(new PcgError('PCG_ERR_PROXY_UNREACHABLE', `cannot reach proxy ${proxyUrl.host}: ${err.code ?? err.message}`, { cause: err })));
    req.end();
  });
}

function proxyAuthorization(url: URL): Record<string, string> {
  if (!url.username && !url.password) return {};
  const credentials = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
  return { 'proxy-authorization': `Basic ${Buffer.from(credentials).toString('base64')}` };
}

export function hostPort(host: string, port: number): string {
  return `${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
}
