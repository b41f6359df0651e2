import type { FastifyReply, FastifyRequest } from 'fastify';
import { PcgError } from '../../proto/errors.js';
import type { Principal, TenancyStore } from '../store/tenancy-store.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal;
  }
}

/** preHandler: resolves `Authorization: Bearer <api key>` to the caller's tenant and roles. */
export function bearerAuth(tenancy: TenancyStore) {
  return async (request: FastifyRequest, _reply: FastifyReply): Promise<void> => {
    const header = request.headers.authorization ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    const principal = match ? await tenancy.authenticate(match[1]!) : undefined;
    if (!principal) throw new PcgError('PCG_ERR_UNAUTHENTICATED', match ? 'the API key is unknown or revoked' : 'no API key');
    request.principal = principal;
  };
}

export function isTenantAdmin(principal: Principal): boolean {
  return principal.grants.some((g) => g.role === 'tenant-admin');
}

export function requireTenantAdmin(principal: Principal): void {
  if (!isTenantAdmin(principal)) throw new PcgError('PCG_ERR_FORBIDDEN', 'this needs the tenant-admin role');
}

/** Projects the caller may see: all for a tenant admin, else those with a binding. */
export function canSeeProject(principal: Principal, projectId: string): boolean {
  return isTenantAdmin(principal) || principal.grants.some((g) => g.projectId === projectId);
}
