/**
 * The public registry's routes on the relay's HTTPS listener, beside (not inside) the API's
 * authenticated /v1 scope: `/v2/` (OCI) and `/v1/packs` (native) authenticate with the registry's
 * own PublicRegistryAuth, which takes the relay's API keys (pull) as well as the operator's basic
 * credentials and the `/v2/token` bearer tokens packctl and OCI clients use for pushes.
 *
 *   GET /v1/packs?source=public          the native list; each item carries `source: "public"`
 *   GET /v1/packs?source=gateway:<id>    the gateway's synced index (pack-sync-routes.ts), for the tenant's API key
 *   GET /v1/packs (no source)            the public registry
 *
 * The listing route here takes precedence over pack-sync-routes.ts's (see there why both exist):
 * it carries a host constraint every request meets. A manifest pushed or deleted over `/v2/` under
 * `packs/*` updates the pack index before the OCI answer goes out (PackRegistry.reindexPack).
 */
import type { FastifyInstance, FastifyRequest, preSerializationAsyncHookHandler } from 'fastify';
import { PcgError } from '../../proto/errors.js';
import { ociRoutes } from '../../proto/registry/oci-routes.js';
import type { PackRegistry } from '../../proto/registry/pack-registry.js';
import { authorizeWith } from '../../proto/registry/pack-registry-routes.js';
import { packRoutes, type PackAuthorizer } from '../../proto/registry/pack-routes.js';
import type { ContentStore } from '../../proto/registry/content-store.js';
import type { RegistryAuth } from '../../proto/registry/registry-auth.js';
import type { AuthLimiter } from '../../proto/registry/registry-auth-limiter.js';
import { RateLimitedError } from '../security/address-rate-limiter.js';
import { gatewaySourceOf, PUBLIC_SOURCE } from './pack-sync-listing.js';
import type { GatewayPackLister } from './pack-sync-routes.js';

export { PUBLIC_SOURCE };

/** Matches every Host: the router tries constrained routes first, so this route wins over an unconstrained one at the same path. */
const ANY_HOST = /(?:)/;

export interface PublicRegistryRouteDeps {
  readonly store: ContentStore;
  readonly packs: PackRegistry;
  readonly auth: RegistryAuth;
  readonly authLimiter: AuthLimiter;
  readonly log: { error(obj: object, msg: string): void };
  /** Answers `source=gateway:<id>`; absent: 400, gateway indexes are not kept here. */
  readonly gatewayPacks?: GatewayPackLister;
}

const isList = (request: FastifyRequest): boolean => request.method === 'GET' && request.routeOptions.url === '/v1/packs';

export async function publicRegistryRoutes(app: FastifyInstance, deps: PublicRegistryRouteDeps): Promise<void> {
  const onManifestChange = (repository: string): Promise<void> => deps.packs.reindexPack(repository);
  const oci = { store: deps.store, auth: deps.auth, authLimiter: deps.authLimiter, log: deps.log, onManifestChange };
  await app.register(ociRoutes, oci);
  await app.register(async (scope) => {
    scope.addHook('onRoute', (route) => {
      if (route.url !== '/v1/packs' || route.method !== 'GET') return;
      route.constraints = { ...route.constraints, host: ANY_HOST };
      // /docs/json describes the listing once, with every source: pack-sync-routes.ts's route.
      route.schema = { ...route.schema, hide: true };
    });
    // `source` is the relay's own query key: checked and taken out before pack-routes validates
    // its query (which allows no other keys), and put on every item of the answer.
    scope.addHook('preValidation', async (request, reply) => {
      if (!isList(request)) return;
      const query = request.query as Record<string, unknown>;
      const source = query.source;
      delete query.source;
      const gatewayId = gatewaySourceOf(source);
      if (gatewayId === undefined) return;
      if (!deps.gatewayPacks) throw new PcgError('PCG_ERR_BAD_REQUEST', `source ${source as string}: this relay keeps no gateway pack indexes; list them on the gateway (packctl ls)`);
      return reply.send(await deps.gatewayPacks(request.headers.authorization, gatewayId, query));
    });
    const labelSource: preSerializationAsyncHookHandler<unknown> = async (request, _reply, payload) => {
      if (!isList(request) || typeof payload !== 'object' || payload === null || !Array.isArray((payload as { items?: unknown }).items)) return payload;
      const page = payload as { items: object[]; nextCursor: string | null };
      // Gateway pages come labelled already.
      return { ...page, items: page.items.map((item) => ({ source: PUBLIC_SOURCE, ...item })) };
    };
    scope.addHook('preSerialization', labelSource);
    await scope.register(packRoutes, { registry: deps.packs, authorize: limited(authorizeWith(deps.auth), deps.authLimiter) });
  });
}

/** The native API spends the same per-address budget of failed logins as /v2/ (password guessing). */
function limited(authorize: PackAuthorizer, limiter: AuthLimiter): PackAuthorizer {
  return async (request, need) => {
    const sent = request.headers.authorization !== undefined;
    const waitMs = sent ? limiter.retryAfterMs(request.ip) : 0;
    if (waitMs > 0) throw new RateLimitedError(waitMs, 'failed registry logins');
    try {
      await authorize(request, need);
    } catch (err) {
      if (sent && err instanceof PcgError && err.code === 'PCG_ERR_UNAUTHENTICATED') limiter.failed(request.ip);
      throw err;
    }
  };
}
