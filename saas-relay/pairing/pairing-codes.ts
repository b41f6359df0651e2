import { randomBytes, timingSafeEqual } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { PcgError } from '../../proto/errors.js';
import type { Clock } from '../../proto/clock.js';
import { formatPairingCode, generatePairingCode } from '../../proto/pairing-code.js';
import { Secret } from '../../proto/secret.js';
import type { SecretHasher } from '../security/secret-hasher.js';
import type { PairingCodeTable, RelayDatabase } from '../store/schema.js';

const PURPOSE = 'pairing-code';
/** Wrong guesses of one code that are ever compared; after them the code is dead. */
export const MAX_PAIRING_FAILURES = 5;

export interface IssuedPairingCode {
  /** `XXXX-XXXX-XXXX-XXXX`, shown once. */
  readonly code: Secret<string>;
  readonly expiresAt: number;
}

/** What the portal may show a tenant admin about a gateway's current code (never to a pairing caller). */
export type PairingCodeState = 'active' | 'used' | 'expired' | 'locked';

export interface PairingCodeStatus {
  readonly state: PairingCodeState;
  readonly expiresAt: number;
  readonly failedAttempts: number;
}

/**
 * The one answer to a caller who has not proven the code's secret: unknown, live, used, expired
 * and locked ids all get it, with the same code, close code and message, so a guess tells
 * nothing about the id it named.
 */
export function pairingCodeRefused(): PcgError {
  return new PcgError('PCG_ERR_PAIR_CODE_INVALID');
}

/**
 * One-time pairing codes. At rest only the lookup id and a keyed hash of the secret.
 *
 * Checking a guess is ONE conditional UPDATE that compares the presented hash with the stored one
 * and counts a mismatch in the same statement, on rows with fewer than MAX_PAIRING_FAILURES
 * failures only. The count is never read, compared and written in separate steps, so on
 * PostgreSQL (row lock, WHERE re-checked on the new row version) and on SQLite (one writer), on
 * one relay or many, at most MAX_PAIRING_FAILURES wrong guesses of a code are ever compared. A
 * right secret adds nothing, so racing right redemptions never use up guesses (no slot to give
 * back, nothing leaked by a crash in between). The database compares two HMACs under a key it
 * does not hold; how long that takes tells nothing about the secret.
 *
 * Locked is not a state a guesser can see: once the guesses are used the row no longer matches
 * and the presented hash is compared with a dummy, exactly as for an unknown id, so the answer
 * is the one refusal — also to the right secret, which is never compared again. Telling LOCKED
 * to anyone would need that comparison. The tenant admin sees the state in the portal
 * (`status()`), and the refusal's message says to issue a new code.
 *
 * `consume()` runs inside the pairing transaction and is one conditional UPDATE, so of any number
 * of racing redemptions exactly one wins.
 */
export class PairingCodes {
  /** Compared with when no row matched, so unknown and locked ids cost what live ones do. */
  readonly #dummyHash = randomBytes(32);

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

  /**
   * Checks a guess without consuming the code. Without the right secret: always
   * `pairingCodeRefused()`. With it: the row, or USED / EXPIRED, which only the secret's holder
   * learns.
   */
  async check(codeId: string, secret: Secret<string>): Promise<PairingCodeTable> {
    const presented = this.hasher.hash(PURPOSE, codeId, secret.reveal());
    // Same statement for every id; it matches no row when the id is unknown or its guesses are used.
    const row = await this.db.updateTable('pairing_codes')
      .set({ failures: sql<number>`failures + case when secret_hash = ${presented} then 0 else 1 end` })
      .where('code_id', '=', codeId).where('failures', '<', MAX_PAIRING_FAILURES)
      .returningAll()
      .executeTakeFirst();
    const proven = timingSafeEqual(Buffer.from(presented, 'hex'), row ? Buffer.from(row.secret_hash, 'hex') : this.#dummyHash);
    if (!row || !proven) throw pairingCodeRefused();
    if (row.consumed_at !== null) throw new PcgError('PCG_ERR_PAIR_CODE_USED', 'the pairing code was already used');
    if (row.expires_at <= this.clock.now()) throw new PcgError('PCG_ERR_PAIR_CODE_EXPIRED', 'the pairing code has expired');
    return row;
  }

  /**
   * Atomically marks the code used; throws when another redemption won or it expired. Only called
   * after `check()` proved the secret (and the gateway signed the transcript), so the state may be
   * told. Wrong guesses that land between check and consume do not stop it: the proof came
   * within the guesses allowed.
   */
  async consume(trx: Kysely<RelayDatabase>, codeId: string): Promise<void> {
    const now = this.clock.now();
    const result = await trx.updateTable('pairing_codes').set({ consumed_at: now })
      .where('code_id', '=', codeId).where('consumed_at', 'is', null).where('expires_at', '>', now)
      .executeTakeFirst();
    if (result.numUpdatedRows === 1n) return;
    const row = await trx.selectFrom('pairing_codes').select(['consumed_at', 'expires_at']).where('code_id', '=', codeId).executeTakeFirst();
    if (!row) throw pairingCodeRefused(); // replaced by a fresh code meanwhile
    if (row.consumed_at !== null) throw new PcgError('PCG_ERR_PAIR_CODE_USED', 'the pairing code was already used');
    throw new PcgError('PCG_ERR_PAIR_CODE_EXPIRED', 'the pairing code has expired');
  }

  /** The state of a gateway's current code, for its tenant admin; undefined when it has none. */
  async status(tenantId: string, gatewayId: string): Promise<PairingCodeStatus | undefined> {
    const row = await this.db.selectFrom('pairing_codes').select(['consumed_at', 'expires_at', 'failures'])
      .where('tenant_id', '=', tenantId).where('gateway_id', '=', gatewayId).executeTakeFirst();
    if (!row) return undefined;
    const state: PairingCodeState = row.consumed_at !== null ? 'used'
      : row.failures >= MAX_PAIRING_FAILURES ? 'locked'
        : row.expires_at <= this.clock.now() ? 'expired' : 'active';
    return { state, expiresAt: row.expires_at, failedAttempts: row.failures };
  }
}
