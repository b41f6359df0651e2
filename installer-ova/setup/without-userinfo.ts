/**
 * A proxy URL may carry `user:password@`, and libraries put whole URLs into their error messages.
 * Every detail, message and normalised value a check reports goes through this before anyone
 * (the page, stdout, auto-setup-report.json, the journal) sees it.
 */

/** `scheme://anything-up-to-@` in running text: userinfo never holds `/`, and `@` ends it. */
const USERINFO_IN_TEXT = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@"'<>]*@/gi;

/** `text` with the userinfo of every URL in it removed. */
export function withoutUserinfo(text: string): string {
  return text.replace(USERINFO_IN_TEXT, '$1');
}

/**
 * A value the user typed as a proxy URL, for a message: its userinfo removed whether or not it has
 * a scheme (HTTPS_PROXY is often written `user:pw@host:3128`) and whether or not it parses.
 */
export function proxyForDisplay(value: string): string {
  const text = value.trim();
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(text)?.[0] ?? '';
  const rest = text.slice(scheme.length);
  const authorityEnd = rest.search(/[/?#]/);
  const authority = authorityEnd < 0 ? rest : rest.slice(0, authorityEnd);
  const at = authority.lastIndexOf('@');
  return at < 0 ? text : `${scheme}${rest.slice(at + 1)}`;
}
