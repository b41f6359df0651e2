import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { PcgError } from '../../proto/errors.js';
import { PackRegistry } from '../../proto/registry/pack-registry.js';
import { labelTag, parentTags, tagKind, versionOfTag, versionTag } from '../../proto/registry/pack-tags.js';
import { FsContentStore } from '../../proto/registry/fs-content-store.js';
import { testPackZip } from '../support/packctl-packs.js';
import { tempDir } from '../support/temp-dir.js';

async function rejectsWith(work: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(work, (err: unknown) => err instanceof PcgError && err.code === code);
}

describe('pack tags', () => {
  it('tells version, parent and label tags apart by their spelling', () => {
    assert.equal(tagKind('14.4.3'), 'version');
    assert.equal(tagKind('1.0.0-rc.1'), 'version');
    assert.equal(tagKind('1.0.0_build.5'), 'version');
    assert.equal(versionOfTag('1.0.0_build.5'), '1.0.0+build.5');
    assert.equal(versionTag('1.0.0+build.5'), '1.0.0_build.5');
    assert.equal(tagKind('14.x'), 'parent');
    assert.equal(tagKind('14.4.x'), 'parent');
    assert.equal(tagKind('lts__14.4.3'), 'label');
    assert.equal(tagKind('stable'), 'label');
  });

  it('builds group__label tags and refuses labels that read as versions or parent tags', () => {
    assert.equal(labelTag('14.4.3', 'lts'), 'lts__14.4.3');
    assert.equal(labelTag('stable'), 'stable');
    assert.throws(() => labelTag('14.x'), (e: unknown) => e instanceof PcgError && e.code === 'PCG_ERR_PACK_TAG_RESERVED');
    assert.throws(() => labelTag('1.2.3'), (e: unknown) => e instanceof PcgError && e.code === 'PCG_ERR_PACK_TAG_RESERVED');
    assert.throws(() => labelTag('a__b'), (e: unknown) => e instanceof PcgError && e.code === 'PCG_ERR_BAD_REQUEST');
    assert.throws(() => labelTag('x', 'bad/group'), (e: unknown) => e instanceof PcgError && e.code === 'PCG_ERR_BAD_REQUEST');
  });

  it('computes parent tags from releases only, newest by semver', () => {
    assert.deepEqual(Object.fromEntries(parentTags(['14.4.1', '14.4.10', '14.4.3', '14.5.0-rc.1', '13.0.0'])),
      { '14.x': '14.4.10', '14.4.x': '14.4.10', '13.x': '13.0.0', '13.0.x': '13.0.0' });
  });
});

describe('pack registry tags', () => {
  let store: FsContentStore;
  let registry: PackRegistry;
  let dir: ReturnType<typeof tempDir>;
  const push = async (version: string, values?: string) =>
    registry.upload({ stream: Readable.from([await testPackZip({ name: 'kubernetes', version, layer: 'k8s', ...(values ? { values } : {}) })]) });
  const parents = () => Object.fromEntries(registry.tagsOf('kubernetes').filter((t) => t.kind === 'parent').map((t) => [t.tag, t.version]));
  const storeTag = async (tag: string) => (await store.getManifest('packs/kubernetes', tag))?.digest;

  beforeEach(async () => {
    dir = tempDir('pack-tags');
    store = await FsContentStore.open(join(dir.path, 'store'));
    registry = await PackRegistry.create(store, { dir: join(dir.path, 'packs') });
  });
  afterEach(async () => {
    registry.close();
    await store.close();
    dir.remove();
  });

  it('keeps 14.x and 14.4.x on the newest matching version through uploads and deletes, in the store too', async () => {
    await push('14.4.1');
    await push('14.4.3');
    const newest = await push('14.5.0');
    assert.deepEqual(parents(), { '14.x': '14.5.0', '14.4.x': '14.4.3', '14.5.x': '14.5.0' });
    assert.equal(await storeTag('14.x'), newest.pack.manifestDigest);
    assert.equal(await storeTag('14.4.x'), registry.resolve('kubernetes', '14.4.3').manifestDigest);
    assert.deepEqual((await registry.get('kubernetes', '14.x')).version, '14.5.0');

    await registry.delete('kubernetes', '14.5.0');
    assert.deepEqual(parents(), { '14.x': '14.4.3', '14.4.x': '14.4.3' });
    assert.equal(await storeTag('14.x'), registry.resolve('kubernetes', '14.4.3').manifestDigest);
    assert.equal(await storeTag('14.5.x'), undefined);
    assert.equal(await storeTag('14.5.0'), undefined);
    await rejectsWith(registry.get('kubernetes', '14.5.0'), 'PCG_ERR_NOT_FOUND');
  });

  it('refuses to delete a parent or version tag by hand, and leaves it in place', async () => {
    await push('14.4.1');
    await rejectsWith(registry.deleteTag('kubernetes', '14.x'), 'PCG_ERR_PACK_TAG_RESERVED');
    await rejectsWith(registry.deleteTag('kubernetes', '14.4.1'), 'PCG_ERR_PACK_TAG_RESERVED');
    await rejectsWith(registry.setLabel('kubernetes', '14.x', '14.4.1'), 'PCG_ERR_PACK_TAG_RESERVED');
    assert.deepEqual(parents(), { '14.x': '14.4.1', '14.4.x': '14.4.1' });
    assert.ok(await storeTag('14.x'));
  });

  it('sets, moves and deletes group__label tags', async () => {
    await push('14.4.1');
    await push('14.4.3');
    assert.deepEqual(await registry.setLabel('kubernetes', 'lts__14.4.3', '14.4.3'), { tag: 'lts__14.4.3', version: '14.4.3', kind: 'label' });
    assert.deepEqual((await registry.get('kubernetes', '14.4.3')).tags, ['14.4.x', '14.x', 'lts__14.4.3']);
    assert.equal((await registry.get('kubernetes', 'lts__14.4.3')).version, '14.4.3');
    await registry.setLabel('kubernetes', 'lts__14.4.3', '14.4.1');
    assert.equal(await storeTag('lts__14.4.3'), registry.resolve('kubernetes', '14.4.1').manifestDigest);
    await registry.deleteTag('kubernetes', 'lts__14.4.3');
    assert.equal(await storeTag('lts__14.4.3'), undefined);
    await rejectsWith(registry.deleteTag('kubernetes', 'lts__14.4.3'), 'PCG_ERR_NOT_FOUND');
    await rejectsWith(registry.setLabel('kubernetes', 'lts__x', '9.9.9'), 'PCG_ERR_NOT_FOUND');
  });

  it('drops a version\'s labels with it, and keeps labels on a forced re-push', async () => {
    await push('14.4.1');
    await registry.setLabel('kubernetes', 'stable', '14.4.1');
    await rejectsWith(push('14.4.1', 'replicas: 2\n'), 'PCG_ERR_CONFLICT');
    const again = await registry.upload({ stream: Readable.from([await testPackZip({ name: 'kubernetes', version: '14.4.1', layer: 'k8s', values: 'replicas: 2\n' })]) }, { force: true });
    assert.equal(again.created, true);
    assert.equal(await storeTag('stable'), again.pack.manifestDigest);
    assert.equal(await storeTag('14.x'), again.pack.manifestDigest);
    await registry.delete('kubernetes', '14.4.1');
    assert.deepEqual(registry.tagsOf('kubernetes'), []);
    assert.deepEqual(await store.listTags('packs/kubernetes'), []);
  });
});
