import { dirname, join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { PcgError } from '../../proto/errors.js';
import type { ContentStore } from '../../proto/registry/content-store.js';
import { packRepository } from '../../proto/registry/pack-artifact.js';
import { packChallengeHook } from '../../proto/registry/pack-challenge.js';
import { authorizeWith } from '../../proto/registry/pack-registry-routes.js';
import { PackRegistry } from '../../proto/registry/pack-registry.js';
import { packRoutes } from '../../proto/registry/pack-routes.js';
import type { RegistryAuth } from '../../proto/registry/registry-auth.js';
import { PublicPackPuller } from './public-pack-puller.js';

/** The routes whose pack, when the gateway lacks it, is pulled through from the relay first. */
const PULLED_ROUTES: ReadonlySet<string> = new Set(['/v1/packs/:name/:ref', '/v1/packs/:name/:ref/archive']);

/**
 * The native pack API on the gateway (`/v1/packs`, proto/registry/pack-routes.ts) over the
 * registry's store, with two additions of the gateway's:
 *
 * - a 401 carries the registry's `WWW-Authenticate` challenge, as `/v2/` does;
 * - with `pullThrough`, a GET of a pack version the gateway does not hold is first pulled from the
 *   relay's public registry (PublicPackPuller), once the caller has proved it may pull that pack:
 *   nobody unauthenticated makes the gateway fetch. Failures answer as the pack API does,
 *   `{code, message}` (PCG_ERR_REGISTRY_UNREACHABLE: 503).
 *
 * Returns the PackRegistry (closed with the server) and the puller (for prefetch), when there is one.
 */
export async function gatewayPackRoutes(app: FastifyInstance, registry: { readonly store: ContentStore & { readonly dir: string }; readonly auth: RegistryAuth; readonly pullThrough: boolean }): Promise<{ readonly packs: PackRegistry; readonly puller: PublicPackPuller | null }> {
  // Beside the store's folder, as packRegistryRoutes keeps it: the pack index never shares the store's files.
  const packs = await PackRegistry.create(registry.store, { dir: join(dirname(registry.store.dir), 'packs') });
  try {
    const puller = registry.pullThrough ? new PublicPackPuller(registry.store, packs) : null;
    const authorize = authorizeWith(registry.auth);
    app.addHook('onClose', () => packs.close());
    await app.register(async (scope) => {
      scope.addHook('onSend', packChallengeHook(registry.auth));
      if (puller) {
        scope.addHook('preHandler', async (request, reply) => {
          if ((request.method !== 'GET' && request.method !== 'HEAD') || !PULLED_ROUTES.has(request.routeOptions.url ?? '')) return;
          const { name, ref } = request.params as { readonly name: string; readonly ref: string };
          try {
            await authorize(request, { repository: packRepository(name), action: 'pull' });
          } catch {
            return; // the route answers 401/403 itself, with its own body
          }
          try {
            await puller.ensure(name, ref);
          } catch (err) {
            const error = err instanceof PcgError ? err : new PcgError('PCG_ERR_INTERNAL', `pulling ${name}:${ref} through failed`, { cause: err });
            if (error.httpStatus >= 500) request.log.warn({ err, pack: name, ref }, 'pull-through failed');
            return reply.code(error.httpStatus).send({ code: error.code, message: error.message });
          }
        });
      }
      await scope.register(packRoutes, { registry: packs, authorize });
    });
    return { packs, puller };
  } catch (err) {
    packs.close();
    throw err;
  }
}
