import { sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import { packSyncOrder } from './pack-sync-order-migration.js';
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

/** Cluster lifecycle: profiles, IP pools and their allocations, clusters and nodes, jobs, events. */
function clusters(dialect: Dialect): Migration {
  const time = dialect === 'postgres' ? 'bigint' : 'integer';
  const serial = dialect === 'postgres' ? 'bigserial' : 'integer';
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.createTable('cluster_profiles')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
        .addColumn('project_id', 'text', (c) => c.references('projects.id'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('description', 'text', (c) => c.notNull())
        .addColumn('layers', 'text', (c) => c.notNull())
        .addColumn('template', 'text', (c) => c.notNull())
        .addColumn('created_at', time, (c) => c.notNull())
        .addColumn('updated_at', time, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('cluster_profiles_tenant').on('cluster_profiles').columns(['tenant_id', 'project_id']).execute();
      await db.schema.createTable('ip_pools')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
        .addColumn('cloud_account_id', 'text', (c) => c.notNull().references('cloud_accounts.id'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('first_ip', time, (c) => c.notNull())
        .addColumn('last_ip', time, (c) => c.notNull())
        .addColumn('prefix', 'integer', (c) => c.notNull())
        .addColumn('gateway', 'text')
        .addColumn('dns', 'text', (c) => c.notNull())
        .addColumn('search_domains', 'text', (c) => c.notNull())
        .addColumn('created_at', time, (c) => c.notNull())
        .addUniqueConstraint('ip_pools_account_name', ['cloud_account_id', 'name'])
        .execute();
      await db.schema.createTable('ip_allocations')
        .addColumn('pool_id', 'text', (c) => c.notNull().references('ip_pools.id'))
        .addColumn('ip', time, (c) => c.notNull())
        .addColumn('cluster_id', 'text', (c) => c.notNull())
        .addColumn('node_name', 'text', (c) => c.notNull())
        .addColumn('allocated_at', time, (c) => c.notNull())
        .addPrimaryKeyConstraint('ip_allocations_pk', ['pool_id', 'ip'])
        .addUniqueConstraint('ip_allocations_node', ['cluster_id', 'node_name'])
        .execute();
      await db.schema.createTable('clusters')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
        .addColumn('project_id', 'text', (c) => c.notNull().references('projects.id'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('profile_id', 'text', (c) => c.notNull())
        .addColumn('cloud_account_id', 'text', (c) => c.notNull())
        .addColumn('gateway_id', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('placement', 'text', (c) => c.notNull())
        .addColumn('node_pools', 'text', (c) => c.notNull())
        .addColumn('addressing', 'text', (c) => c.notNull())
        .addColumn('next_worker', 'integer', (c) => c.notNull())
        .addColumn('created_at', time, (c) => c.notNull())
        .addColumn('updated_at', time, (c) => c.notNull())
        .addColumn('deleted_at', time)
        .execute();
      await db.schema.createIndex('clusters_project').on('clusters').columns(['tenant_id', 'project_id']).execute();
      await db.schema.createTable('cluster_nodes')
        .addColumn('cluster_id', 'text', (c) => c.notNull().references('clusters.id'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('vm', 'text')
        .addColumn('instance_uuid', 'text')
        .addColumn('ip', 'text')
        .addColumn('ready', 'integer', (c) => c.notNull())
        .addColumn('updated_at', time, (c) => c.notNull())
        .addPrimaryKeyConstraint('cluster_nodes_pk', ['cluster_id', 'name'])
        .execute();
      await db.schema.createTable('jobs')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
        .addColumn('cluster_id', 'text', (c) => c.notNull().references('clusters.id'))
        .addColumn('gateway_id', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('spec', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull())
        .addColumn('lease_until', time)
        .addColumn('epoch', time)
        .addColumn('cancel_requested_at', time)
        .addColumn('last_seq', 'integer', (c) => c.notNull())
        .addColumn('result', 'text')
        .addColumn('error_code', 'text')
        .addColumn('error_message', 'text')
        .addColumn('created_at', time, (c) => c.notNull())
        .addColumn('updated_at', time, (c) => c.notNull())
        .addColumn('finished_at', time)
        .execute();
      await db.schema.createIndex('jobs_gateway_state').on('jobs').columns(['gateway_id', 'state']).execute();
      // The dispatcher's once-a-second polls look only at unfinished jobs; finished ones pile up forever.
      await db.schema.createIndex('jobs_unfinished').on('jobs').columns(['state', 'lease_until'])
        .where(sql.ref('state'), 'in', ['queued', 'dispatched', 'running']).execute();
      await db.schema.createIndex('jobs_cluster').on('jobs').columns(['cluster_id', 'created_at']).execute();
      await db.schema.createTable('cluster_events')
        .addColumn('id', serial, (c) => (dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
        .addColumn('cluster_id', 'text', (c) => c.notNull())
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('job_id', 'text')
        .addColumn('seq', 'integer')
        .addColumn('at', time, (c) => c.notNull())
        .addColumn('step', 'text', (c) => c.notNull())
        .addColumn('node', 'text')
        .addColumn('level', 'text', (c) => c.notNull())
        .addColumn('message', 'text', (c) => c.notNull())
        .addUniqueConstraint('cluster_events_job_seq', ['job_id', 'seq'])
        .execute();
      await db.schema.createIndex('cluster_events_cluster').on('cluster_events').columns(['cluster_id', 'id']).execute();
    },
  };
}

/**
 * Each gateway's private pack index as it last reported it (`registry.index`), and one sync status
 * per gateway. `generation` is the gateway's report counter: a delta applies only on top of it.
 */
function packSync(dialect: Dialect): Migration {
  const time = dialect === 'postgres' ? 'bigint' : 'integer';
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.createTable('gateway_packs')
        .addColumn('gateway_id', 'text', (c) => c.notNull().references('gateways.id'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('version', 'text', (c) => c.notNull())
        .addColumn('digest', 'text', (c) => c.notNull())
        .addColumn('layer', 'text', (c) => c.notNull())
        .addColumn('cloud_types', 'text', (c) => c.notNull())
        .addColumn('updated_at', time, (c) => c.notNull())
        .addPrimaryKeyConstraint('gateway_packs_pk', ['gateway_id', 'name', 'version'])
        .execute();
      await db.schema.createTable('gateway_pack_sync')
        .addColumn('gateway_id', 'text', (c) => c.primaryKey().references('gateways.id'))
        .addColumn('generation', time)
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('message', 'text')
        .addColumn('last_synced_at', time)
        .addColumn('last_run_at', time)
        .execute();
    },
  };
}

export function migrationProvider(dialect: Dialect): MigrationProvider {
  return { getMigrations: () => Promise.resolve({ '0001_initial': initial(dialect), '0002_tunnel_routing': tunnelRouting(dialect), '0003_clusters': clusters(dialect), '0004_pack_sync': packSync(dialect), '0005_pack_sync_order': packSyncOrder() }) };
}
