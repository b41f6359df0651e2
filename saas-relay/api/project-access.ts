import { PcgError } from '../../proto/errors.js';
import type { Principal, TenancyStore } from '../store/tenancy-store.js';
import { canSeeProject, isTenantAdmin } from './authenticate.js';

export type Access = 'read' | 'write';

/** Tenant admins write everywhere; project admins write in their project; viewers only read. */
export function canWriteProject(principal: Principal, projectId: string): boolean {
  return isTenantAdmin(principal) || principal.grants.some((g) => g.role === 'project-admin' && g.projectId === projectId);
}

/**
 * Checks the caller against an object of project `projectId` (null: tenant-wide, which every member
 * reads and only tenant admins write). A project the caller cannot see is 404, as if it did not
 * exist; one the caller sees but may not change is 403.
 */
export function requireProjectAccess(principal: Principal, projectId: string | null, access: Access, what = `project ${projectId ?? ''}`): void {
  if (projectId === null) {
    if (access === 'write' && !isTenantAdmin(principal)) throw new PcgError('PCG_ERR_FORBIDDEN', 'tenant-wide objects need the tenant-admin role');
    return;
  }
  if (!canSeeProject(principal, projectId)) throw new PcgError('PCG_ERR_NOT_FOUND', `${what} not found`);
  if (access === 'write' && !canWriteProject(principal, projectId)) throw new PcgError('PCG_ERR_FORBIDDEN', 'this needs the tenant-admin role or project-admin of the project');
}

/** The project exists in the caller's tenant and the caller has `access` to it. */
export async function requireProject(tenancy: TenancyStore, principal: Principal, projectId: string, access: Access): Promise<void> {
  requireProjectAccess(principal, projectId, access);
  if (!(await tenancy.getProject(principal.tenantId, projectId))) throw new PcgError('PCG_ERR_NOT_FOUND', `project ${projectId} not found`);
}
