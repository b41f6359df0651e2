import { strict as assert } from 'node:assert';
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { PackError } from '../../proto/packs/pack-error.js';
import { sha256Digest } from '../../proto/registry/pack-artifact.js';
import { PackRegistry } from '../../proto/registry/pack-registry.js';
import { zipOf } from '../fixtures/packs/pack-test-kit.js';
import { FsContentStore } from '../../proto/registry/fs-content-store.js';
import { testPackZip, type TestPack } from '../support/packctl-packs.js';
import { tempDir } from '../support/temp-dir.js';

describe('pack index', () => {
  let store: FsContentStore;
  let registry: PackRegistry;
  let dir: ReturnType<typeof tempDir>;
  const push = async (pack: TestPack) => registry.upload({ stream: Readable.from([await testPackZip(pack)]) });
  const ids = (items: readonly { name: string; version: string }[]) => items.map((i) => `${i.name}:${i.version}`);

  beforeEach(async () => {
    dir = tempDir('pack-index');
    store = await FsContentStore.open(join(dir.path, 'store'));
    registry = await PackRegistry.create(store, { dir: join(dir.path, 'packs') });
    await push({ name: 'calico', version: '3.26.1', layer: 'cni', cloudTypes: ['vsphere', 'aws'] });
    await push({ name: 'calico', version: '3.9.0', layer: 'cni', cloudTypes: ['vsphere'] });
    await push({ name: 'calico', version: '3.26.1-rc.1', layer: 'cni', cloudTypes: ['aws'] });
    await push({ name: 'kubernetes', version: '1.30.2', layer: 'k8s' });
    await push({ name: 'ubuntu', version: '22.4.0', layer: 'os', cloudTypes: ['vsphere'] });
  });
  afterEach(async () => {
    registry.close();
    await store.close();
    dir.remove();
  });

  it('lists by name then semver, and filters by name, layer and cloud type (all matches every cloud)', () => {
    assert.deepEqual(ids(registry.list().items), ['calico:3.9.0', 'calico:3.26.1-rc.1', 'calico:3.26.1', 'kubernetes:1.30.2', 'ubuntu:22.4.0']);
    assert.deepEqual(ids(registry.list({ name: 'calico', cloudType: 'aws' }).items), ['calico:3.26.1-rc.1', 'calico:3.26.1']);
    assert.deepEqual(ids(registry.list({ layer: 'os' }).items), ['ubuntu:22.4.0']);
    assert.deepEqual(ids(registry.list({ cloudType: 'gcp' }).items), ['kubernetes:1.30.2']);
    assert.deepEqual(ids(registry.list({ cloudType: 'vsphere', layer: 'cni' }).items), ['calico:3.9.0', 'calico:3.26.1']);
  });

  it('pages with a cursor that survives inserts before it', async () => {
    const first = registry.list({ limit: 2 });
    assert.deepEqual(ids(first.items), ['calico:3.9.0', 'calico:3.26.1-rc.1']);
    await push({ name: 'aaa', version: '1.0.0' });
    const second = registry.list({ limit: 2, cursor: first.nextCursor! });
    assert.deepEqual(ids(second.items), ['calico:3.26.1', 'kubernetes:1.30.2']);
    const third = registry.list({ limit: 2, cursor: second.nextCursor! });
    assert.deepEqual(ids(third.items), ['ubuntu:22.4.0']);
    assert.equal(third.nextCursor, null);
    assert.throws(() => registry.list({ cursor: 'garbage' }), /PCG_ERR_BAD_REQUEST|cursor/);
  });

  it('is rebuilt from the store when packs.db is missing, tags included', async () => {
    await registry.setLabel('calico', 'lts__3.26', '3.26.1');
    const before = registry.list();
    const tags = registry.tagsOf('calico');
    registry.close();
    for (const f of ['packs.db', 'packs.db-wal', 'packs.db-shm']) rmSync(join(dir.path, 'packs', f), { force: true });
    registry = await PackRegistry.create(store, { dir: join(dir.path, 'packs') });
    assert.deepEqual(registry.list(), before);
    assert.deepEqual(registry.tagsOf('calico'), tags);
    assert.equal((await registry.get('calico', '3.x')).version, '3.26.1');
  });

  it('stores nothing for a refused archive, and nothing twice for the same bytes', async () => {
    const repositories = await store.listRepositories();
    const bad = await zipOf({ 'pack.json': JSON.stringify({ name: 'bad', version: '1.0.0' }), 'values.yaml': '' });
    await assert.rejects(registry.upload({ stream: Readable.from([bad]) }), (e: unknown) => e instanceof PackError && e.code === 'PCG_ERR_PACK_INVALID');
    await assert.rejects(registry.upload({ stream: Readable.from([Buffer.from('not a zip')]) }), (e: unknown) => e instanceof PackError && e.code === 'PCG_ERR_PACK_ARCHIVE');
    assert.deepEqual(await store.listRepositories(), repositories);
    assert.equal(await store.statBlob('packs/bad', sha256Digest(bad)), undefined);
    assert.deepEqual(readdirSync(join(dir.path, 'packs', 'pack-uploads')), [], 'no spooled upload left behind');
    const tags = await store.listTags('packs/ubuntu');
    const again = await push({ name: 'ubuntu', version: '22.4.0', layer: 'os', cloudTypes: ['vsphere'] });
    assert.equal(again.created, false);
    assert.deepEqual(await store.listTags('packs/ubuntu'), tags);
  });
});
