import { Type } from '@sinclair/typebox';
import { PcgError } from '../../proto/errors.js';
import type { TenancyStore } from '../store/tenancy-store.js';
import * as S from './api-schemas.js';
import { ERROR_RESPONSES as errors, type RouteApp as App } from './route-app.js';
import { canSeeProject, isTenantAdmin, requireTenantAdmin } from './authenticate.js';

/** Tenant, projects, users and API keys of the caller's tenant. */
export function tenancyRoutes(app: App, tenancy: TenancyStore): void {
  app.get('/v1/tenant', { schema: { tags: ['tenancy'], response: { 200: S.Tenant, ...errors } } }, async (req) => {
    const tenant = await tenancy.getTenant(req.principal.tenantId);
    if (!tenant) throw new PcgError('PCG_ERR_NOT_FOUND', 'tenant not found');
    return { id: tenant.id, name: tenant.name, createdAt: S.iso(tenant.created_at) };
  });

  app.get('/v1/projects', { schema: { tags: ['tenancy'], response: { 200: Type.Array(S.Project), ...errors } } }, async (req) => {
    const projects = await tenancy.listProjects(req.principal.tenantId);
    return projects.filter((p) => canSeeProject(req.principal, p.id)).map((p) => ({ id: p.id, name: p.name, createdAt: S.iso(p.created_at) }));
  });

  app.get('/v1/projects/:id', { schema: { tags: ['tenancy'], params: S.IdParam, response: { 200: S.Project, ...errors } } }, async (req) => {
    const project = await tenancy.getProject(req.principal.tenantId, req.params.id);
    if (!project || !canSeeProject(req.principal, project.id)) throw new PcgError('PCG_ERR_NOT_FOUND', `project ${req.params.id} not found`);
    return { id: project.id, name: project.name, createdAt: S.iso(project.created_at) };
  });

  app.post('/v1/projects', { schema: { tags: ['tenancy'], body: S.CreateProject, response: { 201: S.Project, ...errors } } }, async (req, reply) => {
    requireTenantAdmin(req.principal);
    const project = await tenancy.createProject(req.principal.tenantId, req.body.name);
    return reply.code(201).send({ id: project.id, name: project.name, createdAt: S.iso(project.created_at) });
  });

  const userOut = (u: Awaited<ReturnType<TenancyStore['listUsers']>>[number]) => ({ id: u.id, email: u.email, name: u.name, grants: u.grants, createdAt: S.iso(u.created_at) });

  app.get('/v1/users', { schema: { tags: ['tenancy'], response: { 200: Type.Array(S.User), ...errors } } }, async (req) => {
    requireTenantAdmin(req.principal);
    return (await tenancy.listUsers(req.principal.tenantId)).map(userOut);
  });

  app.get('/v1/users/:id', { schema: { tags: ['tenancy'], params: S.IdParam, response: { 200: S.User, ...errors } } }, async (req) => {
    if (!isTenantAdmin(req.principal) && req.principal.userId !== req.params.id) throw new PcgError('PCG_ERR_NOT_FOUND', `user ${req.params.id} not found`);
    const user = await tenancy.getUser(req.principal.tenantId, req.params.id);
    if (!user) throw new PcgError('PCG_ERR_NOT_FOUND', `user ${req.params.id} not found`);
    return userOut(user);
  });

  app.post('/v1/users', { schema: { tags: ['tenancy'], body: S.CreateUser, response: { 201: S.User, ...errors } } }, async (req, reply) => {
    requireTenantAdmin(req.principal);
    const user = await tenancy.createUser(req.principal.tenantId, req.body);
    return reply.code(201).send(userOut(user));
  });

  app.post('/v1/users/:id/apikeys', { schema: { tags: ['tenancy'], params: S.IdParam, body: S.CreateApiKey, response: { 201: S.CreatedApiKey, ...errors } } }, async (req, reply) => {
    if (req.principal.userId !== req.params.id) requireTenantAdmin(req.principal);
    const key = await tenancy.createApiKey(req.principal.tenantId, req.params.id, req.body.name);
    return reply.code(201).header('cache-control', 'no-store').send({ id: key.id, userId: key.userId, name: key.name, apiKey: key.apiKey, createdAt: S.iso(key.createdAt) });
  });

  app.get('/v1/apikeys', { schema: { tags: ['tenancy'], response: { 200: Type.Array(S.ApiKey), ...errors } } }, async (req) => {
    const keys = await tenancy.listApiKeys(req.principal.tenantId);
    return keys
      .filter((k) => isTenantAdmin(req.principal) || k.user_id === req.principal.userId)
      .map((k) => ({ id: k.id, userId: k.user_id, name: k.name, createdAt: S.iso(k.created_at), revokedAt: S.iso(k.revoked_at) }));
  });

  app.delete('/v1/apikeys/:id', { schema: { tags: ['tenancy'], params: S.IdParam, response: { 204: Type.Null(), ...errors } } }, async (req, reply) => {
    const key = (await tenancy.listApiKeys(req.principal.tenantId)).find((k) => k.id === req.params.id);
    if (!key) throw new PcgError('PCG_ERR_NOT_FOUND', `API key ${req.params.id} not found`);
    if (key.user_id !== req.principal.userId) requireTenantAdmin(req.principal);
    await tenancy.revokeApiKey(req.principal.tenantId, req.params.id);
    return reply.code(204).send(null);
  });
}
