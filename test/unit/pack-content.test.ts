import { strict as assert } from 'node:assert';
import { readPackArchive } from '../../proto/packs/pack-archive.js';
import { assertRefused, MINIMAL_MANIFEST, minimalFiles, zipOf } from '../fixtures/packs/pack-test-kit.js';

const readFiles = async (files: Record<string, string | Buffer>, options = {}) => readPackArchive({ buffer: await zipOf(files) }, options);
const manifest = (extra: object) => JSON.stringify({ ...MINIMAL_MANIFEST, ...extra });

describe('pack content rules', () => {
  it('requires pack.json and values.yaml at the root', async () => {
    await assertRefused(readFiles(minimalFiles({ 'pack.json': undefined })), { code: 'PCG_ERR_PACK_INVALID', rule: 'missing-file', entry: 'pack.json' });
    await assertRefused(readFiles(minimalFiles({ 'values.yaml': undefined })), { code: 'PCG_ERR_PACK_INVALID', rule: 'missing-file', entry: 'values.yaml' });
  });

  it('accepts an empty values.yaml', async () => {
    const pack = await readFiles(minimalFiles({ 'values.yaml': '' }));
    assert.equal(pack.manifest.name, 'tiny');
  });

  it('refuses invalid YAML with its line and column', async () => {
    const err = await assertRefused(readFiles(minimalFiles({ 'values.yaml': 'replicas: 1\nimage:\n  tag: [1, 2\n' })),
      { code: 'PCG_ERR_PACK_INVALID', rule: 'yaml-syntax', entry: 'values.yaml', line: 4 });
    assert.match(err.message, /^values\.yaml:4:1: not valid YAML/);
    await assertRefused(readFiles(minimalFiles({ 'values.yaml': 'a: 1\nb: 2\na: 3\n' })), { code: 'PCG_ERR_PACK_INVALID', rule: 'yaml-syntax', entry: 'values.yaml', line: 3 });
    await assertRefused(readFiles(minimalFiles({ 'manifests/x.yaml': 'kind: A\n---\nkind: [\n' })), { code: 'PCG_ERR_PACK_INVALID', rule: 'yaml-syntax', entry: 'manifests/x.yaml' });
  });

  it('refuses pack.json that is not JSON, naming the file', async () => {
    await assertRefused(readFiles(minimalFiles({ 'pack.json': '{"name": ' })), { code: 'PCG_ERR_PACK_INVALID', rule: 'json-syntax', entry: 'pack.json' });
  });

  it('refuses a chart path the manifest names that is missing, naming the field', async () => {
    const files = minimalFiles({ 'pack.json': manifest({ charts: ['charts/nginx-1.0.0.tgz'], kubeManifests: ['manifests/ns.yaml'] }), 'manifests/ns.yaml': 'kind: Namespace\n' });
    await assertRefused(readFiles(files), { code: 'PCG_ERR_PACK_INVALID', rule: 'missing-path', entry: 'pack.json', pointer: '/charts/0' });
  });

  it('checks the charts/ layout: gzip .tgz files or folders with a Chart.yaml', async () => {
    await assertRefused(readFiles(minimalFiles({ 'charts/nginx.tgz': 'not gzip' })), { code: 'PCG_ERR_PACK_INVALID', rule: 'chart-not-gzip', entry: 'charts/nginx.tgz' });
    await assertRefused(readFiles(minimalFiles({ 'charts/nginx/values.yaml': 'a: 1\n' })), { code: 'PCG_ERR_PACK_INVALID', rule: 'chart-layout', entry: 'charts/nginx' });
    const pack = await readFiles(minimalFiles({ 'charts/nginx-1.0.0.tgz': Buffer.from([0x1f, 0x8b, 8, 0]), 'pack.json': manifest({ charts: ['charts/nginx-1.0.0.tgz'] }) }));
    assert.deepEqual(pack.manifest.charts, ['charts/nginx-1.0.0.tgz']);
  });

  it('refuses values that violate schema.yaml, naming the key and its line', async () => {
    const schema = 'type: object\nproperties:\n  replicas: { type: integer, minimum: 1 }\nrequired: [replicas, image]\n';
    const err = await assertRefused(readFiles(minimalFiles({ 'schema.yaml': schema, 'values.yaml': '# comment\nreplicas: zero\nimage: x\n' })),
      { code: 'PCG_ERR_PACK_INVALID', rule: 'values-schema', entry: 'values.yaml', pointer: '/replicas', line: 2 });
    assert.match(err.message, /must be integer/);
    await assertRefused(readFiles(minimalFiles({ 'schema.yaml': schema, 'values.yaml': 'replicas: 2\n' })),
      { code: 'PCG_ERR_PACK_INVALID', rule: 'values-schema', pointer: '/image' });
    await assertRefused(readFiles(minimalFiles({ 'schema.yaml': 'type: nonsense\n' })), { code: 'PCG_ERR_PACK_INVALID', rule: 'schema-invalid', entry: 'schema.yaml' });
  });

  it('refuses a pack whose name or version differs from the one expected', async () => {
    await assertRefused(readFiles(minimalFiles(), { expected: { name: 'other' } }), { code: 'PCG_ERR_PACK_MISMATCH', rule: 'name-mismatch', pointer: '/name' });
    await assertRefused(readFiles(minimalFiles(), { expected: { name: 'tiny', version: '0.2.0' } }), { code: 'PCG_ERR_PACK_MISMATCH', rule: 'version-mismatch', pointer: '/version' });
  });

  it('refuses a logo.png that is not a PNG and text that is not UTF-8', async () => {
    await assertRefused(readFiles(minimalFiles({ 'logo.png': 'GIF89a' })), { code: 'PCG_ERR_PACK_INVALID', rule: 'logo-not-png', entry: 'logo.png' });
    await assertRefused(readFiles(minimalFiles({ 'values.yaml': Buffer.from([0x61, 0x3a, 0x20, 0xff, 0x0a]) })), { code: 'PCG_ERR_PACK_INVALID', rule: 'not-utf8', entry: 'values.yaml' });
  });
});
