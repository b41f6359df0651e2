/**
 * The pack API as the embedded (and public) registry mounts it: one PackRegistry over the
 * registry's content store, its index in `<dir>/packs.db` beside the store's folder (the store's
 * `dir` parent + `packs/`, so the pack index and the store's own files never share a folder), and
 * `authorize` answered by the registry's own RegistryAuth: Basic, bearer tokens from `/v2/token`
 * and nodes' read tokens, with the same grants as the OCI API.
 *
 * The PackRegistry (its SQLite handle) closes with the HTTPS server (fastify onClose), which the
 * embedded registry closes before its store.
 */
import { dirname, join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { PcgError } from '../errors.js';
import type { ContentStore } from './content-store.js';
import { PackRegistry } from './pack-registry.js';
import { packRoutes, type PackAuthorizer } from './pack-routes.js';
import type { RegistryAuth } from './registry-auth.js';

/** Registers `/v1/packs` on `app` (before listen) for the registry's store and auth. */
export async function packRegistryRoutes(app: FastifyInstance, registry: { readonly store: ContentStore; readonly auth: RegistryAuth }): Promise<void> {
  const storeDir = (registry.store as { readonly dir?: unknown }).dir;
  if (typeof storeDir !== 'string') throw new PcgError('PCG_ERR_CONFIG_INVALID', 'the pack API needs a content store kept in a folder');
  const packs = await PackRegistry.create(registry.store, { dir: join(dirname(storeDir), 'packs') });
  try {
    app.addHook('onClose', () => packs.close());
    await app.register(packRoutes, { registry: packs, authorize: authorizeWith(registry.auth) });
  } catch (err) {
    packs.close();
    throw err;
  }
}

/** The PackAuthorizer of a RegistryAuth: 401 without or with wrong credentials, 403 without the grant. */
export function authorizeWith(auth: RegistryAuth): PackAuthorizer {
  return async (request, need) => {
    const principal = await auth.principal(request.headers.authorization);
    if (!principal) throw new PcgError('PCG_ERR_UNAUTHENTICATED', `log in to ${need.action} ${need.repository} (packctl login)`);
    if (!auth.allows(principal, need)) throw new PcgError('PCG_ERR_FORBIDDEN', `${principal.subject} may not ${need.action} ${need.repository}`);
  };
}
