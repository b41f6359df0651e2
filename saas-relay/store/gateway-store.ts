import type { Kysely } from 'kysely';
import { PcgError } from '../../proto/errors.js';
import type { Clock } from '../../proto/clock.js';
import { newId } from './ids.js';
import type { CloudAccountTable, GatewayTable, RelayDatabase } from './schema.js';

export type GatewayStatus = 'pending-pairing' | 'online' | 'offline' | 'revoked';

/**
 * Status is derived from stored facts, never held in one relay's memory: a gateway is online
 * while its current session is connected and heard from within `offlineAfterMs`, which also
 * covers a relay that died without marking its sessions closed.
 */
export function gatewayStatus(row: GatewayTable, now: number, offlineAfterMs: number): GatewayStatus {
  if (row.revoked_at !== null) return 'revoked';
  if (row.paired_at === null) return 'pending-pairing';
  const connected = row.connected_at !== null && (row.disconnected_at === null || row.disconnected_at < row.connected_at);
  return connected && row.last_seen_at !== null && now - row.last_seen_at <= offlineAfterMs ? 'online' : 'offline';
}

export interface PairingRecord {
  readonly signPub: string;
  readonly boxPub: string;
  readonly certSerial: string;
  readonly certExpiresAt: number;
}

export class GatewayStore {
  constructor(private readonly db: Kysely<RelayDatabase>, private readonly clock: Clock) {}

  async create(tenantId: string, name: string): Promise<GatewayTable> {
    const row: GatewayTable = {
      id: newId('gw'), tenant_id: tenantId, name, created_at: this.clock.now(), paired_at: null, revoked_at: null, sign_pub: null,
      box_pub: null, cert_serial: null, cert_expires_at: null, epoch: 0, connected_at: null, disconnected_at: null, last_seen_at: null,
      version: null, clock_skew_ms: null, relay_id: null,
    };
    await this.db.insertInto('gateways').values(row).execute();
    return row;
  }

  list(tenantId: string): Promise<GatewayTable[]> {
    return this.db.selectFrom('gateways').selectAll().where('tenant_id', '=', tenantId).orderBy('created_at').orderBy('id').execute();
  }

  /** Tenant-scoped read: another tenant's gateway is simply not found. */
  async get(tenantId: string, id: string): Promise<GatewayTable> {
    const row = await this.db.selectFrom('gateways').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
    if (!row) throw new PcgError('PCG_ERR_NOT_FOUND', `gateway ${id} not found`);
    return row;
  }

  /** Unscoped read for the tunnel, where the gateway's own key proves who it is. */
  findById(id: string): Promise<GatewayTable | undefined> {
    return this.db.selectFrom('gateways').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** Records a completed pairing and creates the tenant's gateway cloud account on first pairing. */
  async recordPairing(trx: Kysely<RelayDatabase>, gateway: GatewayTable, record: PairingRecord): Promise<CloudAccountTable> {
    const now = this.clock.now();
    // Re-pairing replaces the keys; bumping the epoch fences any session of the old identity.
    await trx.updateTable('gateways').set({
      paired_at: now, sign_pub: record.signPub, box_pub: record.boxPub, cert_serial: record.certSerial, cert_expires_at: record.certExpiresAt,
      epoch: gateway.epoch + 1, connected_at: null, disconnected_at: now,
    }).where('id', '=', gateway.id).execute();
    if (gateway.paired_at !== null) await trx.insertInto('gateway_events').values({ gateway_id: gateway.id, kind: 'superseded', epoch: gateway.epoch + 1, at: now }).execute();
    const existing = await trx.selectFrom('cloud_accounts').selectAll().where('gateway_id', '=', gateway.id).executeTakeFirst();
    if (existing) return existing;
    const account: CloudAccountTable = {
      id: newId('cld'), tenant_id: gateway.tenant_id, gateway_id: gateway.id, name: gateway.name, kind: 'gateway',
      metadata: JSON.stringify({ vcenter: null }), created_at: now,
    };
    await trx.insertInto('cloud_accounts').values(account).execute();
    return account;
  }

  /**
   * Starts a session: bumps the epoch (fencing token) and marks the gateway connected, heard from
   * now, running `version` (from its hello). Returns the new epoch; a previous session that is
   * still open anywhere is told by the event feed.
   */
  async beginSession(gateway: GatewayTable, version: string, relayId: string): Promise<number> {
    const now = this.clock.now();
    return this.db.transaction().execute(async (trx) => {
      const row = await trx.updateTable('gateways')
        .set((eb) => ({ epoch: eb('epoch', '+', 1), connected_at: now, last_seen_at: now, disconnected_at: null, version, relay_id: relayId }))
        .where('id', '=', gateway.id).where('revoked_at', 'is', null)
        .returning(['epoch']).executeTakeFirst();
      if (!row) throw new PcgError('PCG_ERR_GATEWAY_REVOKED', `gateway ${gateway.id} is revoked`);
      await trx.insertInto('gateway_events').values({ gateway_id: gateway.id, kind: 'superseded', epoch: row.epoch, at: now }).execute();
      return row.epoch;
    });
  }

  /**
   * Heartbeat of the current session. 'revoked' or 'superseded' when the session has been fenced
   * off, so the caller closes it with the code that tells the gateway which.
   */
  async recordHeartbeat(id: string, epoch: number, facts: { version: string; clockSkewMs: number; certExpiresAt?: number | undefined }): Promise<'current' | 'revoked' | 'superseded'> {
    const result = await this.db.updateTable('gateways')
      .set({ last_seen_at: this.clock.now(), version: facts.version, clock_skew_ms: facts.clockSkewMs })
      .where('id', '=', id).where('epoch', '=', epoch).where('revoked_at', 'is', null).executeTakeFirst();
    if (result.numUpdatedRows === 1n) return 'current';
    const row = await this.db.selectFrom('gateways').select('revoked_at').where('id', '=', id).executeTakeFirst();
    return !row || row.revoked_at !== null ? 'revoked' : 'superseded';
  }

  async endSession(id: string, epoch: number): Promise<void> {
    await this.db.updateTable('gateways').set({ disconnected_at: this.clock.now() }).where('id', '=', id).where('epoch', '=', epoch).execute();
  }

  async recordCertificate(id: string, epoch: number, serial: string, expiresAt: number): Promise<void> {
    await this.db.updateTable('gateways').set({ cert_serial: serial, cert_expires_at: expiresAt }).where('id', '=', id).where('epoch', '=', epoch).execute();
  }

  /** Revokes and publishes the event every relay process acts on within its poll interval. */
  async revoke(tenantId: string, id: string): Promise<GatewayTable> {
    const gateway = await this.get(tenantId, id);
    if (gateway.revoked_at !== null) return gateway;
    const now = this.clock.now();
    await this.db.transaction().execute(async (trx) => {
      await trx.updateTable('gateways').set({ revoked_at: now, disconnected_at: now }).where('id', '=', id).execute();
      await trx.updateTable('pairing_codes').set({ consumed_at: now }).where('gateway_id', '=', id).where('consumed_at', 'is', null).execute();
      await trx.insertInto('gateway_events').values({ gateway_id: id, kind: 'revoked', epoch: gateway.epoch, at: now }).execute();
    });
    return { ...gateway, revoked_at: now, disconnected_at: now };
  }

  /** vCenter metadata reported by the gateway over its tunnel: host, thumbprint, version, datacenters. */
  async recordVcenterInfo(gatewayId: string, info: { host: string; thumbprint: string | null; version: string; datacenters: string[] }): Promise<void> {
    const metadata = JSON.stringify({ vcenter: { ...info, reportedAt: new Date(this.clock.now()).toISOString() } });
    await this.db.updateTable('cloud_accounts').set({ metadata }).where('gateway_id', '=', gatewayId).execute();
  }

  listCloudAccounts(tenantId: string): Promise<CloudAccountTable[]> {
    return this.db.selectFrom('cloud_accounts').selectAll().where('tenant_id', '=', tenantId).orderBy('created_at').execute();
  }

  async getCloudAccount(tenantId: string, id: string): Promise<CloudAccountTable> {
    const row = await this.db.selectFrom('cloud_accounts').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
    if (!row) throw new PcgError('PCG_ERR_NOT_FOUND', `cloud account ${id} not found`);
    return row;
  }
}
