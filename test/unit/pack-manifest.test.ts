import { strict as assert } from 'node:assert';
import { PackError } from '../../proto/packs/pack-error.js';
import { checkPackManifest } from '../../proto/packs/pack-manifest.js';
import { MINIMAL_MANIFEST } from '../fixtures/packs/pack-test-kit.js';

/** The issues (pointer and rule) checkPackManifest reports for `manifest`. */
function issuesOf(manifest: unknown): { pointer: string | undefined; rule: string; message: string }[] {
  try {
    checkPackManifest(manifest);
  } catch (err) {
    assert.ok(err instanceof PackError);
    assert.equal(err.code, 'PCG_ERR_PACK_INVALID');
    return err.issues.map((i) => ({ pointer: i.pointer, rule: i.rule, message: i.message }));
  }
  assert.fail('the manifest was accepted');
}

const dependency = { packName: 'kubernetes', layer: 'k8s', type: 'required' };

describe('pack manifest (pack.json)', () => {
  it('accepts the minimal manifest, keeps unknown cloud types and unknown fields (forward compatible)', () => {
    const manifest = checkPackManifest({ ...MINIMAL_MANIFEST, cloudTypes: ['vsphere', 'nutanix'], futureField: { x: 1 } });
    assert.deepEqual(manifest.cloudTypes, ['vsphere', 'nutanix']);
  });

  it('names a version that is not semver', () => {
    assert.deepEqual(issuesOf({ ...MINIMAL_MANIFEST, version: 'v1.2' }).map((i) => [i.pointer, i.rule]), [['/version', 'semver']]);
    assert.deepEqual(issuesOf({ ...MINIMAL_MANIFEST, version: 'v1.2.3' }).map((i) => [i.pointer, i.rule]), [['/version', 'semver']]);
  });

  it('names an unknown layer and lists the allowed ones', () => {
    const [issue, ...rest] = issuesOf({ ...MINIMAL_MANIFEST, layer: 'database' });
    assert.equal(rest.length, 0);
    assert.equal(issue!.pointer, '/layer');
    assert.equal(issue!.message, 'must be one of: kernel, os, k8s, cni, csi, addon');
  });

  it('names a bad constraint type by its full path', () => {
    const issues = issuesOf({ ...MINIMAL_MANIFEST, constraints: { dependencies: [dependency, { ...dependency, type: 'mandatory' }] } });
    assert.deepEqual(issues.map((i) => [i.pointer, i.message]), [['/constraints/dependencies/1/type', 'must be one of: required, optional, notSupported, upgrade']]);
    const resources = issuesOf({ ...MINIMAL_MANIFEST, constraints: { resources: [{ type: 'gpu', minLimit: 1 }] } });
    assert.deepEqual(resources.map((i) => i.pointer), ['/constraints/resources/0/type']);
  });

  it('reports every broken field at once: missing, pattern, date, range, traversal in a named path', () => {
    const withoutDisplayName: Partial<typeof MINIMAL_MANIFEST> = { ...MINIMAL_MANIFEST };
    delete withoutDisplayName.displayName;
    assert.deepEqual(issuesOf({ ...withoutDisplayName, name: 'My_Pack' }).map((i) => i.pointer).sort(), ['/displayName', '/name']);
    const issues = issuesOf({
      ...MINIMAL_MANIFEST, eol: '2028-02-30', charts: ['../outside.tgz'],
      constraints: { dependencies: [{ ...dependency, minVersion: '2.0.0', maxVersion: '1.0.0' }, { ...dependency, packName: 'tiny' }] },
    });
    assert.deepEqual(issues.map((i) => [i.pointer, i.rule]), [
      ['/eol', 'date'], ['/charts/0', 'path-traversal'],
      ['/constraints/dependencies/0', 'version-range'], ['/constraints/dependencies/1/packName', 'self-dependency'],
    ]);
  });

  it('refuses an empty cloudTypes list and annotation values that are not strings', () => {
    assert.deepEqual(issuesOf({ ...MINIMAL_MANIFEST, cloudTypes: [] }).map((i) => i.pointer), ['/cloudTypes']);
    assert.deepEqual(issuesOf({ ...MINIMAL_MANIFEST, annotations: { imageId: 42 } }).map((i) => i.pointer), ['/annotations/imageId']);
  });
});
