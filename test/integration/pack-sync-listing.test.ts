import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { OCI_MANIFEST_MEDIA_TYPE, type Digest } from '../../proto/registry/content-store.js';
import { packIndexDigest } from '../../proto/registry/pack-index-digest.js';
import { packManifestBytes } from '../../proto/registry/pack-artifact.js';
import type { PackIndexItem, RegistryIndexAckFrame } from '../../proto/schemas/frames.js';
import { ApiClient } from '../support/api-client.js';
import { GatewayLab } from '../support/gateway-lab.js';
import { OciClient } from '../support/oci-client.js';
import { testPackZip } from '../support/packctl-packs.js';
import { RawSession } from '../support/raw-session.js';
import { RelayProcess } from '../support/relay-fixture.js';
import { tempDir } from '../support/temp-dir.js';
import { waitFor } from '../support/wait-for.js';

interface PackItem { name: string; version: string; layer: string; cloudTypes: string[]; digest: string; source: string; tags?: string[] }
interface PackPage { items: PackItem[]; nextCursor: string | null }
interface ErrorBody { code: string; message: string }

const sha256 = (bytes: Buffer | string): Digest => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
const row = (name: string, version: string, layer: string, cloudTypes: string[]): PackIndexItem => ({ name, version, digest: sha256(`${name}:${version}`), layer, cloud_types: cloudTypes });
const INDEX = [
  row('csi-x', '1.10.0', 'csi', ['vsphere']), row('csi-x', '1.9.0', 'csi', ['aws']), row('csi-x', '1.9.0-rc.1', 'csi', ['all']),
  row('addon-y', '2.0.0', 'addon', ['vsphere', 'aws']), row('addon-y', '10.0.0', 'addon', ['maas']),
];

/** Reports INDEX for a paired gateway over a hand-driven session, as its daemon would. */
async function reportIndex(dir: string): Promise<RawSession> {
  const raw = await RawSession.open(dir);
  raw.send({ type: 'registry.index', id: 1, mode: 'full', generation: 1, packs: INDEX, index_digest: packIndexDigest(INDEX) });
  const ack = await waitFor('registry.index.ack', () => raw.received.find((f): f is RegistryIndexAckFrame => f.type === 'registry.index.ack'));
  assert.deepEqual([ack.generation, ack.resync], [1, false]);
  return raw;
}

/** Every page of a listing, each as `name:version` strings. */
async function pages(api: ApiClient, query: string): Promise<string[][]> {
  const all: string[][] = [];
  let cursor: string | null = null;
  do {
    const res: { status: number; body: PackPage } = await api.get<PackPage>(`/v1/packs?${query}${cursor ? `&cursor=${cursor}` : ''}`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    all.push(res.body.items.map((p) => `${p.name}:${p.version}`));
    cursor = res.body.nextCursor;
  } while (cursor);
  return all;
}

/** What `GET /v1/packs?source=gateway:<id>` must do on any relay: page and filter as source=public does. */
function gatewayListingCases(context: () => { api: ApiClient; gatewayId: string }): void {
  it('pages with limit and cursor in the public listing\'s order (name, then semver), each item labelled with its source', async () => {
    const { api, gatewayId } = context();
    const source = `source=gateway:${gatewayId}`;
    assert.deepEqual(await pages(api, `${source}&limit=2`), [['addon-y:2.0.0', 'addon-y:10.0.0'], ['csi-x:1.9.0-rc.1', 'csi-x:1.9.0'], ['csi-x:1.10.0']]);
    const first = (await api.get<PackPage>(`/v1/packs?${source}&limit=1`)).body;
    assert.deepEqual(first.items, [{ name: 'addon-y', version: '2.0.0', layer: 'addon', cloudTypes: ['vsphere', 'aws'], digest: sha256('addon-y:2.0.0'), source: `gateway:${gatewayId}` }]);
  });

  it('filters by layer, name and cloudType (packs for "all" match every cloud type), combined with paging', async () => {
    const { api, gatewayId } = context();
    const source = `source=gateway:${gatewayId}`;
    assert.deepEqual(await pages(api, `${source}&layer=csi&limit=2`), [['csi-x:1.9.0-rc.1', 'csi-x:1.9.0'], ['csi-x:1.10.0']]);
    assert.deepEqual(await pages(api, `${source}&cloudType=vsphere`), [['addon-y:2.0.0', 'csi-x:1.9.0-rc.1', 'csi-x:1.10.0']]);
    assert.deepEqual(await pages(api, `${source}&cloudType=maas&name=addon-y`), [['addon-y:10.0.0']]);
    assert.deepEqual(await pages(api, `${source}&cloudType=gcp&layer=addon`), [[]]);
  });

  it('refuses what the public listing refuses: a limit out of 1..1000, a cursor it did not make, an unknown filter (400)', async () => {
    const { api, gatewayId } = context();
    for (const query of ['limit=0', 'limit=1001', 'limit=ten', 'cursor=bm90LW91cnM', 'colour=red']) {
      const res = await api.get<ErrorBody>(`/v1/packs?source=gateway:${gatewayId}&${query}`);
      assert.deepEqual([res.status, res.body.code], [400, 'PCG_ERR_BAD_REQUEST'], query);
    }
    assert.match((await api.get<ErrorBody>(`/v1/packs?source=gateway:${gatewayId}&limit=0`)).body.message, /^limit must be 1 to 1000/);
    assert.deepEqual((await api.withKey(undefined).get<ErrorBody>(`/v1/packs?source=gateway:${gatewayId}`)).status, 401);
  });
}

describe('GET /v1/packs?source=gateway:<id> on a relay with the public registry', function () {
  this.timeout(120_000);
  const work = tempDir('pack-sync-listing');
  let relay: RelayProcess;
  let api: ApiClient;
  let lab: GatewayLab;
  let gatewayId: string;
  let raw: RawSession;
  let operator: OciClient;

  before(async () => {
    const passwordFile = join(work.path, 'operator-password');
    writeFileSync(passwordFile, 'op-secret-2\n', { mode: 0o600 });
    relay = await RelayProcess.start({ args: ['--registry-username', 'operator', '--registry-password-file', passwordFile] });
    api = new ApiClient(relay.url, relay.caCert, (await relay.createTenant('listing')).apiKey);
    lab = new GatewayLab(() => relay, () => api);
    const gateway = await lab.pair('dc-listing');
    gatewayId = gateway.id;
    raw = await reportIndex(gateway.dir);
    operator = OciClient.create(relay.url, relay.caCert, OciClient.basic('operator', 'op-secret-2'));
  });
  after(async () => {
    raw?.close();
    operator?.close();
    await lab.cleanup();
    await relay.stop();
    work.remove();
  });

  gatewayListingCases(() => ({ api, gatewayId }));

  it('a pack pushed with the OCI API (blobs, then the manifest under its version tag) is listed at once; an OCI delete unlists it at once', async () => {
    const name = 'oci-pushed';
    const listed = async (): Promise<PackItem[]> => (await api.get<PackPage>(`/v1/packs?source=public&name=${name}`)).body.items;
    assert.deepEqual(await listed(), []);
    const push = async (version: string): Promise<Digest> => {
      const zip = await testPackZip({ name, version, cloudTypes: ['vsphere'] });
      const config = Buffer.from(JSON.stringify({ name, displayName: name, version, layer: 'addon', cloudTypes: ['vsphere'] }));
      for (const blob of [zip, config]) {
        const res = await operator.send('POST', `/v2/packs/${name}/blobs/uploads/?digest=${sha256(blob)}`, { body: blob, headers: { 'content-type': 'application/octet-stream' } });
        assert.equal(res.status, 201, res.body.toString());
      }
      const manifest = packManifestBytes({ name, version, config: { digest: sha256(config), size: config.length }, archive: { digest: sha256(zip), size: zip.length }, message: null });
      const put = await operator.send('PUT', `/v2/packs/${name}/manifests/${version}`, { body: manifest, headers: { 'content-type': OCI_MANIFEST_MEDIA_TYPE } });
      assert.equal(put.status, 201, put.body.toString());
      // No waiting: the answer to the push is the moment the listing must show it.
      return sha256(zip);
    };
    const digest = await push('1.2.0');
    assert.deepEqual((await listed()).map((p) => [p.name, p.version, p.digest, p.cloudTypes, p.source]), [[name, '1.2.0', digest, ['vsphere'], 'public']]);
    await push('1.3.0');
    const both = await listed();
    assert.deepEqual(both.map((p) => [p.version, p.tags]), [['1.2.0', ['1.2.x']], ['1.3.0', ['1.3.x', '1.x']]], 'parent tags follow the newest version');
    const manifest = await operator.send('HEAD', `/v2/packs/${name}/manifests/1.3.0`);
    const deleted = await operator.send('DELETE', `/v2/packs/${name}/manifests/${manifest.headers['docker-content-digest'] as string}`);
    assert.equal(deleted.status, 202, deleted.body.toString());
    assert.deepEqual((await listed()).map((p) => [p.version, p.tags]), [['1.2.0', ['1.2.x', '1.x']]]);
  });

  it('/docs/json describes GET /v1/packs (source, filters, page) and GET/POST /v1/gateways/{id}/pack-sync with their answers', async () => {
    const doc = (await api.get<{ paths: Record<string, Record<string, { parameters?: Array<{ name: string; in: string }>; responses: Record<string, { content?: Record<string, { schema: { properties?: Record<string, unknown> } }> }> }>> }>('/docs/json')).body;
    const list = doc.paths['/v1/packs']?.get;
    assert.ok(list, 'GET /v1/packs is documented');
    assert.deepEqual(list.parameters!.filter((p) => p.in === 'query').map((p) => p.name).sort(), ['cloudType', 'cursor', 'layer', 'limit', 'name', 'source']);
    assert.deepEqual(Object.keys(list.responses['200']!.content!['application/json']!.schema.properties!).sort(), ['items', 'nextCursor']);
    assert.ok(list.responses['501'], 'the no-registry answer is documented');
    for (const method of ['get', 'post']) {
      const op = doc.paths['/v1/gateways/{id}/pack-sync']?.[method];
      assert.ok(op, `${method} /v1/gateways/{id}/pack-sync is documented`);
      assert.deepEqual(Object.keys(op.responses['200']!.content!['application/json']!.schema.properties!).sort(),
        ['gatewayId', 'generation', 'indexDigest', 'lastRunTime', 'lastSyncedTime', 'message', 'packs', 'status']);
    }
  });
});

describe('GET /v1/packs on a relay started with --no-registry', function () {
  this.timeout(120_000);
  let relay: RelayProcess;
  let api: ApiClient;
  let lab: GatewayLab;
  let gatewayId: string;
  let raw: RawSession;

  before(async () => {
    relay = await RelayProcess.start({ args: ['--no-registry'] });
    api = new ApiClient(relay.url, relay.caCert, (await relay.createTenant('no-registry')).apiKey);
    lab = new GatewayLab(() => relay, () => api);
    const gateway = await lab.pair('dc-no-registry');
    gatewayId = gateway.id;
    raw = await reportIndex(gateway.dir);
  });
  after(async () => {
    raw?.close();
    await lab.cleanup();
    await relay.stop();
  });

  gatewayListingCases(() => ({ api, gatewayId }));

  it('source=public (or none) answers 501 PCG_ERR_REGISTRY_NOT_HOSTED; a malformed source 400; another tenant\'s gateway 404', async () => {
    for (const query of ['?source=public', '', '?layer=k8s']) {
      const res = await api.get<ErrorBody>(`/v1/packs${query}`);
      assert.deepEqual([res.status, res.body.code], [501, 'PCG_ERR_REGISTRY_NOT_HOSTED'], query);
      assert.match(res.body.message, /--no-registry/);
    }
    const bad = await api.get<ErrorBody>('/v1/packs?source=everything');
    assert.deepEqual([bad.status, bad.body.code], [400, 'PCG_ERR_BAD_REQUEST']);
    const other = api.withKey((await relay.createTenant('no-registry-other')).apiKey);
    const hidden = await other.get<ErrorBody>(`/v1/packs?source=gateway:${gatewayId}`);
    assert.deepEqual([hidden.status, hidden.body.code], [404, 'PCG_ERR_NOT_FOUND']);
  });
});
