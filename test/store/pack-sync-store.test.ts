import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { ManualClock } from '../../proto/clock.js';
import { PcgError } from '../../proto/errors.js';
import { packIndexDigest } from '../../proto/registry/pack-index-digest.js';
import type { PackIndexItem, RegistryIndexFrame } from '../../proto/schemas/frames.js';
import { PackSyncStore } from '../../saas-relay/registry/pack-sync-store.js';
import { openDatabase, type Database } from '../../saas-relay/store/database.js';
import { GatewayStore } from '../../saas-relay/store/gateway-store.js';
import type { GatewayTable } from '../../saas-relay/store/schema.js';
import { TenancyStore } from '../../saas-relay/store/tenancy-store.js';
import { SecretHasher } from '../../saas-relay/security/secret-hasher.js';
import { PostgresServer } from '../support/postgres-fixture.js';
import { tempDir } from '../support/temp-dir.js';
import { randomBytes } from 'node:crypto';

const pack = (name: string, version: string, fill = 'a'): PackIndexItem => ({ name, version, digest: `sha256:${fill.repeat(64)}`, layer: 'addon', cloud_types: ['all'] });
const full = (generation: number, packs: PackIndexItem[]): RegistryIndexFrame => ({ type: 'registry.index', id: 1, mode: 'full', generation, packs, index_digest: packIndexDigest(packs) });
const delta = (base: number, generation: number, upserts: PackIndexItem[], removals: { name: string; version: string }[], after: PackIndexItem[]): RegistryIndexFrame => ({
  type: 'registry.index', id: 2, mode: 'delta', base_generation: base, generation, upserts, removals, index_digest: packIndexDigest(after),
});

/** PackSyncStore: full and delta reports applied atomically, fenced by epoch, verified by digest. */
function packSyncSuite(engine: string, open: () => Promise<{ target: string; cleanup: () => Promise<void> | void }>): void {
  describe(`pack sync store on ${engine}`, function () {
    this.timeout(60_000);
    let database: Database;
    let cleanup: () => Promise<void> | void;
    let store: PackSyncStore;
    let gateway: GatewayTable;
    let epoch: number;
    const clock = new ManualClock();

    beforeEach(async () => {
      const opened = await open();
      cleanup = opened.cleanup;
      database = await openDatabase(opened.target);
      const tenant = await new TenancyStore(database.db, new SecretHasher(randomBytes(32)), clock).createTenant('t');
      const gateways = new GatewayStore(database.db, clock);
      gateway = await gateways.create(tenant.tenantId, 'gw');
      epoch = await gateways.beginSession(gateway, 'test', 'rly_1');
      store = new PackSyncStore(database.db, clock);
    });
    afterEach(async () => {
      await database.close();
      await cleanup();
    });

    it('applies a full report, then a delta on top of its generation', async () => {
      assert.equal((await store.state(gateway.id)).status, 'pending');
      const a = pack('a', '1.0.0');
      const b = pack('b', '2.0.0');
      assert.deepEqual(await store.apply(gateway.id, epoch, full(1, [a, b])), { generation: 1, resync: false });
      const b2 = pack('b', '2.0.0', 'c');
      const c = pack('c', '0.1.0');
      assert.deepEqual(await store.apply(gateway.id, epoch, delta(1, 2, [b2, c], [{ name: 'a', version: '1.0.0' }], [b2, c])), { generation: 2, resync: false });
      assert.deepEqual((await store.list(gateway.id)).items.map((p) => [p.name, p.version, p.digest]), [['b', '2.0.0', b2.digest], ['c', '0.1.0', c.digest]]);
      const state = await store.state(gateway.id);
      assert.deepEqual([state.status, state.generation, state.packs, state.message], ['ok', 2, 2, null]);
    });

    it('a delta on another generation changes nothing and asks for a full report (pending)', async () => {
      await store.apply(gateway.id, epoch, full(5, [pack('a', '1.0.0')]));
      assert.deepEqual(await store.apply(gateway.id, epoch, delta(3, 4, [pack('x', '1.0.0')], [], [pack('a', '1.0.0'), pack('x', '1.0.0')])), { generation: 5, resync: true });
      assert.deepEqual((await store.list(gateway.id)).items.map((p) => p.name), ['a']);
      const state = await store.state(gateway.id);
      assert.deepEqual([state.status, state.generation], ['pending', 5]);
      assert.match(state.message!, /generation 3 .* generation 5 is stored/);
    });

    it('rows that do not match the reported digest roll back: failed, never ok', async () => {
      await store.apply(gateway.id, epoch, full(1, [pack('a', '1.0.0')]));
      // The gateway says the result holds b too, but the delta only removes a.
      assert.deepEqual(await store.apply(gateway.id, epoch, delta(1, 2, [], [{ name: 'a', version: '1.0.0' }], [pack('b', '1.0.0')])), { generation: 1, resync: true });
      assert.deepEqual((await store.list(gateway.id)).items.map((p) => p.name), ['a'], 'the delta was rolled back');
      const state = await store.state(gateway.id);
      assert.deepEqual([state.status, state.generation], ['failed', 1]);
      assert.match(state.message!, /did not verify/);
    });

    it('lists a page at a time in semver order with an opaque cursor, and filters by name, layer and cloud type', async () => {
      const item = (name: string, version: string, layer: string, cloudTypes: string[]): PackIndexItem => ({ ...pack(name, version), layer, cloud_types: cloudTypes });
      const packs = [
        item('csi-x', '1.10.0', 'csi', ['vsphere']), item('csi-x', '1.9.0', 'csi', ['aws']), item('csi-x', '1.9.0-rc.1', 'csi', ['all']),
        item('addon-y', '2.0.0', 'addon', ['vsphere', 'aws']), item('addon-y', '10.0.0', 'addon', ['maas']), item('b%_', '1.0.0', 'addon', ['a%b']),
      ];
      await store.apply(gateway.id, epoch, full(1, packs));
      const walk = async (query: Record<string, string | number>): Promise<string[][]> => {
        const pages: string[][] = [];
        let cursor: string | null | undefined;
        do {
          const page = await store.list(gateway.id, { ...query, ...(cursor ? { cursor } : {}) });
          pages.push(page.items.map((p) => `${p.name}:${p.version}`));
          cursor = page.nextCursor;
        } while (cursor);
        return pages;
      };
      assert.deepEqual(await walk({ limit: 4 }), [['addon-y:2.0.0', 'addon-y:10.0.0', 'b%_:1.0.0', 'csi-x:1.9.0-rc.1'], ['csi-x:1.9.0', 'csi-x:1.10.0']]);
      assert.deepEqual(await walk({ limit: 2, layer: 'csi' }), [['csi-x:1.9.0-rc.1', 'csi-x:1.9.0'], ['csi-x:1.10.0']]);
      assert.deepEqual(await walk({ cloudType: 'vsphere' }), [['addon-y:2.0.0', 'csi-x:1.9.0-rc.1', 'csi-x:1.10.0']]);
      assert.deepEqual(await walk({ cloudType: 'a%b' }), [['b%_:1.0.0', 'csi-x:1.9.0-rc.1']], 'LIKE wildcards in the value match only themselves');
      assert.deepEqual(await walk({ cloudType: 'a' }), [['csi-x:1.9.0-rc.1']]);
      assert.deepEqual(await walk({ name: 'addon-y', cloudType: 'maas' }), [['addon-y:10.0.0']]);
      assert.deepEqual(await walk({ limit: 1000 }), [['addon-y:2.0.0', 'addon-y:10.0.0', 'b%_:1.0.0', 'csi-x:1.9.0-rc.1', 'csi-x:1.9.0', 'csi-x:1.10.0']]);
      const refused = (err: unknown, message: RegExp) => err instanceof PcgError && err.code === 'PCG_ERR_BAD_REQUEST' && message.test(err.message);
      await assert.rejects(store.list(gateway.id, { limit: 1001 }), (err) => refused(err, /limit must be 1 to 1000/));
      await assert.rejects(store.list(gateway.id, { cursor: 'not-ours' }), (err) => refused(err, /cursor is not one this registry returned/));
      const state = await store.state(gateway.id);
      assert.deepEqual([state.packs, state.indexDigest], [6, packIndexDigest(packs)]);
    });

    it('a superseded session stores nothing (PCG_ERR_STALE_EPOCH)', async () => {
      await assert.rejects(store.apply(gateway.id, epoch - 1, full(1, [pack('a', '1.0.0')])), (err: unknown) => err instanceof PcgError && err.code === 'PCG_ERR_STALE_EPOCH');
      assert.deepEqual((await store.list(gateway.id)).items, []);
    });
  });
}

packSyncSuite('sqlite', () => {
  const dir = tempDir('pack-sync-store');
  return Promise.resolve({ target: join(dir.path, 'relay.db'), cleanup: dir.remove });
});

let postgres: PostgresServer | undefined;
let databases = 0;
describe('PostgreSQL fixture (pack sync)', function () {
  this.timeout(90_000);
  before(async () => {
    postgres = await PostgresServer.start();
  });
  after(async () => {
    await postgres?.stop();
  });
  packSyncSuite('postgres', async () => ({ target: await postgres!.createDatabase(`pcg_pack_sync_${++databases}`), cleanup: () => undefined }));
});
