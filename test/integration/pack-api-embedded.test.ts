import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { OCI_MANIFEST_MEDIA_TYPE, PACK_ARTIFACT_TYPE, PACK_CONFIG_MEDIA_TYPE, PACK_LAYER_MEDIA_TYPE, type Digest } from '../../proto/registry/content-store.js';
import { packManifestBytes } from '../../proto/registry/pack-artifact.js';
import { FIXTURE_DIR } from '../fixtures/packs/pack-test-kit.js';
import { startOciRegistry, REGISTRY_ADMIN, type OciRegistryFixture } from '../support/oci-registry-fixture.js';
import { OciClient } from '../support/oci-client.js';
import { runPackctl } from '../support/packctl-cli.js';
import { testPackZip } from '../support/packctl-packs.js';
import { tempDir } from '../support/temp-dir.js';

/** The pack API as the gateway mounts it (embedded-registry.ts): the real RegistryAuth, the OCI face over the same store. */
describe('pack API on the gateway\'s embedded registry', function () {
  this.timeout(120_000);
  let gw: OciRegistryFixture;
  let work: ReturnType<typeof tempDir>;
  const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

  before(async () => {
    gw = await startOciRegistry('pack-embedded');
    work = tempDir('pack-embedded-cli');
  });
  after(async () => {
    await gw.close();
    work.remove();
  });

  it('uploads with the admin account, refuses anonymous and read-token pushes, and shows packs as OCI artifacts', async () => {
    const zip = await testPackZip({ name: 'cilium', version: '1.15.2', layer: 'cni' });
    const post = (client: OciClient) => client.send('POST', '/v1/packs?name=cilium', { headers: { 'content-type': 'application/zip' }, body: zip });
    const anonymous = await post(gw.client.as(undefined));
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.json().code, 'PCG_ERR_UNAUTHENTICATED');
    await gw.grantPacks('c1', [{ name: 'cilium', version: '1.15.2' }]);
    const reader = gw.client.as(`Bearer ${gw.tokens.packReadTokenFor('c1')}`);
    const refused = await post(reader);
    assert.equal(refused.status, 403);
    assert.equal(refused.json().code, 'PCG_ERR_FORBIDDEN');
    const created = await post(gw.client);
    assert.equal(created.status, 201, created.body.toString());

    // A cluster's read token pulls through the pack API…
    const download = await reader.send('GET', '/v1/packs/cilium/1.x/archive');
    assert.equal(download.status, 200);
    assert.ok(download.body.equals(zip));
    // …and the same pack is an OCI artifact under packs/cilium, tagged with its version and parent tags.
    assert.deepEqual((await gw.client.send('GET', '/v2/packs/cilium/tags/list')).json(), { name: 'packs/cilium', tags: ['1.15.2', '1.15.x', '1.x'] });
    const manifest = (await gw.client.send('GET', '/v2/packs/cilium/manifests/1.x', { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } })).json<{
      artifactType: string; config: { mediaType: string }; layers: { mediaType: string; digest: string }[];
    }>();
    assert.equal(manifest.artifactType, PACK_ARTIFACT_TYPE);
    assert.equal(manifest.config.mediaType, PACK_CONFIG_MEDIA_TYPE);
    assert.deepEqual(manifest.layers.map((l) => [l.mediaType, l.digest]), [[PACK_LAYER_MEDIA_TYPE, sha256(zip)]]);
    const blob = await gw.client.send('GET', `/v2/packs/cilium/blobs/${sha256(zip)}`);
    assert.ok(blob.body.equals(zip), 'the OCI layer is the uploaded zip');
  });

  it('serves packctl: login (token flow, no offline token: password saved), push, ls, pull', async () => {
    const home = join(work.path, 'config');
    const caFile = join(work.path, 'ca.pem');
    writeFileSync(caFile, gw.server.caPem);
    const cli = (args: string[], input?: string) => runPackctl(args, { configHome: home, cwd: work.path, ...(input !== undefined ? { input } : {}) });
    const login = await cli(['login', gw.server.url, '-u', REGISTRY_ADMIN.user, '--password-stdin', '--ca-file', caFile], `${REGISTRY_ADMIN.password}\n`);
    assert.equal(login.code, 0, login.stderr);
    assert.equal(JSON.parse(readFileSync(join(home, 'pcg', 'packctl.json'), 'utf8')).registries[gw.server.url].password, REGISTRY_ADMIN.password);
    const push = await cli(['push', FIXTURE_DIR]);
    assert.equal(push.code, 0, push.stderr);
    const ls = await cli(['ls', '--json']);
    assert.deepEqual((JSON.parse(ls.stdout) as { name: string; version: string }[]).map((p) => `${p.name}:${p.version}`), ['cilium:1.15.2', 'hello-addon:1.2.3']);
    const pull = await cli(['pull', 'hello-addon:1.x', '-o', join(work.path, 'out')]);
    assert.equal(pull.code, 0, pull.stderr);
    const wrong = await cli(['login', gw.server.url, '-u', REGISTRY_ADMIN.user, '--password-stdin', '--ca-file', caFile], 'nope\n');
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /^PCG_ERR_UNAUTHENTICATED: /);
  });

  it('a pack pushed over /v2/ (blobs, then its manifest under packs/<name>) is in /v1/packs at once, and an OCI delete removes it', async () => {
    const name = 'oci-on-gateway';
    const zip = await testPackZip({ name, version: '2.0.0', layer: 'addon' });
    const config = Buffer.from(JSON.stringify({ name, displayName: name, version: '2.0.0', layer: 'addon', cloudTypes: ['all'] }));
    for (const blob of [zip, config]) {
      const res = await gw.client.send('POST', `/v2/packs/${name}/blobs/uploads/?digest=${sha256(blob)}`, { body: blob, headers: { 'content-type': 'application/octet-stream' } });
      assert.equal(res.status, 201, res.body.toString());
    }
    const manifest = packManifestBytes({ name, version: '2.0.0', config: { digest: sha256(config) as Digest, size: config.length }, archive: { digest: sha256(zip) as Digest, size: zip.length }, message: null });
    const put = await gw.client.send('PUT', `/v2/packs/${name}/manifests/2.0.0`, { body: manifest, headers: { 'content-type': OCI_MANIFEST_MEDIA_TYPE } });
    assert.equal(put.status, 201, put.body.toString());
    // No waiting and no reindex(): the push's answer is the moment the listing shows it.
    const listed = async () => (await gw.client.send('GET', `/v1/packs?name=${name}`)).json().items as Array<{ version: string; digest: string }>;
    assert.deepEqual((await listed()).map((p) => [p.version, p.digest]), [['2.0.0', sha256(zip)]]);
    const deleted = await gw.client.send('DELETE', `/v2/packs/${name}/manifests/${put.headers['docker-content-digest'] as string}`);
    assert.equal(deleted.status, 202);
    assert.deepEqual(await listed(), []);
  });
});
