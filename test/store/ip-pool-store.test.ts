import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { ManualClock } from '../../proto/clock.js';
import { PcgError } from '../../proto/errors.js';
import { resolveIpPool } from '../../saas-relay/clusters/ip-pool-definition.js';
import { openDatabase, type Database } from '../../saas-relay/store/database.js';
import { GatewayStore } from '../../saas-relay/store/gateway-store.js';
import { IpPoolStore, type IpAllocation } from '../../saas-relay/store/ip-pool-store.js';
import { PostgresServer } from '../support/postgres-fixture.js';
import { tempDir } from '../support/temp-dir.js';

/** A tenant with a gateway cloud account, written straight into the store. */
async function seedAccount(database: Database, clock: ManualClock): Promise<{ tenantId: string; accountId: string }> {
  const tenantId = `ten_${Math.random().toString(36).slice(2)}`;
  await database.db.insertInto('tenants').values({ id: tenantId, name: 't', created_at: clock.now() }).execute();
  const gateway = await new GatewayStore(database.db, clock).create(tenantId, 'gw');
  const accountId = `cld_${Math.random().toString(36).slice(2)}`;
  await database.db.insertInto('cloud_accounts').values({ id: accountId, tenant_id: tenantId, gateway_id: gateway.id, name: 'gw', kind: 'gateway', metadata: '{}', created_at: clock.now() }).execute();
  return { tenantId, accountId };
}

/** One allocation request in its own transaction, as the cluster service runs it. */
function allocate(database: Database, pools: IpPoolStore, tenantId: string, poolId: string, clusterId: string, nodes: string[]): Promise<IpAllocation[]> {
  return database.db.transaction().execute((trx) => pools.allocate(tenantId, poolId, clusterId, nodes, trx));
}

const code = (err: unknown) => (err instanceof PcgError ? err.code : String(err));

function poolSuite(engine: 'sqlite' | 'postgres', open: () => Promise<{ target: string; cleanup: () => Promise<void> | void }>): void {
  describe(`IP pool store on ${engine}`, function () {
    this.timeout(60_000);
    let database: Database;
    let target: string;
    let cleanup: () => Promise<void> | void;
    const clock = new ManualClock();
    let pools: IpPoolStore;
    let tenantId: string;
    let accountId: string;

    beforeEach(async () => {
      ({ target, cleanup } = await open());
      database = await openDatabase(target);
      pools = new IpPoolStore(database.db, clock);
      ({ tenantId, accountId } = await seedAccount(database, clock));
    });
    afterEach(async () => {
      await database.close();
      await cleanup();
    });

    it('hands out the lowest free addresses, skips the gateway, releases by node or cluster, and keeps them across a reopen', async () => {
      // 10.0.0.0/29 → hosts .1–.6, gateway .3 stays out of every allocation.
      const pool = await pools.create(tenantId, accountId, 'small', resolveIpPool({ subnet: '10.0.0.0/29', gateway: '10.0.0.3' }));
      assert.deepEqual([pool.size, pool.allocated, pool.free], [5, 0, 5]);
      const a = await allocate(database, pools, tenantId, pool.id, 'cls_a', ['cp-0', 'worker-0']);
      assert.deepEqual(a, [{ nodeName: 'cp-0', ip: '10.0.0.1' }, { nodeName: 'worker-0', ip: '10.0.0.2' }]);
      const b = await allocate(database, pools, tenantId, pool.id, 'cls_b', ['cp-0', 'cp-1']);
      assert.deepEqual(b.map((x) => x.ip), ['10.0.0.4', '10.0.0.5']);
      await assert.rejects(allocate(database, pools, tenantId, pool.id, 'cls_c', ['cp-0', 'cp-1']), (err) => code(err) === 'PCG_ERR_IP_POOL_EXHAUSTED');
      assert.equal((await pools.get(tenantId, pool.id)).allocated, 4, 'the refused request left nothing');
      assert.equal(await pools.release(tenantId, 'cls_a', ['cp-0']), 1);
      assert.equal(await pools.release('ten_other', 'cls_b'), 0, 'another tenant releases nothing');
      const c = await allocate(database, pools, tenantId, pool.id, 'cls_c', ['cp-0', 'cp-1']);
      assert.deepEqual(c.map((x) => x.ip), ['10.0.0.1', '10.0.0.6'], 'the freed lowest address first, then the next free');
      await database.close();
      database = await openDatabase(target);
      pools = new IpPoolStore(database.db, clock);
      assert.deepEqual([...(await pools.addressesOf('cls_b')).entries()], [['cp-0', '10.0.0.4'], ['cp-1', '10.0.0.5']]);
      assert.equal(await pools.release(tenantId, 'cls_b'), 2);
      assert.equal(await pools.release(tenantId, 'cls_b'), 0, 'releasing twice is a no-op');
      assert.deepEqual((await pools.get(tenantId, pool.id)).free, 2, 'worker-0 of a and both nodes of c still hold theirs');
      await assert.rejects(pools.delete(tenantId, pool.id), (err) => code(err) === 'PCG_ERR_CONFLICT');
      await pools.release(tenantId, 'cls_a');
      await pools.release(tenantId, 'cls_c');
      await pools.delete(tenantId, pool.id);
      await assert.rejects(pools.get(tenantId, pool.id), (err) => code(err) === 'PCG_ERR_NOT_FOUND');
    });

    it('concurrent requests of 3 nodes each: all or nothing, never one address twice', async () => {
      const pool = await pools.create(tenantId, accountId, 'p', resolveIpPool({ range: { start: '192.168.1.10', end: '192.168.1.59' }, prefix: 24, gateway: '192.168.1.1' }));
      const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) =>
        allocate(database, pools, tenantId, pool.id, `cls_${i}`, ['cp-0', 'cp-1', 'cp-2'])));
      const won = results.filter((r) => r.status === 'fulfilled').map((r) => r.value);
      assert.equal(won.length, 16, '16 × 3 = 48 of 50 addresses');
      assert.ok(results.every((r) => r.status === 'fulfilled' || code(r.reason) === 'PCG_ERR_IP_POOL_EXHAUSTED'));
      const rows = await database.db.selectFrom('ip_allocations').select(['cluster_id', 'ip']).where('pool_id', '=', pool.id).execute();
      assert.equal(rows.length, 48);
      assert.equal(new Set(rows.map((r) => Number(r.ip))).size, 48);
      const perCluster = new Map<string, number>();
      for (const r of rows) perCluster.set(r.cluster_id, (perCluster.get(r.cluster_id) ?? 0) + 1);
      assert.ok([...perCluster.values()].every((n) => n === 3), 'no cluster holds a partial set');
      assert.equal((await pools.get(tenantId, pool.id)).free, 2);
    });
  });
}

poolSuite('sqlite', () => {
  const dir = tempDir('ippool');
  return Promise.resolve({ target: join(dir.path, 'relay.db'), cleanup: dir.remove });
});

describe('IP pool store on PostgreSQL', function () {
  this.timeout(120_000);
  let server: PostgresServer;
  let n = 0;
  before(async () => {
    server = await PostgresServer.start();
  });
  after(() => server?.stop());

  poolSuite('postgres', async () => ({ target: await server.createDatabase(`ippool_${++n}`), cleanup: () => undefined }));

  it('two stores (two relays) on one database fill a pool exactly, each address once', async () => {
    const url = await server.createDatabase('ippool_race');
    const clock = new ManualClock();
    const [a, b] = [await openDatabase(url), await openDatabase(url)];
    try {
      const { tenantId, accountId } = await seedAccount(a, clock);
      const storeA = new IpPoolStore(a.db, clock);
      const storeB = new IpPoolStore(b.db, clock);
      const pool = await storeA.create(tenantId, accountId, 'race', resolveIpPool({ range: { start: '10.1.0.1', end: '10.1.0.200' }, prefix: 16 }));
      // 300 single-node requests, alternating relays, all at once: 200 win, 100 are refused.
      const results = await Promise.allSettled(Array.from({ length: 300 }, (_, i) =>
        allocate(i % 2 === 0 ? a : b, i % 2 === 0 ? storeA : storeB, tenantId, pool.id, `cls_${i}`, ['cp-0'])));
      const won = results.flatMap((r) => (r.status === 'fulfilled' ? r.value : []));
      const refused = results.filter((r) => r.status === 'rejected');
      assert.equal(won.length, 200);
      assert.ok(refused.every((r) => code(r.reason) === 'PCG_ERR_IP_POOL_EXHAUSTED'), String(refused.map((r) => code(r.reason))));
      assert.equal(new Set(won.map((x) => x.ip)).size, 200, 'no address handed twice');
      const rows = await b.db.selectFrom('ip_allocations').select('ip').where('pool_id', '=', pool.id).orderBy('ip').execute();
      assert.deepEqual(rows.map((r) => Number(r.ip)), Array.from({ length: 200 }, (_, i) => 0x0a010001 + i), 'exactly the whole range');
      assert.deepEqual([(await storeB.get(tenantId, pool.id)).free, (await storeA.get(tenantId, pool.id)).allocated], [0, 200]);
    } finally {
      await a.close();
      await b.close();
    }
  });
});
