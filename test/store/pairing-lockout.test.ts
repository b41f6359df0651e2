import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { sql } from 'kysely';
import { ManualClock } from '../../proto/clock.js';
import { PcgError } from '../../proto/errors.js';
import { parsePairingCode, type PairingCode } from '../../proto/pairing-code.js';
import { Secret } from '../../proto/secret.js';
import { MAX_PAIRING_FAILURES, PairingCodes } from '../../saas-relay/pairing/pairing-codes.js';
import { SecretHasher } from '../../saas-relay/security/secret-hasher.js';
import { openDatabase, type Database } from '../../saas-relay/store/database.js';
import { GatewayStore } from '../../saas-relay/store/gateway-store.js';
import { TenancyStore } from '../../saas-relay/store/tenancy-store.js';
import { PostgresServer } from '../support/postgres-fixture.js';
import { tempDir } from '../support/temp-dir.js';

const TTL = 15 * 60_000;

/** A secret that differs from `secret` in its first character only. */
const wrongSecret = (secret: string): Secret<string> => new Secret(`${secret.startsWith('0') ? '1' : '0'}${secret.slice(1)}`);

/** What a caller sees of a refusal: code and message (the close code follows from the code). */
async function answer(check: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await check;
    return { code: 'accepted', message: '' };
  } catch (err) {
    assert.ok(err instanceof PcgError, `expected PcgError, got ${String(err)}`);
    return { code: err.code, message: err.message };
  }
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/**
 * Issue 7, points 1-3 at the store: a wrong secret tells nothing about the id, and at most
 * MAX_PAIRING_FAILURES wrong guesses of one code are ever compared, however many arrive at
 * once and on however many relays.
 */
function lockoutSuite(engine: 'sqlite' | 'postgres', open: () => Promise<{ targets: [string, string]; cleanup: () => Promise<void> | void }>): void {
  describe(`pairing code lockout and answers on ${engine}`, function () {
    this.timeout(120_000);
    let databases: Database[];
    let cleanup: () => Promise<void> | void;
    let clock: ManualClock;
    /** Two relays' views of one store (two pools / two connections). */
    let relayA: PairingCodes;
    let relayB: PairingCodes;
    let gateways: GatewayStore;
    let tenantId: string;
    const hasher = new SecretHasher(randomBytes(32));

    beforeEach(async () => {
      const opened = await open();
      cleanup = opened.cleanup;
      databases = [await openDatabase(opened.targets[0]), await openDatabase(opened.targets[1])];
      clock = new ManualClock();
      relayA = new PairingCodes(databases[0]!.db, hasher, clock, TTL);
      relayB = new PairingCodes(databases[1]!.db, hasher, clock, TTL);
      gateways = new GatewayStore(databases[0]!.db, clock);
      tenantId = (await new TenancyStore(databases[0]!.db, hasher, clock).createTenant('acme')).tenantId;
    });
    afterEach(async () => {
      for (const d of databases) await d.close();
      await cleanup();
    });

    const newCode = async (): Promise<PairingCode> => {
      const gateway = await gateways.create(tenantId, `dc-${randomBytes(4).toString('hex')}`);
      return parsePairingCode((await relayA.issue(tenantId, gateway.id)).code.reveal());
    };
    /** Read with our own SQL, not through the class under test. */
    const failuresOf = async (codeId: string): Promise<number> => {
      const { rows } = await sql<{ failures: number }>`select failures from pairing_codes where code_id = ${codeId}`.execute(databases[0]!.db);
      return Number(rows[0]!.failures);
    };

    for (const [guesses, relays] of [[40, 1], [200, 1], [200, 2]] as const) {
      it(`${guesses} wrong guesses at once${relays === 2 ? ' through two relays' : ''}: exactly ${MAX_PAIRING_FAILURES} are compared, then the right secret fails too`, async () => {
        const code = await newCode();
        const wrong = wrongSecret(code.secret);
        const answers = await Promise.all(Array.from({ length: guesses }, (_, i) => answer((i % relays === 0 ? relayA : relayB).check(code.id, wrong))));
        assert.equal(await failuresOf(code.id), MAX_PAIRING_FAILURES);
        assert.deepEqual([...new Set(answers.map((a) => a.code))], ['PCG_ERR_PAIR_CODE_INVALID']);
        const right = await answer(relayB.check(code.id, new Secret(code.secret)));
        assert.equal(right.code, 'PCG_ERR_PAIR_CODE_INVALID', 'a locked code answers like an unknown one, even to the right secret');
        assert.equal(await failuresOf(code.id), MAX_PAIRING_FAILURES);
      });
    }

    it('right secrets racing do not use up guesses: 50 checks at once all pass, the count stays 0', async () => {
      const code = await newCode();
      const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => answer((i % 2 ? relayA : relayB).check(code.id, new Secret(code.secret)))));
      assert.deepEqual([...new Set(answers.map((a) => a.code))], ['accepted']);
      assert.equal(await failuresOf(code.id), 0);
    });

    it('without the secret, unknown, live, used, expired and locked ids answer alike; with it, the state is told', async () => {
      const live = await newCode();
      const used = await newCode();
      await databases[0]!.db.transaction().execute((trx) => relayA.consume(trx, used.id));
      const locked = await newCode();
      for (let i = 0; i < MAX_PAIRING_FAILURES; i++) await answer(relayA.check(locked.id, wrongSecret(locked.secret)));
      const expired = await newCode();
      await sql`update pairing_codes set expires_at = ${clock.now() - 1} where code_id = ${expired.id}`.execute(databases[0]!.db);
      const taken = new Set([live.id, used.id, locked.id, expired.id]);
      const unknownId = ['ZZZZ', 'ZZZY', 'ZZZX', 'ZZZW', 'ZZZV'].find((id) => !taken.has(id))!;

      const wrong = {
        unknown: await answer(relayA.check(unknownId, new Secret('0123456789AB'))),
        live: await answer(relayA.check(live.id, wrongSecret(live.secret))),
        used: await answer(relayA.check(used.id, wrongSecret(used.secret))),
        expired: await answer(relayA.check(expired.id, wrongSecret(expired.secret))),
        locked: await answer(relayA.check(locked.id, wrongSecret(locked.secret))),
        lockedRightSecret: await answer(relayA.check(locked.id, new Secret(locked.secret))),
      };
      for (const [state, got] of Object.entries(wrong)) assert.deepEqual(got, wrong.unknown, `${state} differs from unknown`);
      assert.equal(wrong.unknown.code, 'PCG_ERR_PAIR_CODE_INVALID');
      assert.match(wrong.unknown.message, /wrong, expired, used or locked/);
      assert.match(wrong.unknown.message, /issue a new one in the portal/);

      assert.equal((await answer(relayA.check(used.id, new Secret(used.secret)))).code, 'PCG_ERR_PAIR_CODE_USED');
      assert.equal((await answer(relayA.check(expired.id, new Secret(expired.secret)))).code, 'PCG_ERR_PAIR_CODE_EXPIRED');
      assert.equal((await answer(relayA.check(live.id, new Secret(live.secret)))).code, 'accepted');
    });

    it('an unknown id costs what a live one does (medians within 2x)', async () => {
      const live: PairingCode[] = [];
      for (let i = 0; i < 40; i++) live.push(await newCode());
      const time = async (run: () => Promise<unknown>): Promise<number> => {
        const started = process.hrtime.bigint();
        await answer(run());
        return Number(process.hrtime.bigint() - started) / 1e6;
      };
      const unknown: number[] = [];
      const liveWrong: number[] = [];
      // Interleaved, so background noise falls on both alike; 4 guesses a code keeps each one live.
      for (let round = 0; round < 4; round++) {
        for (const code of live) {
          unknown.push(await time(() => relayA.check(code.id === 'ZZZZ' ? 'ZZZY' : 'ZZZZ', wrongSecret(code.secret))));
          liveWrong.push(await time(() => relayA.check(code.id, wrongSecret(code.secret))));
        }
      }
      const [u, l] = [median(unknown), median(liveWrong)];
      process.stdout.write(`      ${engine}: median check unknown ${u.toFixed(3)} ms, live-wrong ${l.toFixed(3)} ms\n`);
      assert.ok(Math.max(u, l) <= 2 * Math.min(u, l), `unknown ${u} ms vs live ${l} ms`);
    });
  });
}

lockoutSuite('sqlite', () => {
  const dir = tempDir('pairing-lockout');
  const file = join(dir.path, 'relay.db');
  return Promise.resolve({ targets: [file, file], cleanup: () => dir.remove() });
});

describe('on PostgreSQL', function () {
  this.timeout(120_000);
  let server: PostgresServer;
  let n = 0;
  before(async () => {
    server = await PostgresServer.start();
  });
  after(async () => {
    await server?.stop();
  });
  lockoutSuite('postgres', async () => {
    const url = await server.createDatabase(`lockout_${n++}`);
    return { targets: [url, url], cleanup: () => undefined };
  });
});
