import type { Kysely } from 'kysely';
import type { Clock } from '../../proto/clock.js';
import { newId } from './ids.js';
import type { RelayDatabase, TunnelReplyTable, TunnelRequestTable } from './schema.js';

export type TunnelReply = Omit<TunnelReplyTable, 'id'> & { id: number };

/** Rows of routed requests and their replies (see tunnel/gateway-calls.ts for the protocol between relays). */
export class TunnelRequestStore {
  constructor(private readonly db: Kysely<RelayDatabase>, private readonly clock: Clock) {}

  async create(request: Pick<TunnelRequestTable, 'gateway_id' | 'relay_id' | 'operation' | 'args' | 'deadline_at'>): Promise<string> {
    const id = newId('req');
    await this.db.insertInto('tunnel_requests').values({ ...request, id, created_at: this.clock.now(), claimed_at: null, finished_at: null }).execute();
    return id;
  }

  /** Unclaimed, live requests addressed to `relayId`, oldest first. */
  pendingFor(relayId: string, limit = 100): Promise<TunnelRequestTable[]> {
    return this.db.selectFrom('tunnel_requests').selectAll()
      .where('relay_id', '=', relayId).where('claimed_at', 'is', null).where('deadline_at', '>', this.clock.now())
      .orderBy('created_at').limit(limit).execute();
  }

  /**
   * Atomic claim: of all relays polling and woken, exactly one runs a request, and never one the
   * asker gave up (withdraw) or whose deadline passed.
   */
  async claim(id: string): Promise<boolean> {
    const now = this.clock.now();
    const result = await this.db.updateTable('tunnel_requests').set({ claimed_at: now })
      .where('id', '=', id).where('claimed_at', 'is', null).where('finished_at', 'is', null).where('deadline_at', '>', now)
      .executeTakeFirst();
    return result.numUpdatedRows === 1n;
  }

  /**
   * The asker takes its request back, as one atomic step that races claim(): true when it was
   * still unclaimed (nobody will run it now), false when a relay claimed it first (its answer comes).
   */
  async withdraw(id: string): Promise<boolean> {
    const now = this.clock.now();
    const result = await this.db.updateTable('tunnel_requests').set({ claimed_at: now, finished_at: now })
      .where('id', '=', id).where('claimed_at', 'is', null).executeTakeFirst();
    return result.numUpdatedRows === 1n;
  }

  async addReply(requestId: string, final: boolean, body: string): Promise<void> {
    const now = this.clock.now();
    if (!final) {
      await this.db.insertInto('tunnel_replies').values({ request_id: requestId, final: 0, body, at: now }).execute();
      return;
    }
    await this.db.transaction().execute(async (trx) => {
      await trx.insertInto('tunnel_replies').values({ request_id: requestId, final: 1, body, at: now }).execute();
      await trx.updateTable('tunnel_requests').set({ finished_at: now }).where('id', '=', requestId).execute();
    });
  }

  async repliesAfter(requestId: string, afterId: number): Promise<TunnelReply[]> {
    const rows = await this.db.selectFrom('tunnel_replies').selectAll().where('request_id', '=', requestId).where('id', '>', afterId).orderBy('id').execute();
    return rows.map((r) => ({ ...r, id: Number(r.id) }));
  }

  /** Requests past their deadline by `graceMs`, and their replies, are of no use to anyone. */
  async prune(graceMs = 60_000): Promise<void> {
    const before = this.clock.now() - graceMs;
    await this.db.deleteFrom('tunnel_replies').where('at', '<', before).execute();
    await this.db.deleteFrom('tunnel_requests').where('deadline_at', '<', before).execute();
  }
}
