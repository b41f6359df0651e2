/**
 * HTTPS_PROXY / NO_PROXY as curl reads them: NO_PROXY is a comma list of host names (a leading
 * dot or none both match subdomains), `host:port`, IP addresses, or `*` for everything.
 */
export interface ProxyEnv {
  readonly httpsProxy?: string | undefined;
  readonly noProxy?: string | undefined;
}

export function proxyEnvFrom(env: NodeJS.ProcessEnv): ProxyEnv {
  return { httpsProxy: env.HTTPS_PROXY ?? env.https_proxy, noProxy: env.NO_PROXY ?? env.no_proxy };
}

export function proxyForUrl(target: URL, env: ProxyEnv): string | undefined {
  if (!env.httpsProxy) return undefined;
  const host = target.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const port = target.port || (target.protocol === 'https:' || target.protocol === 'wss:' ? '443' : '80');
  for (const raw of (env.noProxy ?? '').split(/[\s,]+/)) {
    const entry = raw.trim().toLowerCase();
    if (!entry) continue;
    if (entry === '*') return undefined;
    // A bare IPv6 address has several colons and no port; `[v6]:port` and `host:port` do.
    const bareV6 = !entry.startsWith('[') && entry.split(':').length > 2;
    const [entryHost = '', entryPort] = bareV6 ? [entry] : /^\[?([^\]]+?)\]?(?::(\d+))?$/.exec(entry)?.slice(1) ?? [];
    if (entryPort && entryPort !== port) continue;
    const bare = entryHost.replace(/^\*?\./, '');
    if (host === bare || host.endsWith(`.${bare}`)) return undefined;
  }
  return env.httpsProxy;
}
