import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { PcgError } from '../../proto/errors.js';
import type { Clock } from '../../proto/clock.js';
import type { SecretHasher } from '../security/secret-hasher.js';
import { newId } from './ids.js';
import type { ProjectTable, RelayDatabase, Role, TenantTable, UserTable } from './schema.js';

export interface RoleGrant { readonly role: Role; readonly projectId: string | null }
export interface Principal { readonly tenantId: string; readonly userId: string; readonly keyId: string; readonly grants: readonly RoleGrant[] }
export interface CreatedApiKey { readonly id: string; readonly apiKey: string; readonly userId: string; readonly name: string; readonly createdAt: number }

const API_KEY_PURPOSE = 'api-key';
/** `pcg_<key id>.<secret>`: the id finds the row, the secret is checked against its keyed hash. */
const API_KEY_PATTERN = /^pcg_(key_[0-9A-Za-z]{20})\.([0-9A-Za-z_-]{43})$/;

/** Tenants, projects, users, role bindings and API keys. Every read is scoped by tenant. */
export class TenancyStore {
  constructor(private readonly db: Kysely<RelayDatabase>, private readonly hasher: SecretHasher, private readonly clock: Clock) {}

  /** A tenant with its default project and first tenant-admin user and API key, in one transaction. */
  async createTenant(name: string): Promise<{ tenantId: string; projectId: string; userId: string; apiKey: string }> {
    return this.db.transaction().execute(async (trx) => {
      const now = this.clock.now();
      const tenantId = newId('ten');
      const projectId = newId('prj');
      await trx.insertInto('tenants').values({ id: tenantId, name, created_at: now }).execute();
      await trx.insertInto('projects').values({ id: projectId, tenant_id: tenantId, name: 'default', created_at: now }).execute();
      const inner = new TenancyStore(trx, this.hasher, this.clock);
      const user = await inner.createUser(tenantId, { email: 'admin@local', name: 'Tenant admin', grants: [{ role: 'tenant-admin', projectId: null }] });
      const key = await inner.createApiKey(tenantId, user.id, 'bootstrap');
      return { tenantId, projectId, userId: user.id, apiKey: key.apiKey };
    });
  }

  getTenant(tenantId: string): Promise<TenantTable | undefined> {
    return this.db.selectFrom('tenants').selectAll().where('id', '=', tenantId).executeTakeFirst();
  }

  listProjects(tenantId: string): Promise<ProjectTable[]> {
    return this.db.selectFrom('projects').selectAll().where('tenant_id', '=', tenantId).orderBy('created_at').orderBy('id').execute();
  }

  getProject(tenantId: string, projectId: string): Promise<ProjectTable | undefined> {
    return this.db.selectFrom('projects').selectAll().where('tenant_id', '=', tenantId).where('id', '=', projectId).executeTakeFirst();
  }

  async createProject(tenantId: string, name: string): Promise<ProjectTable> {
    const row = { id: newId('prj'), tenant_id: tenantId, name, created_at: this.clock.now() };
    const clash = await this.db.selectFrom('projects').select('id').where('tenant_id', '=', tenantId).where('name', '=', name).executeTakeFirst();
    if (clash) throw new PcgError('PCG_ERR_CONFLICT', `a project named "${name}" already exists`);
    await this.db.insertInto('projects').values(row).execute();
    return row;
  }

  async createUser(tenantId: string, user: { email: string; name: string; grants: readonly RoleGrant[] }): Promise<UserTable & { grants: RoleGrant[] }> {
    const clash = await this.db.selectFrom('users').select('id').where('tenant_id', '=', tenantId).where('email', '=', user.email).executeTakeFirst();
    if (clash) throw new PcgError('PCG_ERR_CONFLICT', `a user with email "${user.email}" already exists`);
    for (const grant of user.grants) {
      if ((grant.role === 'tenant-admin') !== (grant.projectId === null)) {
        throw new PcgError('PCG_ERR_BAD_REQUEST', `role ${grant.role} ${grant.role === 'tenant-admin' ? 'takes no projectId' : 'needs a projectId'}`);
      }
      if (grant.projectId !== null && !(await this.getProject(tenantId, grant.projectId))) {
        throw new PcgError('PCG_ERR_NOT_FOUND', `project ${grant.projectId} not found`);
      }
    }
    const row = { id: newId('usr'), tenant_id: tenantId, email: user.email, name: user.name, created_at: this.clock.now() };
    await this.db.insertInto('users').values(row).execute();
    for (const grant of user.grants) {
      await this.db.insertInto('role_bindings').values({ id: newId('rb'), tenant_id: tenantId, user_id: row.id, project_id: grant.projectId, role: grant.role }).execute();
    }
    return { ...row, grants: [...user.grants] };
  }

  async listUsers(tenantId: string): Promise<Array<UserTable & { grants: RoleGrant[] }>> {
    const users = await this.db.selectFrom('users').selectAll().where('tenant_id', '=', tenantId).orderBy('created_at').orderBy('id').execute();
    const bindings = await this.db.selectFrom('role_bindings').selectAll().where('tenant_id', '=', tenantId).execute();
    return users.map((u) => ({ ...u, grants: bindings.filter((b) => b.user_id === u.id).map((b) => ({ role: b.role, projectId: b.project_id })) }));
  }

  async getUser(tenantId: string, userId: string): Promise<(UserTable & { grants: RoleGrant[] }) | undefined> {
    return (await this.listUsers(tenantId)).find((u) => u.id === userId);
  }

  /** The clear key is returned once and never stored. */
  async createApiKey(tenantId: string, userId: string, name: string): Promise<CreatedApiKey> {
    const user = await this.db.selectFrom('users').select('id').where('tenant_id', '=', tenantId).where('id', '=', userId).executeTakeFirst();
    if (!user) throw new PcgError('PCG_ERR_NOT_FOUND', `user ${userId} not found`);
    const id = newId('key');
    const secret = randomBytes(32).toString('base64url');
    const createdAt = this.clock.now();
    await this.db.insertInto('api_keys').values({
      id, tenant_id: tenantId, user_id: userId, name, secret_hash: this.hasher.hash(API_KEY_PURPOSE, id, secret), created_at: createdAt, revoked_at: null,
    }).execute();
    return { id, apiKey: `pcg_${id}.${secret}`, userId, name, createdAt };
  }

  listApiKeys(tenantId: string): Promise<Array<{ id: string; user_id: string; name: string; created_at: number; revoked_at: number | null }>> {
    return this.db.selectFrom('api_keys').select(['id', 'user_id', 'name', 'created_at', 'revoked_at']).where('tenant_id', '=', tenantId).orderBy('created_at').execute();
  }

  async revokeApiKey(tenantId: string, keyId: string): Promise<void> {
    const result = await this.db.updateTable('api_keys').set({ revoked_at: this.clock.now() })
      .where('tenant_id', '=', tenantId).where('id', '=', keyId).where('revoked_at', 'is', null).executeTakeFirst();
    if (result.numUpdatedRows === 0n) throw new PcgError('PCG_ERR_NOT_FOUND', `API key ${keyId} not found or already revoked`);
  }

  /** Resolves a bearer key to its principal, or undefined for anything unknown, revoked or malformed. */
  async authenticate(apiKey: string): Promise<Principal | undefined> {
    const match = API_KEY_PATTERN.exec(apiKey);
    if (!match) return undefined;
    const [, id = '', secret = ''] = match;
    const row = await this.db.selectFrom('api_keys').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row || row.revoked_at !== null || !this.hasher.matches(API_KEY_PURPOSE, id, secret, row.secret_hash)) return undefined;
    const bindings = await this.db.selectFrom('role_bindings').select(['role', 'project_id']).where('user_id', '=', row.user_id).execute();
    return { tenantId: row.tenant_id, userId: row.user_id, keyId: id, grants: bindings.map((b) => ({ role: b.role, projectId: b.project_id })) };
  }
}
