import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildPack } from '../../proto/packs/pack-builder.js';
import { FIXTURE_DIR } from '../fixtures/packs/pack-test-kit.js';
import { ApiClient } from '../support/api-client.js';
import { RELAY_CLI, runCli } from '../support/child.js';
import { profileBody, type ErrorBody } from '../support/cluster-api-fixture.js';
import { OciClient } from '../support/oci-client.js';
import { BASE_PACKS, importPublicPacks, type ImportedPack } from '../support/public-packs.js';
import { testPackZip } from '../support/packctl-packs.js';
import { RelayProcess, type Tenant } from '../support/relay-fixture.js';
import { tempDir } from '../support/temp-dir.js';

interface PackItem { name: string; version: string; layer: string; digest: string; source: string }
type Layer = { layer: string; registry: string; name: string; version: string; values: string; template?: string };

/** The relay's public pack registry: seeded with `pcg-relay packs import`, read with any tenant's API key, written by the operator only. */
describe('public pack registry on the relay', function () {
  this.timeout(120_000);
  const dir = tempDir('relay-public-registry');
  const dataDir = join(dir.path, 'relay');
  const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
  let imported: ImportedPack[];
  let relay: RelayProcess;
  let tenant: Tenant;
  let api: ApiClient;
  let oci: OciClient;
  const operator = OciClient.basic('operator', 'op-secret-1');

  before(async () => {
    // Packs a valid profile cannot combine: an old kubernetes and a CNI calico and hello-addon do not support.
    const oldK8s = join(dir.path, 'kubernetes-1.27.0.zip');
    writeFileSync(oldK8s, await testPackZip({ name: 'kubernetes', version: '1.27.0', layer: 'k8s' }));
    const flannel = join(dir.path, 'cni-flannel-0.25.0.zip');
    writeFileSync(flannel, await testPackZip({ name: 'cni-flannel', version: '0.25.0', layer: 'cni' }));
    imported = await importPublicPacks(dataDir, [...BASE_PACKS, FIXTURE_DIR, oldK8s, flannel]);
    const passwordFile = join(dir.path, 'operator-password');
    writeFileSync(passwordFile, 'op-secret-1\n', { mode: 0o600 });
    relay = await RelayProcess.start({ dataDir, args: ['--registry-username', 'operator', '--registry-password-file', passwordFile] });
    tenant = await relay.createTenant('acme');
    api = new ApiClient(relay.url, relay.caCert, tenant.apiKey);
    oci = OciClient.create(relay.url, relay.caCert, `Bearer ${tenant.apiKey}`);
  });
  after(async () => {
    oci.close();
    await relay.stop();
    dir.remove();
  });

  it('imports folders and zips offline, one JSON line per pack; the registry folder is 0700 and refuses a second owner', async () => {
    assert.deepEqual(imported.map((p) => `${p.name}:${p.version}`),
      ['ubuntu:22.4.0', 'kubernetes:1.30.2', 'calico:3.27.0', 'vsphere-csi:3.1.0', 'hello-addon:1.2.3', 'kubernetes:1.27.0', 'cni-flannel:0.25.0']);
    assert.ok(imported.every((p) => /^sha256:[0-9a-f]{64}$/.test(p.digest)));
    const registryDir = join(dataDir, 'registry');
    assert.equal((statSync(registryDir).mode & 0o777).toString(8), '700');
    for (const file of ['token.key', 'owner.lock', 'store/registry.db', 'packs/packs.db']) {
      assert.equal((statSync(join(registryDir, file)).mode & 0o777).toString(8), '600', file);
    }
    const busy = await runCli(RELAY_CLI, ['packs', 'import', BASE_PACKS[0]!, '--data-dir', dataDir]);
    assert.equal(busy.code, 1);
    assert.match(busy.stderr, /^PCG_ERR_REGISTRY_LOCKED: .*owned by pid \d+/);
    const bad = await runCli(RELAY_CLI, ['packs', 'import', join(dir.path, 'operator-password'), '--data-dir', join(dir.path, 'elsewhere')]);
    assert.deepEqual([bad.code, bad.stderr.split(':')[0]], [1, 'PCG_ERR_PACK_ARCHIVE']);
    assert.equal(existsSync(join(dir.path, 'elsewhere')), false, 'a refused import opens no registry');
    const usage = await runCli(RELAY_CLI, ['packs', 'import', BASE_PACKS[0]!]);
    assert.deepEqual([usage.code, usage.stderr.split(':')[0]], [2, 'PCG_ERR_CONFIG_INVALID']);
  });

  it('lists public packs with their source for any tenant, and downloads them byte for byte', async () => {
    const listed = await api.get<{ items: PackItem[]; nextCursor: string | null }>('/v1/packs?source=public&layer=k8s');
    assert.equal(listed.status, 200, JSON.stringify(listed.body));
    assert.deepEqual(listed.body.items.map((p) => [p.name, p.version, p.source]), [['kubernetes', '1.27.0', 'public'], ['kubernetes', '1.30.2', 'public']]);
    const all = await api.withKey((await relay.createTenant('other')).apiKey).get<{ items: PackItem[] }>('/v1/packs');
    assert.deepEqual(all.body.items.map((p) => p.digest).sort(), imported.map((p) => p.digest).sort());
    // Gateway indexes are synced to the relay (pack-sync.test.ts); a gateway the tenant does not have is 404.
    const gateway = await api.get<ErrorBody>('/v1/packs?source=gateway:gw_1');
    assert.deepEqual([gateway.status, gateway.body.code], [404, 'PCG_ERR_NOT_FOUND']);
    assert.deepEqual([(await api.get<ErrorBody>('/v1/packs?source=everything')).status], [400]);
    assert.deepEqual([(await api.withKey(undefined).get<ErrorBody>('/v1/packs')).body.code], ['PCG_ERR_UNAUTHENTICATED']);

    const zip = (await buildPack(FIXTURE_DIR, { compress: false })).zip;
    const download = await oci.send('GET', '/v1/packs/hello-addon/1.2.3/archive');
    assert.equal(download.status, 200);
    assert.ok(download.body.equals(zip), 'the archive is the zip packs import built');
    assert.equal(download.headers['docker-content-digest'], imported.find((p) => p.name === 'hello-addon')!.digest);
  });

  it('serves OCI pulls with an API key as the bearer; a tenant key cannot push, the operator can', async () => {
    assert.equal((await oci.as(undefined).send('GET', '/v2/')).status, 401);
    assert.equal((await oci.send('GET', '/v2/')).status, 200);
    const manifest = await oci.send('GET', '/v2/packs/calico/manifests/3.27.0', { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
    assert.equal(manifest.status, 200, manifest.body.toString());
    const layer = manifest.json<{ layers: Array<{ digest: string }> }>().layers[0]!.digest;
    const blob = await oci.send('GET', `/v2/packs/calico/blobs/${layer}`);
    assert.equal(sha256(blob.body), layer);
    assert.equal(layer, imported.find((p) => p.name === 'calico')!.digest);

    const zip = await testPackZip({ name: 'metallb', version: '0.14.5', layer: 'addon' });
    const push = (client: OciClient) => client.send('POST', '/v1/packs', { headers: { 'content-type': 'application/zip' }, body: zip });
    const refused = await push(oci);
    assert.deepEqual([refused.status, refused.json<ErrorBody>().code], [403, 'PCG_ERR_FORBIDDEN']);
    const ociPush = await oci.send('POST', `/v2/packs/metallb/blobs/uploads/?digest=${sha256(zip)}`, { body: zip });
    assert.deepEqual([ociPush.status, ociPush.json<{ errors: Array<{ code: string }> }>().errors[0]!.code], [403, 'DENIED']);
    const revoked = await oci.as('Bearer pcg_key_AAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA').send('GET', '/v1/packs');
    assert.deepEqual([revoked.status, revoked.json<ErrorBody>().code], [401, 'PCG_ERR_UNAUTHENTICATED']);
    const pushed = await push(oci.as(operator));
    assert.equal(pushed.status, 201, pushed.body.toString());
    assert.equal((await api.get<{ items: PackItem[] }>('/v1/packs?name=metallb')).body.items[0]!.source, 'public');
    assert.equal((await oci.as(operator).send('DELETE', '/v1/packs/metallb/0.14.5')).status, 204);
    assert.equal((await oci.send('DELETE', '/v1/packs/calico/3.27.0')).status, 403);
  });

  it('checks profiles against the public registry: missing pack, wrong slot, required and notSupported dependencies', async () => {
    const path = `/v1/projects/${tenant.projectId}/profiles`;
    const body = (name: string, edit: (layers: Layer[]) => Layer[] = (l) => l) => {
      const base = profileBody(name, { registry: 'public' }) as { layers: Layer[] };
      return { ...base, layers: edit(base.layers) };
    };
    const addon: Layer = { layer: 'addon', registry: 'public', name: 'hello-addon', version: '1.2.3', values: 'replicas: 1\n' };
    const refusals: Array<[string, Layer[] | ((l: Layer[]) => Layer[]), string, RegExp]> = [
      ['missing pack', (l) => [l[0]!, l[1]!, { ...l[2]!, version: '3.28.0' }, l[3]!], 'PCG_ERR_PROFILE_PACK', /layers\[2\] \(cni "calico"\): the public registry has no pack calico:3\.28\.0/],
      ['wrong layer', (l) => [l[0]!, l[1]!, l[2]!, { ...l[3]!, name: 'calico', version: '3.27.0' }], 'PCG_ERR_PROFILE_PACK', /calico:3\.27\.0 is a cni pack; the csi slot needs a csi pack/],
      ['required missing', (l) => [l[0]!, { ...l[1]!, version: '1.27.0' }, l[2]!, l[3]!, addon], 'PCG_ERR_PACK_DEPENDENCY',
        /hello-addon:1\.2\.3 requires kubernetes \(k8s, 1\.28\.0 to 1\.31\.99\); it has kubernetes:1\.27\.0/],
      ['notSupported present', (l) => [l[0]!, l[1]!, { ...l[2]!, name: 'cni-flannel', version: '0.25.0' }, l[3]!, addon], 'PCG_ERR_PACK_DEPENDENCY',
        /hello-addon:1\.2\.3 does not support cni-flannel \(cni\), which the profile has as cni-flannel:0\.25\.0/],
    ];
    for (const [label, edit, code, message] of refusals) {
      const res = await api.post<ErrorBody>(path, body(label.replace(/ /g, '-'), edit as (l: Layer[]) => Layer[]));
      assert.deepEqual([res.status, res.body.code], [422, code], `${label}: ${JSON.stringify(res.body)}`);
      assert.match(res.body.message, message, label);
    }
    assert.deepEqual((await api.get<unknown[]>(path)).body, [], 'no refused profile was stored');

    const accepted = await api.post<{ id: string; layers: Layer[] }>(path, body('all-hold', (l) => [...l, addon]));
    assert.equal(accepted.status, 201, JSON.stringify(accepted.body));
    assert.deepEqual(accepted.body.layers.map((l) => `${l.registry}/${l.name}:${l.version}`),
      ['public/ubuntu:22.4.0', 'public/kubernetes:1.30.2', 'public/calico:3.27.0', 'public/vsphere-csi:3.1.0', 'public/hello-addon:1.2.3']);
    // The update path checks too; layers of another registry are not looked up (their index arrives with sync).
    const update = await api.send<ErrorBody>('PUT', `/v1/profiles/${accepted.body.id}`, body('all-hold', (l) => [l[0]!, { ...l[1]!, version: '1.27.0' }, l[2]!, l[3]!, addon]));
    assert.deepEqual([update.status, update.body.code], [422, 'PCG_ERR_PACK_DEPENDENCY']);
    const privateLayer = await api.send<ErrorBody>('PUT', `/v1/profiles/${accepted.body.id}`, body('all-hold', (l) => [l[0]!, l[1]!, l[2]!, { ...l[3]!, registry: 'private', name: 'not-here' }]));
    assert.equal(privateLayer.status, 200, JSON.stringify(privateLayer.body));
  });
});
