import { strict as assert } from 'node:assert';
import { cpSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { ApiClient } from '../support/api-client.js';
import type { Child } from '../support/child.js';
import { RELAY_CLI, runCli } from '../support/child.js';
import { createGateway, pairCli, runGateway } from '../support/gateway-fixture.js';
import { PostgresServer } from '../support/postgres-fixture.js';
import { RelayProcess } from '../support/relay-fixture.js';
import { tempDir } from '../support/temp-dir.js';
import { Vcsim } from '../support/vcsim-fixture.js';
import { waitFor } from '../support/wait-for.js';

interface InventoryBody { cloudAccountId: string; kind: string; items: Array<{ kind: string; id: string; name: string; path: string; datacenter: string | null }> }
interface Account { id: string; gatewayId: string; metadata: { vcenter: unknown } }

/**
 * Any relay serves any gateway: two relays on one PostgreSQL, the gateway's tunnel on A, the
 * question asked of B. B hands it to A through the store (LISTEN/NOTIFY) and answers with A's items.
 */
describe('inventory asked of a relay that does not hold the tunnel (two relays, one PostgreSQL)', function () {
  this.timeout(120_000);
  let postgres: PostgresServer;
  let url: string;
  let vcsim: Vcsim;
  let relayA: RelayProcess;
  let relayB: RelayProcess;
  let apiA: ApiClient;
  let apiB: ApiClient;
  let gateway: Child;
  let account: Account;
  const dir = tempDir('cross-relay');
  const state = join(dir.path, 'gw');
  const passwordFile = join(dir.path, 'vc-password');
  const start = (): Child => runGateway(state, ['--vcenter-host', vcsim.host, '--vcenter-user', vcsim.user, '--vcenter-password-file', passwordFile, '--vcenter-thumbprint', vcsim.thumbprint]);

  before(async () => {
    postgres = await PostgresServer.start();
    url = await postgres.createDatabase('pcg_cross');
    vcsim = await Vcsim.start({ dc: 2, cluster: 1, clusterHost: 2, host: 1, vm: 2, ds: 2, pg: 1, template: 1 });
    writeFileSync(passwordFile, vcsim.password, { mode: 0o600 });
    const dataA = join(dir.path, 'relay-a');
    relayA = await RelayProcess.start({ dataDir: dataA, args: ['--database-url', url, '--heartbeat', '1s', '--inventory-timeout', '2s'] });
    const dataB = join(dir.path, 'relay-b');
    cpSync(dataA, dataB, { recursive: true, filter: (src) => !src.includes('relay.db') });
    relayB = await RelayProcess.start({ dataDir: dataB, args: ['--database-url', url, '--heartbeat', '1s', '--inventory-timeout', '2s'] });
    const out = await runCli(RELAY_CLI, ['admin', 'create-tenant', '--data-dir', dataA, '--database-url', url, '--name', 'cross']);
    const apiKey = (JSON.parse(out.stdout) as { apiKey: string }).apiKey;
    apiA = new ApiClient(relayA.url, relayA.caCert, apiKey);
    apiB = new ApiClient(relayB.url, relayB.caCert, apiKey);
    const gw = await createGateway(apiA, 'dc-cross');
    assert.equal((await pairCli(relayA, state, gw.pairingCode)).code, 0);
    gateway = start();
    account = await waitFor('vCenter metadata on the cloud account', async () => {
      const [a] = (await apiB.get<Account[]>('/v1/cloudaccounts')).body;
      return a?.metadata.vcenter ? a : undefined;
    }, 30_000);
  });
  after(async () => {
    await gateway?.stop();
    await relayA?.stop();
    await relayB?.stop();
    await vcsim?.stop();
    await postgres?.stop();
    dir.remove();
  });

  it('B answers 200 with the same items as A, every kind, and the store shows B handed it to A', async () => {
    for (const kind of ['datacenter', 'folder', 'cluster', 'host', 'resourcepool', 'datastore', 'network', 'template']) {
      const fromA = await apiA.get<InventoryBody>(`/v1/cloudaccounts/${account.id}/inventory?kind=${kind}`);
      const fromB = await apiB.get<InventoryBody>(`/v1/cloudaccounts/${account.id}/inventory?kind=${kind}`);
      assert.equal(fromA.status, 200, kind);
      assert.equal(fromB.status, 200, `${kind}: ${JSON.stringify(fromB.body)}`);
      assert.ok(fromA.body.items.length > 0, kind);
      assert.deepEqual(fromB.body, fromA.body, kind);
    }
    const filtered = await apiB.get<InventoryBody>(`/v1/cloudaccounts/${account.id}/inventory?kind=template&datacenter=DC1`);
    assert.deepEqual(filtered.body.items.map((t) => [t.kind, t.datacenter]), [['template', 'DC1']]);
    // An independent look: B's requests went through the store, each claimed and answered once.
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const { rows } = await client.query<{ n: string; claimed: string; finished: string; relays: string }>(
        "select count(*) as n, count(claimed_at) as claimed, count(finished_at) as finished, count(distinct relay_id) as relays from tunnel_requests where operation = 'inventory'");
      assert.deepEqual(rows[0], { n: '9', claimed: '9', finished: '9', relays: '1' });
      const finals = await client.query<{ n: string }>('select count(*) as n from tunnel_replies where final = 1');
      assert.equal(finals.rows[0]!.n, '9');
    } finally {
      await client.end();
    }
  });

  it('a vCenter-side error travels back through B with its code', async () => {
    const bad = await apiB.get<{ code: string }>(`/v1/cloudaccounts/${account.id}/inventory?kind=planet`);
    assert.deepEqual([bad.status, bad.body.code], [400, 'PCG_ERR_BAD_REQUEST']);
  });

  it('a frozen gateway: B answers 504 within the inventory timeout; with no tunnel anywhere, 503', async () => {
    gateway.proc.kill('SIGSTOP');
    try {
      const started = Date.now();
      const slow = await apiB.get<{ code: string }>(`/v1/cloudaccounts/${account.id}/inventory?kind=host`);
      assert.deepEqual([slow.status, slow.body.code], [504, 'PCG_ERR_GATEWAY_TIMEOUT']);
      assert.ok(Date.now() - started < 4000, `${Date.now() - started} ms`);
    } finally {
      gateway.proc.kill('SIGCONT');
    }
    await gateway.stop();
    await waitFor('offline as seen by B', async () => (await apiB.get<{ status: string }>(`/v1/gateways/${account.gatewayId}`)).body.status === 'offline', 15_000);
    for (const api of [apiA, apiB]) {
      const offline = await api.get<{ code: string }>(`/v1/cloudaccounts/${account.id}/inventory?kind=host`);
      assert.deepEqual([offline.status, offline.body.code], [503, 'PCG_ERR_GATEWAY_OFFLINE']);
    }
    gateway = start();
    await waitFor('online again', async () => (await apiB.get<{ status: string }>(`/v1/gateways/${account.gatewayId}`)).body.status === 'online', 15_000);
    assert.equal((await apiB.get<InventoryBody>(`/v1/cloudaccounts/${account.id}/inventory?kind=datacenter`)).status, 200);
  });

  it('relay A killed with -9 while the store still shows the gateway online: B answers 503, not a hang', async () => {
    await relayA.child.kill9();
    const started = Date.now();
    const res = await apiB.get<{ code: string; message: string }>(`/v1/cloudaccounts/${account.id}/inventory?kind=host`);
    assert.deepEqual([res.status, res.body.code], [503, 'PCG_ERR_GATEWAY_OFFLINE']);
    assert.ok(Date.now() - started < 4500, `${Date.now() - started} ms`);
  });
});

/**
 * Two relay processes on one SQLite file: in-process signals cannot cross processes, so this is
 * the poll alone carrying the work, the safety net under LISTEN/NOTIFY.
 */
describe('routed requests between two relay processes on one SQLite file (poll only)', function () {
  this.timeout(60_000);
  const dir = tempDir('cross-sqlite');
  let relayA: RelayProcess;
  let relayB: RelayProcess;
  let gateway: Child | undefined;

  before(async () => {
    const data = join(dir.path, 'relay');
    relayA = await RelayProcess.start({ dataDir: data, args: ['--heartbeat', '1s'] });
    // One process owns the public registry folder: the second relay on the same data dir hosts none.
    relayB = await RelayProcess.start({ dataDir: data, args: ['--heartbeat', '1s', '--no-registry'] });
  });
  after(async () => {
    await gateway?.stop();
    await relayA.stop();
    await relayB.stop();
    dir.remove();
  });

  it("B hands the request to A and returns the gateway's own answer (no vCenter configured: 409)", async () => {
    const apiKey = (await relayA.createTenant('sqlite-cross')).apiKey;
    const apiA = new ApiClient(relayA.url, relayA.caCert, apiKey);
    const apiB = new ApiClient(relayB.url, relayB.caCert, apiKey);
    const gw = await createGateway(apiA, 'dc-sqlite');
    const state = join(dir.path, 'gw');
    assert.equal((await pairCli(relayA, state, gw.pairingCode)).code, 0);
    gateway = runGateway(state);
    await waitFor('online as seen by B', async () => (await apiB.get<{ status: string }>(`/v1/gateways/${gw.id}`)).body.status === 'online', 15_000);
    const [account] = (await apiB.get<Account[]>('/v1/cloudaccounts')).body;
    const res = await apiB.get<{ code: string }>(`/v1/cloudaccounts/${account!.id}/inventory?kind=host`);
    assert.deepEqual([res.status, res.body.code], [409, 'PCG_ERR_VCENTER_NOT_CONFIGURED']);
  });
});
