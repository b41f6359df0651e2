import type { Kysely } from 'kysely';
import type { Clock } from '../../proto/clock.js';
import { PcgError } from '../../proto/errors.js';
import type { PackRef } from '../../proto/schemas/jobs.js';
import { newId } from './ids.js';
import type { ClusterProfileTable, RelayDatabase } from './schema.js';

/** A profile as written: layers already checked (clusters/profile-layers.ts). */
export interface ProfileContent {
  readonly name: string;
  readonly description: string;
  readonly packs: readonly PackRef[];
  readonly template: string;
}

/** A stored profile with its layers decoded. */
export type ClusterProfile = Omit<ClusterProfileTable, 'layers'> & { readonly packs: PackRef[] };

const decode = (row: ClusterProfileTable): ClusterProfile => {
  const { layers, ...rest } = row;
  return { ...rest, packs: JSON.parse(layers) as PackRef[] };
};

/** Cluster profiles of a tenant: per project, or tenant-wide (project_id null). Every query is scoped by tenant. */
export class ProfileStore {
  constructor(private readonly db: Kysely<RelayDatabase>, private readonly clock: Clock) {}

  async create(tenantId: string, projectId: string | null, content: ProfileContent): Promise<ClusterProfile> {
    await this.#refuseNameClash(tenantId, projectId, content.name);
    const now = this.clock.now();
    const row: ClusterProfileTable = {
      id: newId('prf'), tenant_id: tenantId, project_id: projectId, name: content.name, description: content.description,
      layers: JSON.stringify(content.packs), template: content.template, created_at: now, updated_at: now,
    };
    await this.db.insertInto('cluster_profiles').values(row).execute();
    return decode(row);
  }

  /** A project's profiles and, with `withTenantWide`, the tenant-wide ones it may use; `projectId` null lists only tenant-wide ones. */
  async list(tenantId: string, projectId: string | null, withTenantWide: boolean): Promise<ClusterProfile[]> {
    let query = this.db.selectFrom('cluster_profiles').selectAll().where('tenant_id', '=', tenantId);
    query = projectId === null
      ? query.where('project_id', 'is', null)
      : query.where((eb) => (withTenantWide ? eb.or([eb('project_id', '=', projectId), eb('project_id', 'is', null)]) : eb('project_id', '=', projectId)));
    return (await query.orderBy('created_at').orderBy('id').execute()).map(decode);
  }

  /** Tenant-scoped: another tenant's profile is not found. */
  async get(tenantId: string, id: string, db: Kysely<RelayDatabase> = this.db): Promise<ClusterProfile> {
    const row = await db.selectFrom('cluster_profiles').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
    if (!row) throw new PcgError('PCG_ERR_NOT_FOUND', `cluster profile ${id} not found`);
    return decode(row);
  }

  /** Replaces name, description and layers. Clusters keep what their queued jobs carry; later jobs use the new layers. */
  async replace(tenantId: string, id: string, content: ProfileContent): Promise<ClusterProfile> {
    const current = await this.get(tenantId, id);
    if (content.name !== current.name) await this.#refuseNameClash(tenantId, current.project_id, content.name);
    const updatedAt = this.clock.now();
    await this.db.updateTable('cluster_profiles')
      .set({ name: content.name, description: content.description, layers: JSON.stringify(content.packs), template: content.template, updated_at: updatedAt })
      .where('tenant_id', '=', tenantId).where('id', '=', id).execute();
    return { ...current, name: content.name, description: content.description, packs: [...content.packs], template: content.template, updated_at: updatedAt };
  }

  /** Refused with PCG_ERR_CONFLICT while a cluster that is not deleted was built from it. */
  async delete(tenantId: string, id: string): Promise<void> {
    await this.get(tenantId, id);
    await this.db.transaction().execute(async (trx) => {
      const user = await trx.selectFrom('clusters').select(['id', 'name']).where('tenant_id', '=', tenantId)
        .where('profile_id', '=', id).where('state', '!=', 'deleted').executeTakeFirst();
      if (user) throw new PcgError('PCG_ERR_CONFLICT', `cluster profile ${id} is used by cluster "${user.name}" (${user.id}); delete the cluster first`);
      await trx.deleteFrom('cluster_profiles').where('tenant_id', '=', tenantId).where('id', '=', id).execute();
    });
  }

  async #refuseNameClash(tenantId: string, projectId: string | null, name: string): Promise<void> {
    const clash = await this.db.selectFrom('cluster_profiles').select('id').where('tenant_id', '=', tenantId)
      .where((eb) => (projectId === null ? eb('project_id', 'is', null) : eb('project_id', '=', projectId))).where('name', '=', name).executeTakeFirst();
    if (clash) throw new PcgError('PCG_ERR_CONFLICT', `a cluster profile named "${name}" already exists here (${clash.id})`);
  }
}
