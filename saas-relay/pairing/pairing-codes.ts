import type { Kysely } from 'kysely';
import { PcgError } from '../../proto/errors.js';
import type { Clock } from '../../proto/clock.js';
import { formatPairingCode, generatePairingCode } from '../../proto/pairing-code.js';
import { Secret } from '../../proto/secret.js';
import type { SecretHasher } from '../security/secret-hasher.js';
import type { PairingCodeTable, RelayDatabase } from '../store/schema.js';

const PURPOSE = 'pairing-code';
export const MAX_PAIRING_FAILURES = 5;

export interface IssuedPairingCode {
  /** `XXXX-XXXX-XXXX-XXXX`, shown once. */
  readonly code: Secret<string>;
  readonly expiresAt: number;
}

/**
 * One-time pairing codes. At rest only the lookup id and a keyed hash of the secret. Checking a
 * code (before the handshake) never consumes it; `consume()` runs inside the pairing
 * transaction and is one conditional UPDATE, so of any number of racing redemptions exactly one
 * wins.
 */
export class PairingCodes {
  constructor(
    private readonly db: Kysely<RelayDatabase>,
    private readonly hasher: SecretHasher,
    private readonly clock: Clock,
    private readonly ttlMs: number,
  ) {}

  /** Issues a fresh code; earlier unused codes of the same gateway stop working. */
  async issue(tenantId: string, gatewayId: string): Promise<IssuedPairingCode> {
    const now = this.clock.now();
    for (let attempt = 0; ; attempt++) {
      const code = generatePairingCode();
      try {
        await this.db.transaction().execute(async (trx) => {
          await trx.deleteFrom('pairing_codes').where((eb) => eb.or([eb('gateway_id', '=', gatewayId), eb('expires_at', '<', now - 86_400_000)])).execute();
          await trx.insertInto('pairing_codes').values({
            code_id: code.id, gateway_id: gatewayId, tenant_id: tenantId, secret_hash: this.hasher.hash(PURPOSE, code.id, code.secret),
            expires_at: now + this.ttlMs, failures: 0, consumed_at: null, created_at: now,
          }).execute();
        });
        return { code: new Secret(formatPairingCode(code)), expiresAt: now + this.ttlMs };
      } catch (err) {
        // The 20-bit lookup id can collide with a live code: draw again, a few times at most.
        if (attempt >= 4) throw new PcgError('PCG_ERR_INTERNAL', 'could not allocate a unique pairing code', { cause: err });
      }
    }
  }

  /** Checks a code without consuming it; a wrong secret counts towards the lockout. */
  async check(codeId: string, secret: Secret<string>): Promise<PairingCodeTable> {
    const row = await this.db.selectFrom('pairing_codes').selectAll().where('code_id', '=', codeId).executeTakeFirst();
    if (!row) throw new PcgError('PCG_ERR_PAIR_CODE_INVALID', 'no such pairing code');
    this.#assertUsable(row);
    if (!this.hasher.matches(PURPOSE, codeId, secret.reveal(), row.secret_hash)) {
      await this.db.updateTable('pairing_codes').set((eb) => ({ failures: eb('failures', '+', 1) })).where('code_id', '=', codeId).execute();
      const left = MAX_PAIRING_FAILURES - row.failures - 1;
      if (left <= 0) throw new PcgError('PCG_ERR_PAIR_CODE_LOCKED', 'the pairing code is now locked after too many wrong attempts');
      throw new PcgError('PCG_ERR_PAIR_CODE_INVALID', `wrong pairing code (${left} attempt${left === 1 ? '' : 's'} left)`);
    }
    return row;
  }

  /** Atomically marks the code used; throws when another redemption won or it became unusable. */
  async consume(trx: Kysely<RelayDatabase>, codeId: string): Promise<void> {
    const now = this.clock.now();
    const result = await trx.updateTable('pairing_codes').set({ consumed_at: now })
      .where('code_id', '=', codeId).where('consumed_at', 'is', null).where('failures', '<', MAX_PAIRING_FAILURES).where('expires_at', '>', now)
      .executeTakeFirst();
    if (result.numUpdatedRows === 1n) return;
    const row = await trx.selectFrom('pairing_codes').selectAll().where('code_id', '=', codeId).executeTakeFirst();
    if (!row) throw new PcgError('PCG_ERR_PAIR_CODE_INVALID', 'no such pairing code');
    this.#assertUsable(row);
    throw new PcgError('PCG_ERR_PAIR_CODE_USED', 'the pairing code was already used');
  }

  #assertUsable(row: PairingCodeTable): void {
    if (row.consumed_at !== null) throw new PcgError('PCG_ERR_PAIR_CODE_USED', 'the pairing code was already used');
    if (row.failures >= MAX_PAIRING_FAILURES) throw new PcgError('PCG_ERR_PAIR_CODE_LOCKED', 'the pairing code is locked after too many wrong attempts');
    if (row.expires_at <= this.clock.now()) throw new PcgError('PCG_ERR_PAIR_CODE_EXPIRED', 'the pairing code has expired');
  }
}
