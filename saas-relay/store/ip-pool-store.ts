import type { Kysely } from 'kysely';
import type { Clock } from '../../proto/clock.js';
import { PcgError } from '../../proto/errors.js';
import { poolSize, type IpPoolDefinition } from '../clusters/ip-pool-definition.js';
import { formatIpv4, parseIpv4 } from '../clusters/ipv4.js';
import { newId } from './ids.js';
import type { IpPoolTable, RelayDatabase } from './schema.js';

/** A pool with its counts. */
export type IpPoolWithUsage = IpPoolTable & { readonly size: number; readonly allocated: number; readonly free: number };

/** One address handed to one node. */
export interface IpAllocation {
  readonly nodeName: string;
  readonly ip: string;
}

/**
 * Static IP pools and their allocations. An allocation is a row whose primary key is
 * (pool_id, ip): whichever relay inserts it first owns the address, on SQLite and PostgreSQL alike,
 * so no lock and no counter is needed and allocations outlive every relay process.
 */
export class IpPoolStore {
  constructor(private readonly db: Kysely<RelayDatabase>, private readonly clock: Clock) {}

  async create(tenantId: string, cloudAccountId: string, name: string, definition: IpPoolDefinition): Promise<IpPoolWithUsage> {
    const clash = await this.db.selectFrom('ip_pools').select('id').where('cloud_account_id', '=', cloudAccountId).where('name', '=', name).executeTakeFirst();
    if (clash) throw new PcgError('PCG_ERR_CONFLICT', `an IP pool named "${name}" already exists on cloud account ${cloudAccountId} (${clash.id})`);
    const row: IpPoolTable = {
      id: newId('ipp'), tenant_id: tenantId, cloud_account_id: cloudAccountId, name, first_ip: definition.firstIp, last_ip: definition.lastIp,
      prefix: definition.prefix, gateway: definition.gateway, dns: JSON.stringify(definition.dns), search_domains: JSON.stringify(definition.searchDomains),
      created_at: this.clock.now(),
    };
    await this.db.insertInto('ip_pools').values(row).execute();
    const size = poolSize(row);
    return { ...row, size, allocated: 0, free: size };
  }

  async list(tenantId: string, cloudAccountId: string): Promise<IpPoolWithUsage[]> {
    const rows = await this.db.selectFrom('ip_pools').selectAll().where('tenant_id', '=', tenantId).where('cloud_account_id', '=', cloudAccountId)
      .orderBy('created_at').orderBy('id').execute();
    return Promise.all(rows.map((row) => this.#withUsage(row)));
  }

  /** Tenant-scoped: another tenant's pool is not found. */
  async get(tenantId: string, id: string, db: Kysely<RelayDatabase> = this.db): Promise<IpPoolWithUsage> {
    const row = await db.selectFrom('ip_pools').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
    if (!row) throw new PcgError('PCG_ERR_NOT_FOUND', `IP pool ${id} not found`);
    return this.#withUsage(row, db);
  }

  /** Refused with PCG_ERR_CONFLICT while any address of the pool is allocated. */
  async delete(tenantId: string, id: string): Promise<void> {
    const pool = await this.get(tenantId, id);
    await this.db.transaction().execute(async (trx) => {
      const held = await trx.selectFrom('ip_allocations').select('cluster_id').where('pool_id', '=', id).executeTakeFirst();
      if (held) throw new PcgError('PCG_ERR_CONFLICT', `IP pool ${pool.name} (${id}) still has ${pool.allocated} allocated addresses (cluster ${held.cluster_id}); delete its clusters first`);
      await trx.deleteFrom('ip_pools').where('tenant_id', '=', tenantId).where('id', '=', id).execute();
    });
  }

  /**
   * Allocates one address per node, lowest free first, all or nothing: run it inside the caller's
   * transaction (`db`) so a failure (PCG_ERR_IP_POOL_EXHAUSTED) leaves no row. Race-free across
   * relays: each insert is `ON CONFLICT (pool_id, ip) DO NOTHING`; an address another transaction
   * took since we read the pool inserts nothing and the next free one is tried. On PostgreSQL the
   * insert waits for a concurrent transaction holding that key to end, and inserts always go in
   * ascending address order, so two allocations never wait on each other in a cycle.
   */
  async allocate(tenantId: string, poolId: string, clusterId: string, nodeNames: readonly string[], db: Kysely<RelayDatabase> = this.db): Promise<IpAllocation[]> {
    if (nodeNames.length === 0) return [];
    const pool = await db.selectFrom('ip_pools').selectAll().where('tenant_id', '=', tenantId).where('id', '=', poolId).executeTakeFirst();
    if (!pool) throw new PcgError('PCG_ERR_NOT_FOUND', `IP pool ${poolId} not found`);
    const taken = new Set((await db.selectFrom('ip_allocations').select('ip').where('pool_id', '=', poolId).execute()).map((r) => Number(r.ip)));
    const gateway = pool.gateway === null ? undefined : parseIpv4(pool.gateway);
    const exhausted = () => new PcgError('PCG_ERR_IP_POOL_EXHAUSTED',
      `IP pool ${pool.name} (${poolId}) cannot give ${nodeNames.length} addresses: ${poolSize(pool) - taken.size} of ${poolSize(pool)} are free`);
    if (poolSize(pool) - taken.size < nodeNames.length) throw exhausted();
    const now = this.clock.now();
    const out: IpAllocation[] = [];
    let candidate = pool.first_ip;
    for (const nodeName of nodeNames) {
      for (;;) {
        while (candidate <= pool.last_ip && (taken.has(candidate) || candidate === gateway)) candidate++;
        if (candidate > pool.last_ip) throw exhausted();
        const ip = candidate++;
        const inserted = await db.insertInto('ip_allocations').values({ pool_id: poolId, ip, cluster_id: clusterId, node_name: nodeName, allocated_at: now })
          .onConflict((oc) => oc.columns(['pool_id', 'ip']).doNothing()).executeTakeFirst();
        if (inserted.numInsertedOrUpdatedRows === 1n) {
          out.push({ nodeName, ip: formatIpv4(ip) });
          break;
        }
        taken.add(ip);
      }
    }
    return out;
  }

  /** Addresses held by a cluster's nodes, by node name. */
  async addressesOf(clusterId: string, db: Kysely<RelayDatabase> = this.db): Promise<Map<string, string>> {
    const rows = await db.selectFrom('ip_allocations').select(['node_name', 'ip']).where('cluster_id', '=', clusterId).execute();
    return new Map(rows.map((r) => [r.node_name, formatIpv4(Number(r.ip))]));
  }

  /**
   * Gives addresses back: of the named nodes, or of the whole cluster when `nodeNames` is omitted.
   * Scoped by tenant through the cluster. Returns how many were released; releasing twice is a no-op.
   */
  async release(tenantId: string, clusterId: string, nodeNames?: readonly string[], db: Kysely<RelayDatabase> = this.db): Promise<number> {
    if (nodeNames?.length === 0) return 0;
    let query = db.deleteFrom('ip_allocations').where('cluster_id', '=', clusterId)
      .where('pool_id', 'in', (eb) => eb.selectFrom('ip_pools').select('id').where('tenant_id', '=', tenantId));
    if (nodeNames) query = query.where('node_name', 'in', [...nodeNames]);
    const result = await query.executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  async #withUsage(row: IpPoolTable, db: Kysely<RelayDatabase> = this.db): Promise<IpPoolWithUsage> {
    const { n } = await db.selectFrom('ip_allocations').select((eb) => eb.fn.countAll<number>().as('n')).where('pool_id', '=', row.id).executeTakeFirstOrThrow();
    const size = poolSize(row);
    return { ...row, size, allocated: Number(n), free: size - Number(n) };
  }
}
