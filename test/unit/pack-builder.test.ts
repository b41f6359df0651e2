import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildPack } from '../../proto/packs/pack-builder.js';
import { readPackArchive } from '../../proto/packs/pack-archive.js';
import { assertRefused, FIXTURE_DIR } from '../fixtures/packs/pack-test-kit.js';

describe('pack builder', () => {
  let work: string;
  beforeEach(() => { work = mkdtempSync(join(tmpdir(), 'pcg-pack-')); });
  afterEach(() => rmSync(work, { recursive: true, force: true }));

  it('builds the fixture folder into a pack that validates, with every file, sorted', async () => {
    const { zip, archive } = await buildPack(FIXTURE_DIR, { expected: { name: 'hello-addon' } });
    assert.equal(archive.manifest.version, '1.2.3');
    assert.deepEqual(archive.entries.map((e) => e.path), [
      'README.md', 'charts/hello/Chart.yaml', 'charts/hello/templates/deployment.yaml',
      'manifests/namespace.yaml', 'pack.json', 'schema.yaml', 'values.yaml',
    ]);
    assert.equal(archive.digest, `sha256:${createHash('sha256').update(zip).digest('hex')}`);
    // The same bytes read back from a file give the same answer as from memory.
    const file = join(work, 'hello-addon.zip');
    writeFileSync(file, zip);
    assert.deepEqual(await readPackArchive({ path: file }), archive);
  });

  it('is deterministic: same folder, same digest, whatever the mtimes and time zone', async () => {
    const first = await buildPack(FIXTURE_DIR);
    const copy = join(work, 'copy');
    cpSync(FIXTURE_DIR, copy, { recursive: true, preserveTimestamps: false });
    const second = await buildPack(copy);
    assert.equal(second.archive.digest, first.archive.digest);
    // DOS timestamps are local time: a build at UTC+14 must write the same bytes.
    const zone = process.env.TZ;
    process.env.TZ = 'Pacific/Kiritimati';
    try {
      assert.equal((await buildPack(copy)).archive.digest, first.archive.digest);
    } finally {
      if (zone === undefined) delete process.env.TZ; else process.env.TZ = zone;
    }
    const stored = [await buildPack(FIXTURE_DIR, { compress: false }), await buildPack(copy, { compress: false })];
    assert.equal(stored[0]!.archive.digest, stored[1]!.archive.digest);
    assert.notEqual(stored[0]!.archive.digest, first.archive.digest);
  });

  it('refuses a folder with a symlink, naming it, before zipping anything', async () => {
    const dir = join(work, 'pack');
    cpSync(FIXTURE_DIR, dir, { recursive: true });
    symlinkSync('/etc/passwd', join(dir, 'README.md.link'));
    await assertRefused(buildPack(dir), { code: 'PCG_ERR_PACK_ARCHIVE', rule: 'symlink', entry: 'README.md.link' });
  });

  it('refuses a folder whose pack is not NAME, and one that breaks a content rule', async () => {
    await assertRefused(buildPack(FIXTURE_DIR, { expected: { name: 'other' } }), { code: 'PCG_ERR_PACK_MISMATCH', rule: 'name-mismatch' });
    const dir = join(work, 'pack');
    cpSync(FIXTURE_DIR, dir, { recursive: true });
    writeFileSync(join(dir, 'values.yaml'), 'replicas: 0\nimage: { repository: x }\n');
    await assertRefused(buildPack(dir), { code: 'PCG_ERR_PACK_INVALID', rule: 'values-schema', entry: 'values.yaml', pointer: '/replicas', line: 1 });
  });
});
