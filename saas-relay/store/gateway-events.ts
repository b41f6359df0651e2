import type { Kysely } from 'kysely';
import type { Clock } from '../../proto/clock.js';
import type { GatewayEventTable, RelayDatabase } from './schema.js';

export type GatewayEvent = Omit<GatewayEventTable, 'id'> & { id: number };

/** Reads the change feed that carries revocations and supersedes across relay processes. */
export class GatewayEvents {
  constructor(private readonly db: Kysely<RelayDatabase>, private readonly clock: Clock) {}

  async latestId(): Promise<number> {
    const row = await this.db.selectFrom('gateway_events').select((eb) => eb.fn.max('id').as('id')).executeTakeFirst();
    return Number(row?.id ?? 0);
  }

  async since(afterId: number, limit = 5000): Promise<GatewayEvent[]> {
    const rows = await this.db.selectFrom('gateway_events').selectAll().where('id', '>', afterId).orderBy('id').limit(limit).execute();
    return rows.map((r) => ({ ...r, id: Number(r.id) }));
  }

  /** Events only need to outlive every relay's poll interval; keep a generous minute. */
  async prune(olderThanMs = 60_000): Promise<void> {
    await this.db.deleteFrom('gateway_events').where('at', '<', this.clock.now() - olderThanMs).execute();
  }
}
