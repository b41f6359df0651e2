import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../clock.js';
import type { Secret } from '../secret.js';
import { RegistryError } from './registry-error.js';

export type RegistryAction = 'pull' | 'push' | 'delete';

/** What a principal may do: `actions` on `repository` (`*`: every repository). */
export interface RegistryGrant {
  readonly repository: string;
  readonly actions: readonly RegistryAction[];
}

/** What a request needs: one action on one repository. */
export interface RegistryNeed {
  readonly repository: string;
  readonly action: RegistryAction;
}

/** The pluggable part: who exists and what they may do. The gateway plugs its admin account and the nodes' read tokens. */
export interface RegistryCredentials {
  /** The grants of a user whose password is right; undefined when the user or the password is wrong. */
  authenticate(user: string, password: string): Promise<readonly RegistryGrant[] | undefined>;
  /** The repositories a read-only token may pull (`*`: all); undefined when it is not one. Read tokens never push. */
  verifyReadToken(token: string): readonly string[] | undefined;
}

export interface RegistryAuthOptions {
  /** The `service` of challenges and tokens. @default 'pcg-registry' */
  readonly service: string;
  /** Lifetime of an issued bearer token. @default 300_000 (5 min) */
  readonly tokenTtlMs: number;
}

export const DEFAULT_REGISTRY_AUTH_OPTIONS: RegistryAuthOptions = Object.freeze({ service: 'pcg-registry', tokenTtlMs: 300_000 });

/** Who a request is, once its Authorization header checked out. */
export interface RegistryPrincipal {
  readonly subject: string;
  /** `token`: a bearer token (short scopes: a client fetches a wider one on `insufficient_scope`); `basic`: a password. */
  readonly via: 'basic' | 'token';
  readonly grants: readonly RegistryGrant[];
}

interface TokenClaims {
  readonly iss: string;
  readonly sub: string;
  readonly aud: string;
  readonly iat: number;
  readonly exp: number;
  readonly access: ReadonlyArray<{ readonly type: 'repository'; readonly name: string; readonly actions: readonly RegistryAction[] }>;
}

const JWT_HEADER = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');
const ACTIONS: ReadonlySet<string> = new Set(['pull', 'push', 'delete']);
const unauthorized = (why: string): RegistryError => new RegistryError('UNAUTHORIZED', why);

/**
 * Basic auth and the distribution token flow (the Docker token spec every OCI client speaks):
 * a request without credentials gets 401 with `WWW-Authenticate: Bearer realm=…,service=…,scope=…`;
 * the client asks the realm (`GET /v2/token?service=&scope=` with basic credentials) and gets a
 * short-lived HS256 JWT holding only the granted part of the scopes it asked for. Passwords and
 * tokens are never logged or put in errors.
 */
export class RegistryAuth {
  readonly options: RegistryAuthOptions;

  constructor(options: Partial<RegistryAuthOptions>, private readonly ports: { readonly credentials: RegistryCredentials; readonly key: Secret<Buffer>; readonly clock: Clock }) {
    this.options = Object.freeze({ ...DEFAULT_REGISTRY_AUTH_OPTIONS, ...options });
  }

  /** The principal behind an Authorization header; undefined without one; UNAUTHORIZED when it is wrong. */
  async principal(authorization: string | undefined): Promise<RegistryPrincipal | undefined> {
    if (!authorization) return undefined;
    const space = authorization.indexOf(' ');
    const scheme = authorization.slice(0, space).toLowerCase();
    const value = authorization.slice(space + 1).trim();
    if (scheme === 'basic') return this.#basic(value);
    if (scheme === 'bearer') {
      const claims = this.#verifyToken(value);
      if (claims) return { subject: claims.sub, via: 'token', grants: claims.access.map((a) => ({ repository: a.name, actions: a.actions })) };
      const repos = this.ports.credentials.verifyReadToken(value);
      if (repos) return { subject: 'read-token', via: 'basic', grants: repos.map((repository) => ({ repository, actions: ['pull'] })) };
      throw unauthorized('the bearer token is invalid or expired');
    }
    throw unauthorized(`unsupported authorization scheme ${scheme || '(none)'}`);
  }

  allows(principal: RegistryPrincipal, need: RegistryNeed): boolean {
    return principal.grants.some((g) => (g.repository === '*' || g.repository === need.repository) && g.actions.includes(need.action));
  }

  /** The WWW-Authenticate value for a request needing `needs`, sent with 401. */
  challenge(baseUrl: string, needs: readonly RegistryNeed[], error?: 'insufficient_scope' | 'invalid_token'): string {
    const parts = [`realm="${baseUrl}/v2/token"`, `service="${this.options.service}"`];
    const scopes = scopeStrings(needs);
    if (scopes.length > 0) parts.push(`scope="${scopes.join(' ')}"`);
    if (error) parts.push(`error="${error}"`);
    return `Bearer ${parts.join(',')}`;
  }

  /**
   * The token endpoint: basic credentials (or a read token as the password) in, a token holding the
   * granted part of each `repository:<name>:<actions>` scope out. Scopes not granted are left out,
   * not refused: the registry then answers the request itself with 401/403 (the token spec).
   */
  async issueToken(authorization: string | undefined, scopes: readonly string[]): Promise<{ token: string; access_token: string; expires_in: number; issued_at: string }> {
    const principal = await this.principal(authorization);
    if (!principal || principal.via === 'token') throw unauthorized('the token endpoint needs basic credentials');
    const access: Array<TokenClaims['access'][number]> = [];
    for (const scope of scopes.flatMap((s) => s.split(' ')).filter((s) => s !== '')) {
      const parsed = parseScope(scope);
      if (!parsed) continue;
      const actions = parsed.actions.filter((action) => this.allows(principal, { repository: parsed.name, action }));
      if (actions.length > 0) access.push({ type: 'repository', name: parsed.name, actions });
    }
    const now = this.ports.clock.now();
    const claims: TokenClaims = {
      iss: this.options.service, sub: principal.subject, aud: this.options.service,
      iat: Math.floor(now / 1000), exp: Math.floor((now + this.options.tokenTtlMs) / 1000), access,
    };
    const token = this.#sign(claims);
    return { token, access_token: token, expires_in: Math.floor(this.options.tokenTtlMs / 1000), issued_at: new Date(now).toISOString() };
  }

  /**
   * A bearer token for a principal proven by other means than a password (the relay: a gateway's
   * client certificate, checked by its TLS listener). Same form, key and lifetime as `/v2/token`'s.
   */
  issueFor(subject: string, grants: readonly RegistryGrant[]): string {
    const now = this.ports.clock.now();
    return this.#sign({
      iss: this.options.service, sub: subject, aud: this.options.service,
      iat: Math.floor(now / 1000), exp: Math.floor((now + this.options.tokenTtlMs) / 1000),
      access: grants.map((g) => ({ type: 'repository' as const, name: g.repository, actions: g.actions })),
    });
  }

  async #basic(value: string): Promise<RegistryPrincipal> {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) throw unauthorized('malformed basic credentials');
    const user = decoded.slice(0, colon);
    const password = decoded.slice(colon + 1);
    const grants = await this.ports.credentials.authenticate(user, password);
    if (grants) return { subject: user, via: 'basic', grants };
    // containerd and skopeo can only send a password: a node's read token is accepted as one, whatever the user.
    const repos = this.ports.credentials.verifyReadToken(password);
    if (repos) return { subject: 'read-token', via: 'basic', grants: repos.map((repository) => ({ repository, actions: ['pull'] })) };
    throw unauthorized('wrong user name or password');
  }

  #sign(claims: TokenClaims): string {
    const body = `${JWT_HEADER}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
    return `${body}.${this.#mac(body).toString('base64url')}`;
  }

  #verifyToken(token: string): TokenClaims | undefined {
    const parts = token.split('.');
    if (parts.length !== 3 || parts[0] !== JWT_HEADER) return undefined;
    const given = Buffer.from(parts[2]!, 'base64url');
    const expected = this.#mac(`${parts[0]}.${parts[1]}`);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    const claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as TokenClaims;
    if (claims.aud !== this.options.service || claims.exp * 1000 <= this.ports.clock.now()) return undefined;
    return claims;
  }

  #mac(data: string): Buffer {
    return createHmac('sha256', this.ports.key.reveal()).update(data).digest();
  }
}

/** `repository:<name>:<action>[,<action>…]`; unknown types and actions are dropped. */
export function parseScope(scope: string): { name: string; actions: RegistryAction[] } | undefined {
  const first = scope.indexOf(':');
  const last = scope.lastIndexOf(':');
  if (first < 0 || last === first || scope.slice(0, first) !== 'repository') return undefined;
  const actions = scope.slice(last + 1).split(',').filter((a): a is RegistryAction => ACTIONS.has(a));
  return { name: scope.slice(first + 1, last), actions: [...new Set(actions)] };
}

/** Needs grouped per repository, as challenges carry them: `repository:<name>:pull,push`. */
function scopeStrings(needs: readonly RegistryNeed[]): string[] {
  const byRepo = new Map<string, Set<RegistryAction>>();
  for (const { repository, action } of needs) {
    const set = byRepo.get(repository) ?? new Set();
    set.add(action);
    byRepo.set(repository, set);
  }
  const order: RegistryAction[] = ['pull', 'push', 'delete'];
  return [...byRepo].map(([repo, set]) => `repository:${repo}:${order.filter((a) => set.has(a)).join(',')}`);
}
