import { strict as assert } from 'node:assert';
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import Sqlite from 'better-sqlite3';
import pg from 'pg';
import { ApiClient } from '../support/api-client.js';
import { createGateway, pairCli } from '../support/gateway-fixture.js';
import { pairMessage, probeTunnel, type ProbeResult } from '../support/pair-probe.js';
import { PostgresServer } from '../support/postgres-fixture.js';
import { RelayProcess } from '../support/relay-fixture.js';
import { tempDir } from '../support/temp-dir.js';
import { sleep } from '../support/wait-for.js';

/** These tests guess on purpose, far beyond the per-address limit (tested in rate-limit.test.ts). */
const NO_LIMITS = ['--pairing-attempts-per-minute', '100000'];

/** The same code with its first secret character changed. */
const wrongOf = (code: string): string => `${code.slice(0, 5)}${code[5] === '0' ? '1' : '0'}${code.slice(6)}`;
const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
/** What a caller can tell apart: reply type, code, message, close code. */
const seen = (r: ProbeResult) => ({ type: r.reply.type, code: r.reply.code, message: r.reply.message, close: r.close.code });

describe('pairing answers over the tunnel (issue 7, points 1-3)', function () {
  this.timeout(120_000);
  const dirs: Array<{ path: string; remove: () => void }> = [];
  const stateDir = (): string => {
    const dir = tempDir('gw');
    dirs.push(dir);
    return join(dir.path, 'state');
  };
  let relay: RelayProcess;
  let api: ApiClient;
  let shortRelay: RelayProcess;
  let shortApi: ApiClient;
  const probe = (on: RelayProcess, code: string): Promise<ProbeResult> => probeTunnel(on.tunnelUrl, on.caCert, pairMessage(code));

  before(async () => {
    relay = await RelayProcess.start({ args: NO_LIMITS });
    api = new ApiClient(relay.url, relay.caCert, (await relay.createTenant('answers')).apiKey);
    shortRelay = await RelayProcess.start({ args: [...NO_LIMITS, '--pairing-code-ttl', '1s'] });
    shortApi = new ApiClient(shortRelay.url, shortRelay.caCert, (await shortRelay.createTenant('expiry')).apiKey);
  });
  after(async () => {
    await relay?.stop();
    await shortRelay?.stop();
    for (const d of dirs) d.remove();
  });

  it('without the secret, unknown, live, used, expired and locked ids get one answer: code, message and close code', async () => {
    const live = (await createGateway(api, 'dc-live')).pairingCode;
    const used = (await createGateway(api, 'dc-used')).pairingCode;
    assert.equal((await pairCli(relay, stateDir(), used)).code, 0);
    const locked = (await createGateway(api, 'dc-locked')).pairingCode;
    for (let i = 0; i < 5; i++) await probe(relay, wrongOf(locked));
    const expired = (await createGateway(shortApi, 'dc-expired')).pairingCode;
    await sleep(1200);
    const taken = new Set([live, used, locked].map((c) => c.slice(0, 4)));
    const unknownId = ['ZZZZ', 'ZZZY', 'ZZZX', 'ZZZW'].find((id) => !taken.has(id))!;

    const answers = {
      unknown: seen(await probe(relay, `${unknownId}-0000-0000-0000`)),
      live: seen(await probe(relay, wrongOf(live))),
      used: seen(await probe(relay, wrongOf(used))),
      locked: seen(await probe(relay, wrongOf(locked))),
      lockedWithTheRightSecret: seen(await probe(relay, locked)),
      expired: seen(await probe(shortRelay, wrongOf(expired))),
      unknownOnTheOtherRelay: seen(await probe(shortRelay, `${unknownId}-0000-0000-0000`)),
    };
    assert.deepEqual(answers.unknown, {
      type: 'reject', code: 'PCG_ERR_PAIR_CODE_INVALID', close: 4411,
      message: 'The pairing code may be wrong, expired, used or locked; copy it again, or issue a new one in the portal.',
    });
    for (const [state, answer] of Object.entries(answers)) assert.deepEqual(answer, answers.unknown, state);

    // The state is told to the holder of the secret only.
    assert.deepEqual([seen(await probe(relay, used)).code, seen(await probe(relay, used)).close], ['PCG_ERR_PAIR_CODE_USED', 4413]);
    assert.deepEqual([seen(await probe(shortRelay, expired)).code, seen(await probe(shortRelay, expired)).close], ['PCG_ERR_PAIR_CODE_EXPIRED', 4412]);
    assert.equal(seen(await probe(relay, live)).type, 'challenge');

    // The tenant admin sees what the guesser does not.
    const states = async (client: ApiClient, name: string) => {
      const gateway = (await client.get<Array<{ id: string; name: string }>>('/v1/gateways')).body.find((g) => g.name === name)!;
      const one = await client.get<{ pairingCode: { state: string; failedAttempts: number; expiresAt: string } | null }>(`/v1/gateways/${gateway.id}`);
      return one.body.pairingCode;
    };
    const lockedState = await states(api, 'dc-locked');
    assert.deepEqual(lockedState, { state: 'locked', failedAttempts: 5, expiresAt: lockedState!.expiresAt });
    assert.match(lockedState.expiresAt, /^\d{4}-\d\d-\d\dT/);
    assert.equal((await states(api, 'dc-used'))?.state, 'used');
    assert.equal((await states(api, 'dc-live'))?.state, 'active');
    assert.equal((await states(shortApi, 'dc-expired'))?.state, 'expired');
  });

  it('an unknown id takes as long as a live one to refuse (medians of 40, within 2x)', async () => {
    const unknown: number[] = [];
    const liveWrong: number[] = [];
    for (let round = 0; round < 10; round++) {
      const live = (await createGateway(api, `dc-timing-${round}`)).pairingCode;
      // Four guesses a code keep it live; interleaved so noise falls on both alike.
      for (let i = 0; i < 4; i++) {
        unknown.push((await probe(relay, `ZZZZ-${live.slice(5)}`)).ms);
        liveWrong.push((await probe(relay, wrongOf(live))).ms);
      }
    }
    const [u, l] = [median(unknown), median(liveWrong)];
    process.stdout.write(`      median time to refusal: unknown id ${u.toFixed(2)} ms, live id ${l.toFixed(2)} ms\n`);
    assert.ok(Math.max(u, l) <= 2 * Math.min(u, l), `unknown ${u} ms vs live ${l} ms`);
  });

  it('40 wrong guesses at once on SQLite: 5 are compared, the right secret then fails', async () => {
    const gw = await createGateway(api, 'dc-flood');
    const answers = await Promise.all(Array.from({ length: 40 }, () => probe(relay, wrongOf(gw.pairingCode))));
    assert.deepEqual([...new Set(answers.map((a) => a.reply.code))], ['PCG_ERR_PAIR_CODE_INVALID']);
    const db = new Sqlite(join(relay.dataDir, 'relay.db'), { readonly: true });
    try {
      const row = db.prepare('select failures from pairing_codes where code_id = ?').get(gw.pairingCode.slice(0, 4)) as { failures: number };
      assert.equal(row.failures, 5);
    } finally {
      db.close();
    }
    assert.equal((await probe(relay, gw.pairingCode)).reply.code, 'PCG_ERR_PAIR_CODE_INVALID');
    const out = await pairCli(relay, stateDir(), gw.pairingCode);
    assert.match(out.stderr, /^PCG_ERR_PAIR_CODE_INVALID: /);
  });

  describe('two relay processes on one PostgreSQL', () => {
    let postgres: PostgresServer;
    let url: string;
    let relayA: RelayProcess;
    let relayB: RelayProcess;
    let apiA: ApiClient;
    const dir = tempDir('pairing-pg');

    before(async () => {
      postgres = await PostgresServer.start();
      url = await postgres.createDatabase('pcg_pairing');
      const dataA = join(dir.path, 'relay-a');
      relayA = await RelayProcess.start({ dataDir: dataA, args: [...NO_LIMITS, '--database-url', url] });
      const dataB = join(dir.path, 'relay-b');
      cpSync(dataA, dataB, { recursive: true, filter: (src) => !src.includes('relay.db') });
      relayB = await RelayProcess.start({ dataDir: dataB, args: [...NO_LIMITS, '--database-url', url] });
      const { runCli, RELAY_CLI } = await import('../support/child.js');
      const out = await runCli(RELAY_CLI, ['admin', 'create-tenant', '--data-dir', dataA, '--database-url', url, '--name', 'pg']);
      apiA = new ApiClient(relayA.url, relayA.caCert, (JSON.parse(out.stdout) as { apiKey: string }).apiKey);
    });
    after(async () => {
      await relayA?.stop();
      await relayB?.stop();
      await postgres?.stop();
      dir.remove();
    });

    const failuresOf = async (codeId: string): Promise<number> => {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        return (await client.query<{ failures: number }>('select failures from pairing_codes where code_id = $1', [codeId])).rows[0]!.failures;
      } finally {
        await client.end();
      }
    };

    for (const guesses of [40, 200]) {
      it(`${guesses} wrong guesses at once, split over both relays: 5 are compared, the right secret then fails`, async () => {
        const gw = await createGateway(apiA, `dc-pg-${guesses}`);
        const answers = await Promise.all(Array.from({ length: guesses }, (_, i) => probe(i % 2 ? relayA : relayB, wrongOf(gw.pairingCode))));
        assert.deepEqual([...new Set(answers.map((a) => `${a.reply.code}/${a.close.code}`))], ['PCG_ERR_PAIR_CODE_INVALID/4411']);
        assert.equal(await failuresOf(gw.pairingCode.slice(0, 4)), 5);
        assert.equal((await probe(relayB, gw.pairingCode)).reply.code, 'PCG_ERR_PAIR_CODE_INVALID');
        assert.equal((await probe(relayA, gw.pairingCode)).reply.code, 'PCG_ERR_PAIR_CODE_INVALID');
        assert.equal(await failuresOf(gw.pairingCode.slice(0, 4)), 5);
      });
    }
  });
});
