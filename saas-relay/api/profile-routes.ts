import { Type } from '@sinclair/typebox';
import { PcgError } from '../../proto/errors.js';
import { checkProfileLayers } from '../clusters/profile-layers.js';
import { checkProfilePacks } from '../clusters/profile-packs.js';
import type { PublicPackCatalog } from '../registry/public-pack-store.js';
import type { ClusterProfile, ProfileStore } from '../store/profile-store.js';
import type { Principal, TenancyStore } from '../store/tenancy-store.js';
import * as S from './api-schemas.js';
import * as C from './cluster-schemas.js';
import { requireProject, requireProjectAccess, type Access } from './project-access.js';
import { ERROR_RESPONSES as errors, type RouteApp as App } from './route-app.js';

export interface ProfileRouteDeps {
  readonly profiles: ProfileStore;
  readonly tenancy: TenancyStore;
  /** The public registry, for the packs a profile names; null: not checked (this relay hosts none). @default null */
  readonly packs?: PublicPackCatalog | null;
}

const tags = ['cluster profiles'];

/**
 * Cluster profiles: per project under /v1/projects/:id/profiles (a project's list also shows the
 * tenant-wide profiles it may use), tenant-wide under /v1/profiles; /v1/profiles/:id reaches any
 * profile the caller may see. Viewers read; tenant and project admins write.
 */
export function profileRoutes(app: App, deps: ProfileRouteDeps): void {
  const out = (p: ClusterProfile) => ({
    id: p.id, projectId: p.project_id, name: p.name, description: p.description, createdAt: S.iso(p.created_at), updatedAt: S.iso(p.updated_at),
    layers: p.packs.map((pack) => (pack.layer === 'os' ? { ...pack, template: p.template } : pack)),
  });
  const content = async (body: C.ProfileBody) => {
    const layers = checkProfileLayers(body.layers);
    await checkProfilePacks(layers.packs, deps.packs ?? null);
    return { name: body.name, description: body.description, ...layers };
  };

  /** The profile, if the caller may `access` it and (under a project path) it belongs to that project. */
  const load = async (principal: Principal, id: string, access: Access, projectId?: string): Promise<ClusterProfile> => {
    const profile = await deps.profiles.get(principal.tenantId, id);
    if (projectId !== undefined && profile.project_id !== projectId) throw new PcgError('PCG_ERR_NOT_FOUND', `cluster profile ${id} not found in project ${projectId}`);
    // Seen-but-not-writable is 403; not seen at all is 404, like every other object.
    requireProjectAccess(principal, profile.project_id, 'read', `cluster profile ${id}`);
    requireProjectAccess(principal, profile.project_id, access, `cluster profile ${id}`);
    return profile;
  };

  const itemRoutes = (prefix: string, projectOf: (params: Record<string, string>) => string | undefined, params: typeof S.IdParam | typeof C.ProfileIdParams, idOf: (params: Record<string, string>) => string) => {
    app.get(`${prefix}`, { schema: { tags, params, response: { 200: C.Profile, ...errors } } }, async (req) => {
      const p = req.params as Record<string, string>;
      return out(await load(req.principal, idOf(p), 'read', projectOf(p)));
    });
    app.put(`${prefix}`, { schema: { tags, params, body: C.ProfileBody, response: { 200: C.Profile, ...errors } } }, async (req) => {
      const p = req.params as Record<string, string>;
      const profile = await load(req.principal, idOf(p), 'write', projectOf(p));
      return out(await deps.profiles.replace(req.principal.tenantId, profile.id, await content(req.body)));
    });
    app.delete(`${prefix}`, { schema: { tags, params, response: { 204: Type.Null(), ...errors } } }, async (req, reply) => {
      const p = req.params as Record<string, string>;
      const profile = await load(req.principal, idOf(p), 'write', projectOf(p));
      await deps.profiles.delete(req.principal.tenantId, profile.id);
      return reply.code(204).send(null);
    });
  };

  app.get('/v1/projects/:id/profiles', { schema: { tags, params: S.IdParam, response: { 200: Type.Array(C.Profile), ...errors } } }, async (req) => {
    await requireProject(deps.tenancy, req.principal, req.params.id, 'read');
    return (await deps.profiles.list(req.principal.tenantId, req.params.id, true)).map(out);
  });

  app.post('/v1/projects/:id/profiles', { schema: { tags, params: S.IdParam, body: C.ProfileBody, response: { 201: C.Profile, ...errors } } }, async (req, reply) => {
    await requireProject(deps.tenancy, req.principal, req.params.id, 'write');
    return reply.code(201).send(out(await deps.profiles.create(req.principal.tenantId, req.params.id, await content(req.body))));
  });

  itemRoutes('/v1/projects/:id/profiles/:profileId', (p) => p.id, C.ProfileIdParams, (p) => p.profileId!);

  app.get('/v1/profiles', { schema: { tags, response: { 200: Type.Array(C.Profile), ...errors } } }, async (req) =>
    (await deps.profiles.list(req.principal.tenantId, null, false)).map(out));

  app.post('/v1/profiles', { schema: { tags, body: C.ProfileBody, response: { 201: C.Profile, ...errors } } }, async (req, reply) => {
    requireProjectAccess(req.principal, null, 'write');
    return reply.code(201).send(out(await deps.profiles.create(req.principal.tenantId, null, await content(req.body))));
  });

  itemRoutes('/v1/profiles/:id', () => undefined, S.IdParam, (p) => p.id!);
}
