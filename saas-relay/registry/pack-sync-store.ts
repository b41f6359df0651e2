import type { Kysely, Transaction } from 'kysely';
import type { Clock } from '../../proto/clock.js';
import { packIndexDigest } from '../../proto/registry/pack-index-digest.js';
import type { PackIndexItem, RegistryIndexFrame } from '../../proto/schemas/frames.js';
import { fenceEpoch } from '../store/epoch-fence.js';
import type { GatewayPackSyncTable, GatewayPackTable, PackSyncStatus, RelayDatabase } from '../store/schema.js';

/** What `registry.index.ack` says: the generation stored, and whether a full report is needed. */
export interface PackIndexApplied {
  readonly generation: number;
  readonly resync: boolean;
}

/** A gateway pack as the API lists it. */
export interface GatewayPack {
  readonly name: string;
  readonly version: string;
  readonly digest: string;
  readonly layer: string;
  readonly cloudTypes: readonly string[];
}

/** A gateway's sync status as the API shows it. */
export interface PackSyncState {
  readonly status: PackSyncStatus;
  readonly message: string | null;
  readonly generation: number | null;
  readonly lastSyncedAt: number | null;
  readonly lastRunAt: number | null;
  readonly packs: number;
}

/** SQLite binds at most 32,766 parameters per statement; 7 a row. */
const INSERT_BATCH = 500;

/** Rolls the transaction back when the stored index does not match the gateway's digest. */
class DigestMismatch extends Error {
  constructor(readonly held: string, readonly reported: string) {
    super('pack index digest mismatch');
  }
}

/**
 * Each gateway's private pack index on the relay (`gateway_packs`) and its sync status
 * (`gateway_pack_sync`). A report applies in one transaction, fenced by the session epoch (a
 * superseded session stores nothing), and is verified by digest before it commits: a delta on
 * another generation than the stored one, or rows that do not hash to what the gateway reported,
 * change nothing, leave the status `pending`/`failed`, and ask the gateway for a full report.
 */
export class PackSyncStore {
  constructor(private readonly db: Kysely<RelayDatabase>, private readonly clock: Clock) {}

  async apply(gatewayId: string, epoch: number, frame: RegistryIndexFrame): Promise<PackIndexApplied> {
    const now = this.clock.now();
    try {
      return await this.db.transaction().execute(async (trx) => {
        // Locks the gateway row: a new session cannot commit its epoch between this check and ours.
        await fenceEpoch(trx, gatewayId, epoch);
        const sync = await trx.selectFrom('gateway_pack_sync').selectAll().where('gateway_id', '=', gatewayId).executeTakeFirst();
        if (frame.mode === 'delta' && sync?.generation !== frame.base_generation) {
          const held = sync?.generation ?? null;
          await upsertSync(trx, gatewayId, {
            status: 'pending', last_run_at: now,
            message: `a change on top of generation ${frame.base_generation} arrived, but generation ${held ?? 'none'} is stored; waiting for a full report`,
          });
          return { generation: held ?? 0, resync: true };
        }
        if (frame.mode === 'full') {
          await trx.deleteFrom('gateway_packs').where('gateway_id', '=', gatewayId).execute();
          await insertPacks(trx, gatewayId, frame.packs, now);
        } else {
          const gone = [...frame.removals, ...frame.upserts];
          for (const p of gone) {
            await trx.deleteFrom('gateway_packs').where('gateway_id', '=', gatewayId).where('name', '=', p.name).where('version', '=', p.version).execute();
          }
          await insertPacks(trx, gatewayId, frame.upserts, now);
        }
        const rows = await trx.selectFrom('gateway_packs').select(['name', 'version', 'digest']).where('gateway_id', '=', gatewayId).execute();
        const held = packIndexDigest(rows);
        if (held !== frame.index_digest) throw new DigestMismatch(held, frame.index_digest);
        await upsertSync(trx, gatewayId, { generation: frame.generation, status: 'ok', message: null, last_synced_at: now, last_run_at: now });
        return { generation: frame.generation, resync: false };
      });
    } catch (err) {
      if (!(err instanceof DigestMismatch)) throw err;
      // Nothing of the report was kept: the rows are those of the last verified generation.
      await upsertSync(this.db, gatewayId, {
        status: 'failed', last_run_at: now,
        message: `generation ${frame.generation} did not verify: the relay would hold ${err.held}, the gateway reported ${err.reported}; a full report is requested`,
      });
      const sync = await this.db.selectFrom('gateway_pack_sync').select('generation').where('gateway_id', '=', gatewayId).executeTakeFirst();
      return { generation: sync?.generation ?? 0, resync: true };
    }
  }

  /** A sync was asked for ("sync now") or could not run; the status says so until a report applies. */
  async mark(gatewayId: string, status: Exclude<PackSyncStatus, 'ok'>, message: string): Promise<void> {
    await upsertSync(this.db, gatewayId, { status, message, last_run_at: this.clock.now() });
  }

  /** The gateway's packs in (name, version) order; the caller has checked the gateway is the tenant's. */
  async list(gatewayId: string, filter: { readonly name?: string; readonly layer?: string } = {}): Promise<GatewayPack[]> {
    let query = this.db.selectFrom('gateway_packs').selectAll().where('gateway_id', '=', gatewayId);
    if (filter.name !== undefined) query = query.where('name', '=', filter.name);
    if (filter.layer !== undefined) query = query.where('layer', '=', filter.layer);
    const rows = await query.orderBy('name').orderBy('version').execute();
    return rows.map((r) => ({ name: r.name, version: r.version, digest: r.digest, layer: r.layer, cloudTypes: JSON.parse(r.cloud_types) as string[] }));
  }

  /** Never synced: `pending` with no times. */
  async state(gatewayId: string): Promise<PackSyncState> {
    const row = await this.db.selectFrom('gateway_pack_sync').selectAll().where('gateway_id', '=', gatewayId).executeTakeFirst();
    const count = await this.db.selectFrom('gateway_packs').select((eb) => eb.fn.countAll<number | string>().as('n')).where('gateway_id', '=', gatewayId).executeTakeFirstOrThrow();
    return {
      status: row?.status ?? 'pending', message: row?.message ?? (row ? null : 'the gateway has not reported its pack index yet'),
      generation: row?.generation ?? null, lastSyncedAt: row?.last_synced_at ?? null, lastRunAt: row?.last_run_at ?? null, packs: Number(count.n),
    };
  }
}

async function insertPacks(trx: Transaction<RelayDatabase>, gatewayId: string, packs: readonly PackIndexItem[], now: number): Promise<void> {
  const rows: GatewayPackTable[] = packs.map((p) => ({
    gateway_id: gatewayId, name: p.name, version: p.version, digest: p.digest, layer: p.layer, cloud_types: JSON.stringify(p.cloud_types), updated_at: now,
  }));
  for (let i = 0; i < rows.length; i += INSERT_BATCH) await trx.insertInto('gateway_packs').values(rows.slice(i, i + INSERT_BATCH)).execute();
}

async function upsertSync(db: Kysely<RelayDatabase>, gatewayId: string, change: Partial<Omit<GatewayPackSyncTable, 'gateway_id'>> & { status: PackSyncStatus }): Promise<void> {
  const row: GatewayPackSyncTable = {
    gateway_id: gatewayId, generation: null, message: null, last_synced_at: null, last_run_at: null, ...change,
  };
  await db.insertInto('gateway_pack_sync').values(row)
    .onConflict((oc) => oc.column('gateway_id').doUpdateSet(change))
    .execute();
}
