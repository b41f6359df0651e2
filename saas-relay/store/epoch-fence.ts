import type { Kysely } from 'kysely';
import { PcgError } from '../../proto/errors.js';
import type { RelayDatabase } from './schema.js';

/** What a write over a superseded session gets: nothing of it was stored. */
export const staleEpoch = (gatewayId: string, epoch: number): PcgError =>
  new PcgError('PCG_ERR_STALE_EPOCH', `session epoch ${epoch} of gateway ${gatewayId} is superseded; not stored`);

/**
 * Epoch fencing: counts only if `epoch` is the gateway's current session. The no-op UPDATE takes
 * the gateway row's lock, so a new session (beginSession bumps the epoch) cannot commit between
 * this check and the caller's commit: on PostgreSQL it waits, on SQLite the write lock is held.
 */
export async function fenceEpoch(trx: Kysely<RelayDatabase>, gatewayId: string, epoch: number): Promise<void> {
  const r = await trx.updateTable('gateways').set((eb) => ({ epoch: eb.ref('epoch') }))
    .where('id', '=', gatewayId).where('epoch', '=', epoch).executeTakeFirst();
  if (r.numUpdatedRows !== 1n) throw staleEpoch(gatewayId, epoch);
}

/** The key fenceEpochs returns a current session under. */
export const sessionKey = (gatewayId: string, epoch: number): string => `${gatewayId}:${epoch}`;

/**
 * fenceEpoch for many sessions in one statement; returns the `gateway:epoch` keys that are current.
 * Each current gateway row stays locked until the caller's transaction ends.
 */
export async function fenceEpochs(trx: Kysely<RelayDatabase>, sessions: ReadonlyArray<{ gatewayId: string; epoch: number }>): Promise<Set<string>> {
  const pairs = [...new Map(sessions.map((s) => [sessionKey(s.gatewayId, s.epoch), s])).values()];
  const fenced = await trx.updateTable('gateways').set((eb) => ({ epoch: eb.ref('epoch') }))
    .where((eb) => eb.or(pairs.map((p) => eb.and([eb('id', '=', p.gatewayId), eb('epoch', '=', p.epoch)]))))
    .returning(['id', 'epoch']).execute();
  return new Set(fenced.map((r) => sessionKey(r.id, r.epoch)));
}

