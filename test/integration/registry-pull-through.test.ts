import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { systemClock } from '../../proto/clock.js';
import { loadGatewayConfig } from '../../gateway/config/gateway-config.js';
import { GatewayDaemon } from '../../gateway/daemon/gateway-daemon.js';
import { PublicUpstream } from '../../gateway/registry/public-upstream.js';
import { ApiClient } from '../support/api-client.js';
import { ConnectProxy } from '../support/connect-proxy.js';
import { createGateway, pairCli } from '../support/gateway-fixture.js';
import { silentLog as log } from '../support/job-fixtures.js';
import { OciClient } from '../support/oci-client.js';
import { importPublicPacks, type ImportedPack } from '../support/public-packs.js';
import { relayGets, settledRelayGets } from '../support/relay-access-log.js';
import { RelayProcess } from '../support/relay-fixture.js';
import { tempDir } from '../support/temp-dir.js';

const sha256 = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;
interface Manifest { layers: Array<{ digest: string; size: number }>; config: { digest: string } }
interface OciErrors { errors: Array<{ code: string; detail: { code?: string } | null }> }

/** Files a failed transfer could leave: temp files of monolithic pushes (`.put-*`) anywhere in the registry folder. */
function tempFiles(dir: string): string[] {
  return (readdirSync(dir, { recursive: true }) as string[]).filter((p) => p.split('/').pop()!.startsWith('.put-'));
}

/**
 * Pull-through (issue 8): a paired gateway (GatewayDaemon, its real HTTPS server) serves public
 * packs it does not hold by pulling them from the relay's public registry over HTTPS with its
 * client certificate, once per blob; the relay's own request log is the count.
 */
describe('registry: pull-through of public packs from the relay', function () {
  this.timeout(120_000);
  const dir = tempDir('registry-pull-through');
  let relay: RelayProcess;
  let daemon: GatewayDaemon;
  let gw: OciClient;
  let fromRelay: OciClient;
  let imported: Map<string, ImportedPack>;
  let state: string;

  before(async () => {
    const dataDir = join(dir.path, 'relay');
    imported = new Map((await importPublicPacks(dataDir)).map((p) => [p.name, p]));
    relay = await RelayProcess.start({ dataDir });
    const tenant = await relay.createTenant('pull-through');
    const api = new ApiClient(relay.url, relay.caCert, tenant.apiKey);
    const created = await createGateway(api, 'dc-pull');
    state = join(dir.path, 'gw');
    assert.equal((await pairCli(relay, state, created.pairingCode)).code, 0);
    const passwordFile = join(dir.path, 'registry-password');
    writeFileSync(passwordFile, 'pull-admin-pw\n', { mode: 0o600 });
    const config = loadGatewayConfig([`--state-dir=${state}`, '--https-host=127.0.0.1', '--https-port=0', '--registry-username=admin', `--registry-password-file=${passwordFile}`], {});
    daemon = await GatewayDaemon.create(config, { clock: systemClock, log, proxy: {} });
    gw = OciClient.create(daemon.httpsUrl, readFileSync(join(state, 'gateway-ca.crt'), 'utf8'), OciClient.basic('admin', 'pull-admin-pw'));
    fromRelay = OciClient.create(relay.url, relay.caCert, `Bearer ${tenant.apiKey}`);
  });
  after(async () => {
    gw.close();
    fromRelay.close();
    await daemon.close();
    await relay.stop();
    dir.remove();
  });

  it('goes through HTTPS_PROXY like the tunnel: the proxy sees one CONNECT to the relay, the client certificate still reaches the relay', async () => {
    const proxy = await ConnectProxy.start('tunnel');
    const upstream = await PublicUpstream.ofStateDir(state, { proxy: { httpsProxy: proxy.url } });
    try {
      const manifest = await upstream!.manifest('packs/ubuntu', '22.4.0');
      assert.ok(manifest, 'the relay answered through the proxy');
      assert.equal(manifest.digest, (await fromRelay.send('HEAD', '/v2/packs/ubuntu/manifests/22.4.0')).headers['docker-content-digest']);
      assert.deepEqual(proxy.connects, [new URL(relay.url).host]);
      const direct = await PublicUpstream.ofStateDir(state, { proxy: { httpsProxy: proxy.url, noProxy: '127.0.0.1' } });
      assert.ok(await direct!.manifest('packs/ubuntu', '22.4.0'));
      await direct!.close();
      assert.equal(proxy.connects.length, 1, 'NO_PROXY bypasses it');
    } finally {
      await upstream!.close();
      await proxy.close();
    }
  });

  it('16 concurrent pulls of a blob the gateway lacks: byte-identical, and the relay served it exactly once', async () => {
    const manifest = (await fromRelay.send('GET', '/v2/packs/ubuntu/manifests/22.4.0')).json<Manifest>();
    const { digest, size } = manifest.layers[0]!;
    assert.equal(digest, imported.get('ubuntu')!.digest);
    const path = `/v2/packs/ubuntu/blobs/${digest}`;
    assert.equal(relayGets(relay, path), 0);
    const replies = await Promise.all(Array.from({ length: 16 }, () => gw.send('GET', path)));
    assert.deepEqual(replies.map((r) => r.status), Array<number>(16).fill(200));
    for (const reply of replies) assert.equal(Buffer.compare(reply.body, replies[0]!.body), 0);
    assert.deepEqual([replies[0]!.body.length, sha256(replies[0]!.body)], [size, digest]);
    assert.equal(await settledRelayGets(relay, path), 1, 'the relay served the blob once for 16 pulls');
    const later = await gw.send('GET', path);
    assert.deepEqual([later.status, sha256(later.body)], [200, digest]);
    assert.equal(await settledRelayGets(relay, path), 1, 'a later pull is served from the gateway');
  });

  it('a manifest pulls its blobs through; /v1/packs then serves the pack, with the relay\'s manifest digest', async () => {
    const viaOci = await gw.send('GET', '/v2/packs/kubernetes/manifests/1.30.2');
    assert.equal(viaOci.status, 200, viaOci.body.toString());
    const relayPack = (await fromRelay.send('GET', '/v1/packs/kubernetes/1.30.2')).json<{ manifestDigest: string; digest: string }>();
    assert.equal(viaOci.headers['docker-content-digest'], relayPack.manifestDigest);
    const archive = await gw.send('GET', '/v1/packs/kubernetes/1.30.2/archive');
    assert.deepEqual([archive.status, sha256(archive.body)], [200, imported.get('kubernetes')!.digest]);
    assert.equal((await gw.send('GET', '/v1/packs/kubernetes/1.30.2')).json<{ manifestDigest: string }>().manifestDigest, relayPack.manifestDigest);
    assert.equal(await settledRelayGets(relay, `/v2/packs/kubernetes/blobs/${relayPack.digest}`), 1);

    // Straight to the native API, nothing pulled before: the archive nodes fetch.
    const calico = imported.get('calico')!;
    const direct = await gw.send('GET', '/v1/packs/calico/3.27.0/archive');
    assert.deepEqual([direct.status, sha256(direct.body)], [200, calico.digest]);
    assert.equal(await settledRelayGets(relay, `/v2/packs/calico/blobs/${calico.digest}`), 1);
    const listed = (await gw.send('GET', '/v1/packs?name=calico')).json<{ items: Array<{ name: string; version: string; digest: string }> }>();
    assert.deepEqual(listed.items.map((p) => [p.name, p.version, p.digest]), [['calico', '3.27.0', calico.digest]]);
    assert.equal((await gw.send('GET', '/v1/packs/calico/9.9.9/archive')).status, 404, 'neither side has it');
  });

  it('a /v1/packs 401 carries the same kind of challenge as /v2/, on the gateway and on the relay', async () => {
    const anonymous = gw.as(undefined);
    const pull = await anonymous.send('GET', '/v1/packs/calico/3.27.0/archive');
    assert.equal(pull.status, 401);
    assert.equal(pull.headers['www-authenticate'], `Bearer realm="${daemon.httpsUrl}/v2/token",service="pcg-registry",scope="repository:packs/calico:pull"`);
    assert.equal(pull.json<{ code: string }>().code, 'PCG_ERR_UNAUTHENTICATED');
    const push = await anonymous.send('POST', '/v1/packs', { headers: { 'content-type': 'application/zip' }, body: 'PK' });
    assert.equal(push.headers['www-authenticate'], `Bearer realm="${daemon.httpsUrl}/v2/token",service="pcg-registry",scope="repository:packs/*:pull,push"`);
    const relayList = await fromRelay.as(undefined).send('GET', '/v1/packs');
    assert.equal(relayList.status, 401);
    assert.equal(relayList.headers['www-authenticate'], `Bearer realm="${relay.url}/v2/token",service="pcg-registry",scope="repository:packs/*:pull"`);
    assert.equal((await anonymous.send('GET', '/v2/')).headers['www-authenticate'], `Bearer realm="${daemon.httpsUrl}/v2/token",service="pcg-registry"`);
  });

  it('relay unreachable: 503 PCG_ERR_REGISTRY_UNREACHABLE on both APIs and nothing stored; served once the relay is back', async () => {
    await relay.stop();
    const oci = await gw.send('GET', '/v2/packs/vsphere-csi/manifests/3.1.0');
    assert.equal(oci.status, 503);
    assert.deepEqual(oci.json<OciErrors>().errors.map((e) => [e.code, e.detail?.code]), [['UNKNOWN', 'PCG_ERR_REGISTRY_UNREACHABLE']]);
    const native = await gw.send('GET', '/v1/packs/vsphere-csi/3.1.0/archive');
    assert.deepEqual([native.status, native.json<{ code: string }>().code], [503, 'PCG_ERR_REGISTRY_UNREACHABLE']);
    assert.equal((await gw.send('GET', '/v2/packs/vsphere-csi/tags/list')).status, 404, 'no manifest, no tag');
    assert.equal((await gw.send('GET', `/v2/packs/vsphere-csi/blobs/${imported.get('vsphere-csi')!.digest}`)).status, 503);
    assert.deepEqual(tempFiles(join(state, 'registry')), []);
    assert.equal((await gw.send('GET', '/v1/packs?name=vsphere-csi')).json<{ items: unknown[] }>().items.length, 0);

    relay = await relay.restart();
    const again = await gw.send('GET', '/v1/packs/vsphere-csi/3.1.0/archive');
    assert.deepEqual([again.status, sha256(again.body)], [200, imported.get('vsphere-csi')!.digest]);
  });
});
