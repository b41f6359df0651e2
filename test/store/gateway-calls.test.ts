import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import pg from 'pg';
import pino from 'pino';
import { systemClock } from '../../proto/clock.js';
import { PcgError } from '../../proto/errors.js';
import { SecretHasher } from '../../saas-relay/security/secret-hasher.js';
import { openDatabase, type Database } from '../../saas-relay/store/database.js';
import { GatewayStore } from '../../saas-relay/store/gateway-store.js';
import type { RelaySignals } from '../../saas-relay/store/relay-signals.js';
import { TenancyStore } from '../../saas-relay/store/tenancy-store.js';
import { TunnelRequestStore } from '../../saas-relay/store/tunnel-request-store.js';
import { GatewayCalls } from '../../saas-relay/tunnel/gateway-calls.js';
import type { RoutedOperation } from '../../saas-relay/tunnel/routed-operation.js';
import type { TunnelSession } from '../../saas-relay/tunnel/tunnel-session.js';
import { PostgresServer } from '../support/postgres-fixture.js';
import { tempDir } from '../support/temp-dir.js';

const log = pino({ level: 'silent' });

/** Streams two progress values, then answers with who ran it; fails on request. */
const probe: RoutedOperation<{ fail?: boolean; crash?: boolean; delayMs?: number }, { ranOn: string }, number> = {
  name: 'probe',
  run: async (session, args, { onProgress }) => {
    onProgress?.(1);
    onProgress?.(2);
    await new Promise((r) => setTimeout(r, args.delayMs ?? 0));
    if (args.fail) throw new PcgError('PCG_ERR_VCENTER_PERMISSION', 'no Datastore.AllocateSpace');
    if (args.crash) throw new Error('connect ECONNREFUSED 10.0.0.5:5432');
    return { ranOn: (session as unknown as { relay: string }).relay };
  },
};

interface RelaySide { calls: GatewayCalls; signals: RelaySignals; ran: string[]; logged: string[] }

/** A store whose first progress row fails to insert, as in a brief database hiccup. */
class FlakyRequestStore extends TunnelRequestStore {
  #failed = false;
  override addReply(requestId: string, final: boolean, body: string): Promise<void> {
    if (!final && !this.#failed) {
      this.#failed = true;
      return Promise.reject(new Error('db blip'));
    }
    return super.addReply(requestId, final, body);
  }
}

/**
 * GatewayCalls between two relays on one store, with fake hubs: relay A "holds" the gateway's
 * session. Real store, real signals (LISTEN/NOTIFY on PostgreSQL), real timers.
 */
function routingSuite(engine: 'sqlite' | 'postgres', open: () => Promise<{ target: string; cleanup: () => Promise<void> | void }>): void {
  describe(`routed gateway calls on ${engine}`, function () {
    this.timeout(60_000);
    let target: string;
    let cleanup: () => Promise<void> | void;
    let dbA: Database;
    let dbB: Database;
    let a: RelaySide;
    let b: RelaySide;
    let gatewayId: string;
    let epoch: number;
    let held = true;

    const side = async (db: Database, relayId: string, holds: boolean, pollMs: number, requests = new TunnelRequestStore(db.db, systemClock)): Promise<RelaySide> => {
      const ran: string[] = [];
      const logged: string[] = [];
      const sideLog = pino({ level: 'error' }, { write: (line: string) => logged.push(line) });
      const signals = await db.createSignals(log);
      const session = { gatewayId: 'x', relay: relayId } as unknown as TunnelSession;
      const calls = GatewayCalls.create({ relayId, offlineAfterMs: 10_000, pollMs, claimTimeoutMs: 1500 }, {
        hub: { session: () => (holds && held ? session : undefined) },
        gateways: new GatewayStore(db.db, systemClock), requests, signals,
        operations: [{ ...probe, run: (s, args, o) => { ran.push(relayId); return probe.run(s, args as never, o); } }],
        clock: systemClock, log: sideLog,
      });
      return { calls, signals, ran, logged };
    };

    beforeEach(async () => {
      ({ target, cleanup } = await open());
      dbA = await openDatabase(target);
      dbB = await openDatabase(target);
      const { tenantId } = await new TenancyStore(dbA.db, new SecretHasher(randomBytes(32)), systemClock).createTenant('routing');
      const gateways = new GatewayStore(dbA.db, systemClock);
      const gw = await gateways.create(tenantId, 'dc');
      await dbA.db.transaction().execute((trx) => gateways.recordPairing(trx, gw, { signPub: 'x', boxPub: 'y', certSerial: '01', certExpiresAt: Date.now() + 60_000 }));
      epoch = await gateways.beginSession(await gateways.get(tenantId, gw.id), 'pcg-gateway/test', 'rly_A');
      gatewayId = gw.id;
      held = true;
    });
    afterEach(async () => {
      for (const s of [a, b]) {
        s.calls.close();
        await s.signals.close();
      }
      await dbA.close();
      await dbB.close();
      await cleanup();
    });

    it('B hands the call to A: progress in order, then the result; claimed and answered exactly once', async () => {
      // A long poll: on PostgreSQL the signals must carry it (fast), not the poll.
      a = await side(dbA, 'rly_A', true, engine === 'postgres' ? 30_000 : 100);
      b = await side(dbB, 'rly_B', false, engine === 'postgres' ? 30_000 : 100);
      const progress: number[] = [];
      const started = Date.now();
      const result = await b.calls.call(gatewayId, probe, {}, { timeoutMs: 5000, onProgress: (p) => progress.push(p) });
      assert.deepEqual(result, { ranOn: 'rly_A' });
      assert.deepEqual(progress, [1, 2]);
      assert.deepEqual([a.ran, b.ran], [['rly_A'], []]);
      if (engine === 'postgres') assert.ok(Date.now() - started < 1000, `signalled round trip took ${Date.now() - started} ms`);
      const rows = await dbB.db.selectFrom('tunnel_replies').select(['final', 'body']).orderBy('id').execute();
      assert.deepEqual(rows.map((r) => [r.final, JSON.parse(r.body) as unknown]), [[0, { value: 1 }], [0, { value: 2 }], [1, { value: { ranOn: 'rly_A' } }]]);
    });

    it("the holder's error comes back with its code; A itself runs locally without the store", async () => {
      a = await side(dbA, 'rly_A', true, 100);
      b = await side(dbB, 'rly_B', false, 100);
      await assert.rejects(b.calls.call(gatewayId, probe, { fail: true }, { timeoutMs: 5000 }),
        (err: unknown) => err instanceof PcgError && err.code === 'PCG_ERR_VCENTER_PERMISSION' && /Datastore\.AllocateSpace/.test(err.message));
      assert.deepEqual(await a.calls.call(gatewayId, probe, {}, { timeoutMs: 5000 }), { ranOn: 'rly_A' });
      assert.equal((await dbA.db.selectFrom('tunnel_requests').selectAll().execute()).length, 1, 'only the call through B used the store');
    });

    it('a progress row that fails to insert does not lose the final answer', async () => {
      a = await side(dbA, 'rly_A', true, 100, new FlakyRequestStore(dbA.db, systemClock));
      b = await side(dbB, 'rly_B', false, 100);
      const progress: number[] = [];
      const result = await b.calls.call(gatewayId, probe, {}, { timeoutMs: 3000, onProgress: (p) => progress.push(p) });
      assert.deepEqual(result, { ranOn: 'rly_A' });
      assert.deepEqual(progress, [2], 'the first progress row was lost, the rest arrived');
    });

    it("an internal failure on the holder reaches the caller as PCG_ERR_INTERNAL without its text, which stays in the holder's log", async () => {
      a = await side(dbA, 'rly_A', true, 100);
      b = await side(dbB, 'rly_B', false, 100);
      await assert.rejects(b.calls.call(gatewayId, probe, { crash: true }, { timeoutMs: 5000 }), (err: unknown) => {
        assert.ok(err instanceof PcgError);
        assert.equal(err.code, 'PCG_ERR_INTERNAL');
        assert.doesNotMatch(err.message, /10\.0\.0\.5|ECONNREFUSED/);
        assert.match(err.message, /routed request req_\w+ failed/);
        return true;
      });
      assert.ok(a.logged.some((l) => l.includes('ECONNREFUSED 10.0.0.5:5432') && l.includes('routed request failed')), a.logged.join(''));
    });

    it('no relay holds the tunnel: the holder never claims, B answers offline after the claim timeout', async () => {
      held = false; // A's session is gone but the store still says A holds it (A crashed)
      a = await side(dbA, 'rly_A', true, 100);
      b = await side(dbB, 'rly_B', false, 100);
      const started = Date.now();
      await assert.rejects(b.calls.call(gatewayId, probe, {}, { timeoutMs: 5000 }),
        (err: unknown) => err instanceof PcgError && err.code === 'PCG_ERR_GATEWAY_OFFLINE');
      // A does claim (it polls) but finds no session: offline either way, well before the 5 s deadline.
      assert.ok(Date.now() - started < 2500, `${Date.now() - started} ms`);
    });

    it('a gateway the store shows offline is refused at once, without a request row', async () => {
      a = await side(dbA, 'rly_A', true, 100);
      b = await side(dbB, 'rly_B', false, 100);
      await new GatewayStore(dbA.db, systemClock).endSession(gatewayId, epoch);
      await assert.rejects(b.calls.call(gatewayId, probe, {}, { timeoutMs: 5000 }), (err: unknown) => err instanceof PcgError && err.code === 'PCG_ERR_GATEWAY_OFFLINE');
      assert.equal((await dbA.db.selectFrom('tunnel_requests').selectAll().execute()).length, 0);
    });

    it('claim and withdraw exclude each other: exactly one wins, also when raced', async () => {
      a = await side(dbA, 'rly_A', true, 60_000);
      b = await side(dbB, 'rly_B', false, 60_000);
      const requests = new TunnelRequestStore(dbA.db, systemClock);
      const make = () => requests.create({ gateway_id: gatewayId, relay_id: 'rly_X', operation: 'probe', args: '{}', deadline_at: Date.now() + 60_000 });
      const first = await make();
      assert.equal(await requests.withdraw(first), true);
      assert.equal(await requests.claim(first), false, 'a withdrawn request is never run');
      const second = await make();
      assert.equal(await requests.claim(second), true);
      assert.equal(await requests.withdraw(second), false, 'a claimed request is answered, not withdrawn');
      for (let i = 0; i < 20; i++) {
        const id = await make();
        const other = new TunnelRequestStore(dbB.db, systemClock);
        const [claimed, withdrawn] = await Promise.all([other.claim(id), requests.withdraw(id)]);
        assert.equal(Number(claimed) + Number(withdrawn), 1, `race ${i}: claimed ${claimed}, withdrawn ${withdrawn}`);
      }
      const expired = await requests.create({ gateway_id: gatewayId, relay_id: 'rly_X', operation: 'probe', args: '{}', deadline_at: Date.now() - 1 });
      assert.equal(await requests.claim(expired), false, 'past its deadline nobody runs it');
    });

    if (engine === 'postgres') {
      it('the LISTEN connection is killed: the poll carries the call, and signals come back', async () => {
        a = await side(dbA, 'rly_A', true, 300);
        b = await side(dbB, 'rly_B', false, 300);
        const admin = new pg.Client({ connectionString: target });
        await admin.connect();
        try {
          const killed = await admin.query("select pg_terminate_backend(pid) from pg_stat_activity where query like 'LISTEN%' and pid <> pg_backend_pid()");
          assert.equal(killed.rowCount, 2, 'both relays listen on their own connection');
          assert.deepEqual(await b.calls.call(gatewayId, probe, {}, { timeoutMs: 5000 }), { ranOn: 'rly_A' });
          await new Promise((r) => setTimeout(r, 1500)); // re-listen after 1 s
          const listening = await admin.query("select count(*)::int as n from pg_stat_activity where query like 'LISTEN%'");
          assert.equal((listening.rows[0] as { n: number }).n, 2);
        } finally {
          await admin.end();
        }
      });
    }
  });
}

describe('work for a gateway routed between relays through the store', () => {
  routingSuite('sqlite', () => {
    const dir = tempDir('calls-sqlite');
    return Promise.resolve({ target: join(dir.path, 'relay.db'), cleanup: () => dir.remove() });
  });

  let postgres: PostgresServer | undefined;
  let databases = 0;
  routingSuite('postgres', async () => {
    postgres ??= await PostgresServer.start();
    const url = await postgres.createDatabase(`pcg_calls_${databases++}`);
    return { target: url, cleanup: () => undefined };
  });
  after(async () => {
    await postgres?.stop();
  });
});
