import { strict as assert } from 'node:assert';
import { Readable } from 'node:stream';
import { readPackArchive } from '../../proto/packs/pack-archive.js';
import { forgeZip, unicodePathField, type ForgedEntry } from '../fixtures/packs/forge-zip.js';
import { assertRefused, minimalEntries } from '../fixtures/packs/pack-test-kit.js';

const read = (entries: ForgedEntry[], options = {}) => readPackArchive({ buffer: forgeZip(entries) }, options);
const withEntry = (entry: ForgedEntry) => read([...minimalEntries(), entry]);

describe('pack archive: attacks refused on the entry, before extraction', () => {
  it('accepts the minimal hand-made pack (so each refusal below is caused by its one added entry)', async () => {
    const pack = await read(minimalEntries());
    assert.deepEqual(pack.entries.map((e) => e.path), ['pack.json', 'values.yaml']);
    assert.equal(pack.manifest.name, 'tiny');
    assert.match(pack.digest, /^sha256:[0-9a-f]{64}$/);
  });

  it('refuses ../ traversal, also in the middle of a path', async () => {
    await assertRefused(withEntry({ name: '../evil.sh', data: 'x' }), { code: 'PCG_ERR_PACK_ARCHIVE', rule: 'path-traversal', entry: '../evil.sh' });
    await assertRefused(withEntry({ name: 'charts/../../evil', data: 'x' }), { code: 'PCG_ERR_PACK_ARCHIVE', rule: 'path-traversal', entry: 'charts/../../evil' });
  });

  it('refuses absolute paths, drive letters and backslashes', async () => {
    await assertRefused(withEntry({ name: '/etc/cron.d/x', data: 'x' }), { code: 'PCG_ERR_PACK_ARCHIVE', rule: 'absolute-path', entry: '/etc/cron.d/x' });
    await assertRefused(withEntry({ name: 'C:/Windows/x', data: 'x' }), { code: 'PCG_ERR_PACK_ARCHIVE', rule: 'drive-letter', entry: 'C:/Windows/x' });
    await assertRefused(withEntry({ name: '..\\evil', data: 'x' }), { code: 'PCG_ERR_PACK_ARCHIVE', rule: 'backslash', entry: '..\\\\evil' });
  });

  it('refuses symlink entries and device entries from the Unix mode', async () => {
    await assertRefused(withEntry({ name: 'charts', data: '/etc', mode: 0o120777 }), { code: 'PCG_ERR_PACK_ARCHIVE', rule: 'symlink', entry: 'charts' });
    await assertRefused(withEntry({ name: 'dev-sda', mode: 0o060660 }), { code: 'PCG_ERR_PACK_ARCHIVE', rule: 'special-file', entry: 'dev-sda' });
    await assertRefused(withEntry({ name: 'fifo', mode: 0o010644 }), { code: 'PCG_ERR_PACK_ARCHIVE', rule: 'special-file', entry: 'fifo' });
  });

  it('refuses duplicate entries: exact, after normalisation (a//b, ./a), and by case', async () => {
    await assertRefused(withEntry({ name: 'values.yaml', data: 'replicas: 99\n' }), { code: 'PCG_ERR_PACK_ARCHIVE', rule: 'duplicate-entry', entry: 'values.yaml' });
    await assertRefused(read([...minimalEntries(), { name: 'a/b', data: '1' }, { name: 'a//b', data: '2' }]), { code: 'PCG_ERR_PACK_ARCHIVE', rule: 'duplicate-entry', entry: 'a/b' });
    await assertRefused(withEntry({ name: './pack.json', data: '{}' }), { code: 'PCG_ERR_PACK_ARCHIVE', rule: 'duplicate-entry', entry: 'pack.json' });
    await assertRefused(withEntry({ name: 'Values.YAML', data: 'x: 1\n' }), { code: 'PCG_ERR_PACK_ARCHIVE', rule: 'duplicate-entry', entry: 'Values.YAML' });
  });

  it('refuses a file that another entry uses as a folder', async () => {
    await assertRefused(read([...minimalEntries(), { name: 'charts', data: 'x' }, { name: 'charts/a.tgz', data: 'y' }]),
      { code: 'PCG_ERR_PACK_ARCHIVE', rule: 'path-conflict', entry: 'charts/a.tgz' });
  });

  it('refuses more entries than the limit, before reading any of them', async () => {
    const many = [...minimalEntries(), ...Array.from({ length: 4 }, (_, i) => ({ name: `extra-${i}.txt`, data: 'x' }))];
    await assertRefused(read(many, { limits: { maxEntries: 5 } }), { code: 'PCG_ERR_PACK_TOO_LARGE', rule: 'entry-count' });
  });

  it('refuses entries hidden from the declared count or from the central directory', async () => {
    // The end record understates the count: yauzl would stop early, other tools extract the rest.
    const many = [...minimalEntries(), { name: 'run.sh', data: 'x' }];
    await assertRefused(readPackArchive({ buffer: forgeZip(many, { declaredCount: 2 }) }), { code: 'PCG_ERR_PACK_ARCHIVE', rule: 'hidden-entries' });
    // A local entry with no central record: only streaming extractors see it.
    await assertRefused(withEntry({ name: 'run.sh', data: 'x', hidden: true }), { code: 'PCG_ERR_PACK_ARCHIVE', rule: 'unexpected-data', entry: 'values.yaml' });
  });

  it('refuses declared expanded sizes above the total limit before inflating anything', async () => {
    await assertRefused(read([...minimalEntries(), { name: 'big.bin', data: Buffer.alloc(5000, 7), method: 0 }], { limits: { maxExpandedBytes: 4096 } }),
      { code: 'PCG_ERR_PACK_TOO_LARGE', rule: 'expanded-size', entry: 'big.bin' });
  });

  it('refuses a bomb whose headers lie about its size, stopping at the first byte over', async () => {
    // 64 MiB of zeros deflate to ~64 KiB; the headers claim 1000 bytes, under every limit.
    const started = Date.now();
    const err = await assertRefused(withEntry({ name: 'bomb.yaml', data: Buffer.alloc(64 * 1024 * 1024), declaredSize: 1000 }),
      { code: 'PCG_ERR_PACK_ARCHIVE', rule: 'size-mismatch', entry: 'bomb.yaml' });
    assert.match(err.message, /more than the 1000 bytes/);
    assert.ok(Date.now() - started < 2000, 'inflating stopped early instead of expanding 64 MiB');
  });

  it('refuses an honest entry whose compression ratio is a zip bomb', async () => {
    await assertRefused(withEntry({ name: 'zeros.bin', data: Buffer.alloc(4 * 1024 * 1024) }),
      { code: 'PCG_ERR_PACK_TOO_LARGE', rule: 'compression-ratio', entry: 'zeros.bin' });
  });

  it('refuses encrypted entries', async () => {
    await assertRefused(withEntry({ name: 'secret.yaml', data: 'x', flags: 0x1 }), { code: 'PCG_ERR_PACK_ARCHIVE', rule: 'encrypted', entry: 'secret.yaml' });
  });

  it('refuses a Unicode path field that renames the entry, control characters, stored sizes that disagree, unknown compression', async () => {
    await assertRefused(withEntry({ name: 'README.md', data: 'x', extra: unicodePathField('README.md', '../evil') }),
      { code: 'PCG_ERR_PACK_ARCHIVE', rule: 'ambiguous-name', entry: '../evil' });
    await assertRefused(withEntry({ name: 'a.yaml\u0000../x', data: 'x' }), { code: 'PCG_ERR_PACK_ARCHIVE', rule: 'control-character', entry: 'a.yaml\\u0000../x' });
    await assertRefused(withEntry({ name: 'b.bin', data: 'x', method: 0, declaredSize: 5 }), { code: 'PCG_ERR_PACK_ARCHIVE', rule: 'size-mismatch', entry: 'b.bin' });
    await assertRefused(withEntry({ name: 'c.bin', data: 'x', method: 12 }), { code: 'PCG_ERR_PACK_ARCHIVE', rule: 'compression-method', entry: 'c.bin' });
  });

  it('refuses entries whose name and file type disagree, directories with data, and overlong paths', async () => {
    await assertRefused(withEntry({ name: 'notes', mode: 0o40755 }), { code: 'PCG_ERR_PACK_ARCHIVE', rule: 'type-mismatch', entry: 'notes' });
    await assertRefused(withEntry({ name: 'docs/', data: 'x' }), { code: 'PCG_ERR_PACK_ARCHIVE', rule: 'directory-with-data', entry: 'docs' });
    await assertRefused(withEntry({ name: `${'d/'.repeat(300)}x`, data: 'x' }), { code: 'PCG_ERR_PACK_ARCHIVE', rule: 'path-too-long' });
  });

  it('refuses a text file above the in-memory limit before reading it', async () => {
    await assertRefused(read([{ name: 'pack.json', data: '{}' }, { name: 'values.yaml', data: `a: ${'x'.repeat(5000)}\n` }], { limits: { maxTextFileBytes: 4096 } }),
      { code: 'PCG_ERR_PACK_TOO_LARGE', rule: 'text-file-size', entry: 'values.yaml' });
  });

  it('refuses a local header whose name differs from the central directory (streaming extractors read it)', async () => {
    await assertRefused(withEntry({ name: 'README.md', localName: '../../etc/x', data: 'x' }),
      { code: 'PCG_ERR_PACK_ARCHIVE', rule: 'local-header-mismatch', entry: 'README.md' });
  });

  it('refuses entries whose data overlap (one compressed kernel shared by many entries)', async () => {
    const entries: ForgedEntry[] = [...minimalEntries(), { name: 'a.bin', data: 'x', method: 0, declaredCompressedSize: 200, declaredSize: 200 }, { name: 'b.bin', data: 'y' }];
    await assertRefused(read(entries), { code: 'PCG_ERR_PACK_ARCHIVE', rule: 'overlapping-entries', entry: 'b.bin' });
  });

  it('refuses data that does not match its CRC-32', async () => {
    const zip = forgeZip([...minimalEntries(), { name: 'README.md', data: 'hello', method: 0 }]);
    zip[zip.indexOf('hello')] = 0x4a; // "jello": same size, other bytes
    await assertRefused(readPackArchive({ buffer: zip }), { code: 'PCG_ERR_PACK_ARCHIVE', rule: 'crc-mismatch', entry: 'README.md' });
  });

  it('refuses what is not a zip, and a stream above the archive limit without reading it all', async () => {
    await assertRefused(readPackArchive({ buffer: Buffer.from('not a zip at all, just text') }), { code: 'PCG_ERR_PACK_ARCHIVE', rule: 'not-a-zip' });
    let pulled = 0;
    const endless = Readable.from((function* () { for (;;) { pulled++; yield Buffer.alloc(64 * 1024); } })());
    await assertRefused(readPackArchive({ stream: endless }, { limits: { maxArchiveBytes: 1024 * 1024 } }), { code: 'PCG_ERR_PACK_TOO_LARGE', rule: 'archive-size' });
    assert.ok(pulled <= 18, `read ${pulled} chunks of an endless stream`);
  });
});
