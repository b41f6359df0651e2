import { sql, type Kysely, type Transaction } from 'kysely';
import { DEFAULT_PACK_LIST_LIMIT, MAX_PACK_LIST_LIMIT, type PackListQuery } from '../../proto/registry/pack-index.js';
import type { Clock } from '../../proto/clock.js';
import { PcgError } from '../../proto/errors.js';
import { packIndexDigest } from '../../proto/registry/pack-index-digest.js';
import { decodePackCursor, encodePackCursor } from '../../proto/registry/pack-list-cursor.js';
import { versionSortKey } from '../../proto/registry/pack-tags.js';
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
  /** sha256 over what the relay holds (pack-index-digest.ts): after an ok sync, the gateway's index digest. */
  readonly indexDigest: string;
}

/** The listing's filters and page: the public listing's own (proto/registry/pack-index.ts), so both sources page alike. */
export type GatewayPackQuery = PackListQuery;

export interface GatewayPackPage {
  readonly items: readonly GatewayPack[];
  /** Pass as `cursor` for the next page; null on the last page. */
  readonly nextCursor: string | null;
}

export { DEFAULT_PACK_LIST_LIMIT as DEFAULT_GATEWAY_PACK_LIMIT, MAX_PACK_LIST_LIMIT as MAX_GATEWAY_PACK_LIMIT };

/** SQLite binds at most 32,766 parameters per statement; 8 a row. */
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
  private readonly db: Kysely<RelayDatabase>;

  constructor(db: Kysely<RelayDatabase>, private readonly clock: Clock) {
    this.db = db;
  }

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

  /** The generation stored for the gateway; 0 before its first report. */
  async storedGeneration(gatewayId: string): Promise<number> {
    const row = await this.db.selectFrom('gateway_pack_sync').select('generation').where('gateway_id', '=', gatewayId).executeTakeFirst();
    return row?.generation ?? 0;
  }

  /**
   * One page of the gateway's packs in the public listing's order (name, then semver) and with its
   * cursor: keyset on (name, version_key), so pages hold still while reports change the index.
   * The caller has checked the gateway is the tenant's.
   */
  async list(gatewayId: string, query: GatewayPackQuery = {}): Promise<GatewayPackPage> {
    const limit = query.limit ?? DEFAULT_PACK_LIST_LIMIT;
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_PACK_LIST_LIMIT) throw new PcgError('PCG_ERR_BAD_REQUEST', `limit must be 1 to ${MAX_PACK_LIST_LIMIT}`);
    let select = this.db.selectFrom('gateway_packs').selectAll().where('gateway_id', '=', gatewayId);
    if (query.name !== undefined) select = select.where('name', '=', query.name);
    if (query.layer !== undefined) select = select.where('layer', '=', query.layer);
    if (query.cloudType !== undefined) {
      // cloud_types is a JSON array of strings on both engines: match the quoted value, wildcards escaped.
      const quoted = (value: string): string => `%${JSON.stringify(value).replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      select = select.where((eb) => eb.or([
        eb(sql`cloud_types`, 'like', sql`${quoted(query.cloudType!)} escape '\\'`),
        eb(sql`cloud_types`, 'like', sql`${quoted('all')} escape '\\'`),
      ]));
    }
    if (query.cursor !== undefined) {
      const [name, key] = decodePackCursor(query.cursor);
      select = select.where((eb) => eb.or([eb('name', '>', name), eb.and([eb('name', '=', name), eb('version_key', '>', key)])]));
    }
    const rows = await select.orderBy('name').orderBy('version_key').limit(limit + 1).execute();
    const more = rows.length > limit;
    const page = more ? rows.slice(0, limit) : rows;
    const last = page[page.length - 1];
    return {
      items: page.map((r) => ({ name: r.name, version: r.version, digest: r.digest, layer: r.layer, cloudTypes: JSON.parse(r.cloud_types) as string[] })),
      nextCursor: more && last ? encodePackCursor(last.name, last.version_key) : null,
    };
  }

  /** Never synced: `pending` with no times. */
  async state(gatewayId: string): Promise<PackSyncState> {
    const row = await this.db.selectFrom('gateway_pack_sync').selectAll().where('gateway_id', '=', gatewayId).executeTakeFirst();
    const held = await this.db.selectFrom('gateway_packs').select(['name', 'version', 'digest']).where('gateway_id', '=', gatewayId).execute();
    return {
      status: row?.status ?? 'pending', message: row?.message ?? (row ? null : 'the gateway has not reported its pack index yet'),
      generation: row?.generation ?? null, lastSyncedAt: row?.last_synced_at ?? null, lastRunAt: row?.last_run_at ?? null, packs: held.length,
      indexDigest: packIndexDigest(held),
    };
  }
}

async function insertPacks(trx: Transaction<RelayDatabase>, gatewayId: string, packs: readonly PackIndexItem[], now: number): Promise<void> {
  const rows: GatewayPackTable[] = packs.map((p) => ({
    gateway_id: gatewayId, name: p.name, version: p.version, version_key: versionSortKey(p.version), digest: p.digest, layer: p.layer,
    cloud_types: JSON.stringify(p.cloud_types), updated_at: now,
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
