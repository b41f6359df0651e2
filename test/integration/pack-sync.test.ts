import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiClient } from '../support/api-client.js';
import type { Child } from '../support/child.js';
import { runGateway } from '../support/gateway-fixture.js';
import { GatewayLab } from '../support/gateway-lab.js';
import { OciClient } from '../support/oci-client.js';
import { testPackZip } from '../support/packctl-packs.js';
import { RelayProcess } from '../support/relay-fixture.js';
import { tempDir } from '../support/temp-dir.js';
import { waitFor } from '../support/wait-for.js';

interface PackItem { name: string; version: string; layer: string; digest: string; source: string }
interface PackSyncView { gatewayId: string; status: string; message: string | null; generation: number | null; lastSyncedTime: string | null; lastRunTime: string | null; packs: number }

/**
 * A gateway's private pack index mirrored on the relay (registry.index over the tunnel): real
 * `pcg-relay serve` and `pcg-gateway run` processes, packs pushed to the gateway's embedded
 * registry over HTTPS with its admin account, read back through the relay's API.
 */
describe('pack sync: a gateway\'s private packs on the relay', function () {
  this.timeout(120_000);
  const work = tempDir('pack-sync');
  let relay: RelayProcess;
  let api: ApiClient;
  let apiKey: string;
  let lab: GatewayLab;
  let gateway: { id: string; dir: string };
  let child: Child;
  let registry: OciClient;

  const listed = async (client: ApiClient = api): Promise<string[]> => {
    const res = await client.get<{ items: PackItem[] }>(`/v1/packs?source=gateway:${gateway.id}`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    for (const item of res.body.items) assert.equal(item.source, `gateway:${gateway.id}`);
    return res.body.items.map((p) => `${p.name}:${p.version}`);
  };
  /** Pushes a pack to the gateway's registry; returns its archive digest. */
  const push = async (name: string, version: string): Promise<string> => {
    const zip = await testPackZip({ name, version, layer: 'addon' });
    const res = await registry.send('POST', `/v1/packs?name=${name}`, { headers: { 'content-type': 'application/zip' }, body: zip });
    assert.equal(res.status, 201, res.body.toString());
    return `sha256:${createHash('sha256').update(zip).digest('hex')}`;
  };

  before(async () => {
    relay = await RelayProcess.start({ args: ['--heartbeat', '500ms'] });
    apiKey = (await relay.createTenant('pack-sync')).apiKey;
    api = new ApiClient(relay.url, relay.caCert, apiKey);
    lab = new GatewayLab(() => relay, () => api);
    gateway = await lab.pair('dc-packs');
    const passwordFile = join(work.path, 'registry-password');
    writeFileSync(passwordFile, 'sync-admin-pw\n', { mode: 0o600 });
    child = runGateway(gateway.dir, ['--https-host=127.0.0.1', '--registry-username=admin', `--registry-password-file=${passwordFile}`]);
    lab.onCleanup(() => child.stop());
    const listening = await child.waitForLog('gateway HTTPS listening');
    registry = OciClient.create(listening.url as string, readFileSync(join(gateway.dir, 'gateway-ca.crt'), 'utf8'), OciClient.basic('admin', 'sync-admin-pw'));
    await lab.online(gateway.id);
  });
  after(async () => {
    registry?.close();
    await lab.cleanup();
    await relay.stop();
    work.remove();
  });

  it('reports the (empty) index on connect: status ok, no packs', async () => {
    const sync = await waitFor('first report', async () => {
      const res = await api.get<PackSyncView>(`/v1/gateways/${gateway.id}/pack-sync`);
      return res.body.status === 'ok' ? res.body : undefined;
    });
    assert.equal(sync.packs, 0);
    assert.equal(sync.message, null);
    assert.ok(sync.lastSyncedTime !== null && sync.lastRunTime !== null);
    assert.deepEqual(await listed(), []);
  });

  it('a private push shows up within seconds, a delete disappears', async () => {
    await push('sync-addon', '1.0.0');
    const digest = await push('sync-addon', '1.1.0');
    await waitFor('pushes listed', async () => (await listed()).length === 2 || undefined, 10_000, 200);
    assert.deepEqual(await listed(), ['sync-addon:1.0.0', 'sync-addon:1.1.0']);
    const items = (await api.get<{ items: PackItem[] }>(`/v1/packs?source=gateway:${gateway.id}&name=sync-addon`)).body.items;
    assert.deepEqual(items.map((p) => [p.version, p.layer, p.digest]), [['1.0.0', 'addon', items[0]!.digest], ['1.1.0', 'addon', digest]]);
    const deleted = await registry.send('DELETE', '/v1/packs/sync-addon/1.0.0');
    assert.equal(deleted.status, 204, deleted.body.toString());
    await waitFor('delete gone', async () => (await listed()).length === 1 || undefined, 10_000, 200);
    assert.deepEqual(await listed(), ['sync-addon:1.1.0']);
    const sync = (await api.get<PackSyncView>(`/v1/gateways/${gateway.id}/pack-sync`)).body;
    assert.equal(sync.status, 'ok');
    assert.equal(sync.packs, 1);
  });

  it('is tenant-scoped: another tenant\'s API key gets 404 for this gateway', async () => {
    const other = api.withKey((await relay.createTenant('pack-sync-other')).apiKey);
    const list = await other.get<{ code: string }>(`/v1/packs?source=gateway:${gateway.id}`);
    assert.equal(list.status, 404);
    assert.equal(list.body.code, 'PCG_ERR_NOT_FOUND');
    const status = await other.get<{ code: string }>(`/v1/gateways/${gateway.id}/pack-sync`);
    assert.equal(status.status, 404);
    assert.equal(status.body.code, 'PCG_ERR_NOT_FOUND');
    const anonymous = await api.withKey(undefined).get<{ code: string }>(`/v1/packs?source=gateway:${gateway.id}`);
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.body.code, 'PCG_ERR_UNAUTHENTICATED');
  });

  it('sync now: a full report, acknowledged, status ok with a newer generation', async () => {
    const before = (await api.get<PackSyncView>(`/v1/gateways/${gateway.id}/pack-sync`)).body;
    const res = await api.post<PackSyncView>(`/v1/gateways/${gateway.id}/pack-sync`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.status, 'ok');
    assert.equal(res.body.packs, 1);
    assert.ok(res.body.generation! > before.generation!, `${res.body.generation} > ${before.generation}`);
  });

  it('after the relay is killed (-9) and restarted, the index is complete again, changes included', async () => {
    await relay.child.kill9();
    // Changed while the relay is down: only a report after the restart can carry these.
    await push('sync-addon', '2.0.0');
    await push('other-pack', '0.1.0');
    relay = await relay.restart();
    api = new ApiClient(relay.url, relay.caCert, apiKey);
    await lab.online(gateway.id, api);
    const want = ['other-pack:0.1.0', 'sync-addon:1.1.0', 'sync-addon:2.0.0'];
    await waitFor('index complete after restart', async () => JSON.stringify(await listed()) === JSON.stringify(want) || undefined, 20_000, 200);
    const sync = (await api.get<PackSyncView>(`/v1/gateways/${gateway.id}/pack-sync`)).body;
    assert.equal(sync.status, 'ok');
    assert.equal(sync.packs, 3);
  });
});
