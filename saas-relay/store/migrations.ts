import { type Kysely, type Migration, type MigrationProvider } from 'kysely';
import type { Dialect } from './schema.js';

/**
 * Migrations as code, shared by SQLite and PostgreSQL. Times are bigint (integer on SQLite);
 * the pg pool parses int8 to number (safe: ms timestamps stay below 2^53).
 */
function initial(dialect: Dialect): Migration {
  const time = dialect === 'postgres' ? 'bigint' : 'integer';
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.createTable('tenants')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('created_at', time, (c) => c.notNull())
        .execute();
      await db.schema.createTable('projects')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('created_at', time, (c) => c.notNull())
        .addUniqueConstraint('projects_tenant_name', ['tenant_id', 'name'])
        .execute();
      await db.schema.createTable('users')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
        .addColumn('email', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('created_at', time, (c) => c.notNull())
        .addUniqueConstraint('users_tenant_email', ['tenant_id', 'email'])
        .execute();
      await db.schema.createTable('role_bindings')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
        .addColumn('project_id', 'text', (c) => c.references('projects.id'))
        .addColumn('role', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('role_bindings_user').on('role_bindings').column('user_id').execute();
      await db.schema.createTable('api_keys')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('secret_hash', 'text', (c) => c.notNull())
        .addColumn('created_at', time, (c) => c.notNull())
        .addColumn('revoked_at', time)
        .execute();
      await db.schema.createTable('gateways')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('created_at', time, (c) => c.notNull())
        .addColumn('paired_at', time)
        .addColumn('revoked_at', time)
        .addColumn('sign_pub', 'text')
        .addColumn('box_pub', 'text')
        .addColumn('cert_serial', 'text')
        .addColumn('cert_expires_at', time)
        .addColumn('epoch', time, (c) => c.notNull().defaultTo(0))
        .addColumn('connected_at', time)
        .addColumn('disconnected_at', time)
        .addColumn('last_seen_at', time)
        .addColumn('version', 'text')
        .addColumn('clock_skew_ms', time)
        .execute();
      await db.schema.createIndex('gateways_tenant').on('gateways').column('tenant_id').execute();
      await db.schema.createTable('pairing_codes')
        .addColumn('code_id', 'text', (c) => c.primaryKey())
        .addColumn('gateway_id', 'text', (c) => c.notNull().references('gateways.id'))
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
        .addColumn('secret_hash', 'text', (c) => c.notNull())
        .addColumn('expires_at', time, (c) => c.notNull())
        .addColumn('failures', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('consumed_at', time)
        .addColumn('created_at', time, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('pairing_codes_gateway').on('pairing_codes').column('gateway_id').execute();
      await db.schema.createTable('cloud_accounts')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
        .addColumn('gateway_id', 'text', (c) => c.notNull().unique().references('gateways.id'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('metadata', 'text', (c) => c.notNull())
        .addColumn('created_at', time, (c) => c.notNull())
        .execute();
      await db.schema.createTable('gateway_events')
        .addColumn('id', dialect === 'postgres' ? 'bigserial' : 'integer', (c) =>
          dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement())
        .addColumn('gateway_id', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('epoch', time, (c) => c.notNull())
        .addColumn('at', time, (c) => c.notNull())
        .execute();
    },
  };
}

/**
 * Work for a gateway that arrives at a relay not holding its tunnel: `gateways.relay_id` names
 * the relay holding the current session; a request row is claimed and answered by that relay,
 * its replies (progress, then one final) are rows the asking relay reads.
 */
function tunnelRouting(dialect: Dialect): Migration {
  const time = dialect === 'postgres' ? 'bigint' : 'integer';
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('gateways').addColumn('relay_id', 'text').execute();
      await db.schema.createTable('tunnel_requests')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('gateway_id', 'text', (c) => c.notNull())
        .addColumn('relay_id', 'text', (c) => c.notNull())
        .addColumn('operation', 'text', (c) => c.notNull())
        .addColumn('args', 'text', (c) => c.notNull())
        .addColumn('created_at', time, (c) => c.notNull())
        .addColumn('deadline_at', time, (c) => c.notNull())
        .addColumn('claimed_at', time)
        .addColumn('finished_at', time)
        .execute();
      await db.schema.createIndex('tunnel_requests_relay').on('tunnel_requests').columns(['relay_id', 'claimed_at']).execute();
      await db.schema.createTable('tunnel_replies')
        .addColumn('id', dialect === 'postgres' ? 'bigserial' : 'integer', (c) =>
          dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement())
        .addColumn('request_id', 'text', (c) => c.notNull())
        .addColumn('final', 'integer', (c) => c.notNull())
        .addColumn('body', 'text', (c) => c.notNull())
        .addColumn('at', time, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('tunnel_replies_request').on('tunnel_replies').columns(['request_id', 'id']).execute();
    },
  };
}

export function migrationProvider(dialect: Dialect): MigrationProvider {
  return { getMigrations: () => Promise.resolve({ '0001_initial': initial(dialect), '0002_tunnel_routing': tunnelRouting(dialect) }) };
}
