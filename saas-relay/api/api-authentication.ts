import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import { PcgError } from '../../proto/errors.js';
import { RateLimitedError } from '../security/address-rate-limiter.js';
import type { Principal, TenancyStore } from '../store/tenancy-store.js';

export interface ApiAuthenticationOptions {
  /** Requests without a valid API key per source address per minute, then 429. */
  readonly unauthenticatedPerMinute: number;
}

/** The hooks an authenticated scope installs, in this order. */
export interface ApiAuthentication {
  install(scope: FastifyInstance): void;
}

const hasPrincipal = (request: FastifyRequest): boolean => (request as Partial<FastifyRequest>).principal !== undefined;

/**
 * `Authorization: Bearer <api key>` for the /v1 scope, with a per-address limit on requests that
 * do not authenticate (@fastify/rate-limit, fixed one-minute window, LRU-bounded store):
 *
 *   onRequest  identify: resolve the key, if any, to a principal (never throws)
 *   onRequest  limit:    callers with a principal are never counted, so an attacker's failures
 *                        from a shared address do not limit a tenant's API traffic; the rest
 *                        count, and above the limit get 429 PCG_ERR_RATE_LIMITED + Retry-After
 *   preHandler require:  no principal → 401 PCG_ERR_UNAUTHENTICATED
 *
 * Registers the plugin on `app` (not globally: /healthz and /docs are not limited).
 */
export async function apiAuthentication(app: FastifyInstance, tenancy: TenancyStore, options: ApiAuthenticationOptions): Promise<ApiAuthentication> {
  await app.register(rateLimit, { global: false });
  const limit: onRequestAsyncHookHandler = app.rateLimit({
    max: options.unauthenticatedPerMinute,
    timeWindow: 60_000,
    allowList: hasPrincipal,
    errorResponseBuilder: (_request, context) => new RateLimitedError(context.ttl, 'unauthenticated requests'),
  });
  const identify = async (request: FastifyRequest): Promise<void> => {
    const match = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '');
    const principal: Principal | undefined = match ? await tenancy.authenticate(match[1]!) : undefined;
    if (principal) request.principal = principal;
  };
  const require = async (request: FastifyRequest, _reply: FastifyReply): Promise<void> => {
    if (!hasPrincipal(request)) {
      const sent = /^Bearer\s+\S+$/i.test(request.headers.authorization ?? '');
      throw new PcgError('PCG_ERR_UNAUTHENTICATED', sent ? 'the API key is unknown or revoked' : 'no API key');
    }
  };
  return {
    install: (scope) => {
      scope.addHook('onRequest', identify);
      scope.addHook('onRequest', limit);
      scope.addHook('preHandler', require);
    },
  };
}
