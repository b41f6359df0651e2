import { strict as assert } from 'node:assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiClient } from '../../support/api-client.js';
import type { Child } from '../../support/child.js';
import { createGateway, pairCli, runGateway } from '../../support/gateway-fixture.js';
import { RelayProcess } from '../../support/relay-fixture.js';
import { tempDir } from '../../support/temp-dir.js';
import { Vcsim } from '../../support/vcsim-fixture.js';
import { waitFor } from '../../support/wait-for.js';

interface Account { id: string; gatewayId: string; metadata: { vcenter: null | { host: string; thumbprint: string; version: string; datacenters: string[] } } }
interface InventoryBody { cloudAccountId: string; kind: string; items: Array<{ kind: string; name: string; datacenter: string; capacity?: number }> }

describe('gateway cloud account: vCenter metadata and live inventory through the tunnel', function () {
  this.timeout(90_000);
  let vcsim: Vcsim;
  let relay: RelayProcess;
  let api: ApiClient;
  let gateway: Child;
  let account: Account;
  const dir = tempDir('inv-tunnel');
  const state = join(dir.path, 'gw');
  const passwordFile = join(dir.path, 'vc-password');
  const start = () => runGateway(state, ['--vcenter-host', vcsim.host, '--vcenter-user', vcsim.user, '--vcenter-password-file', passwordFile, '--vcenter-thumbprint', vcsim.thumbprint]);

  before(async () => {
    vcsim = await Vcsim.start({ dc: 2, cluster: 1, clusterHost: 2, host: 1, vm: 2, ds: 2, pg: 1, template: 1 });
    writeFileSync(passwordFile, vcsim.password, { mode: 0o600 });
    relay = await RelayProcess.start({ args: ['--heartbeat', '1s', '--inventory-timeout', '1s'] });
    api = new ApiClient(relay.url, relay.caCert, (await relay.createTenant('inv')).apiKey);
    const gw = await createGateway(api, 'dc-inventory');
    assert.equal((await pairCli(relay, state, gw.pairingCode)).code, 0);
    gateway = start();
    account = await waitFor('vCenter metadata on the cloud account', async () => {
      const [a] = (await api.get<Account[]>('/v1/cloudaccounts')).body;
      return a?.metadata.vcenter ? a : undefined;
    }, 20_000);
  });
  after(async () => {
    await gateway.stop();
    await relay.stop();
    await vcsim.stop();
    dir.remove();
  });

  it('keeps host, thumbprint, version and datacenters on the account, never the password', () => {
    assert.deepEqual({ ...account.metadata.vcenter, reportedAt: undefined }, {
      host: vcsim.host, thumbprint: vcsim.thumbprint, version: '6.5.0', datacenters: ['DC0', 'DC1'], reportedAt: undefined,
    });
    for (const { name, text } of relay.storeFiles()) assert.ok(!text.includes(vcsim.password), name);
    assert.ok(!relay.logs.includes(vcsim.password));
    assert.ok(!(gateway.stdout + gateway.stderr).includes(vcsim.password));
  });

  it('answers GET /v1/cloudaccounts/:id/inventory from vCenter via the gateway', async () => {
    const datastores = await api.get<InventoryBody>(`/v1/cloudaccounts/${account.id}/inventory?kind=datastore`);
    assert.equal(datastores.status, 200);
    assert.equal(datastores.body.items.length, vcsim.counts.datastore);
    assert.ok(datastores.body.items.every((d) => d.kind === 'datastore' && d.capacity! > 0));
    const templates = await api.get<InventoryBody>(`/v1/cloudaccounts/${account.id}/inventory?kind=template&datacenter=DC1`);
    assert.deepEqual(templates.body.items.map((t) => [t.kind, t.datacenter]), [['template', 'DC1']]);
    const bad = await api.get<{ code: string }>(`/v1/cloudaccounts/${account.id}/inventory?kind=planet`);
    assert.deepEqual([bad.status, bad.body.code], [400, 'PCG_ERR_BAD_REQUEST']);
  });

  it('a gateway that does not answer in time gives 504; an offline one 503', async () => {
    gateway.proc.kill('SIGSTOP');
    try {
      const slow = await api.get<{ code: string }>(`/v1/cloudaccounts/${account.id}/inventory?kind=host`);
      assert.deepEqual([slow.status, slow.body.code], [504, 'PCG_ERR_GATEWAY_TIMEOUT']);
    } finally {
      gateway.proc.kill('SIGCONT');
    }
    await gateway.stop();
    await waitFor('session gone', async () => (await api.get<{ status: string }>(`/v1/gateways/${account.gatewayId}`)).body.status === 'offline');
    const offline = await api.get<{ code: string }>(`/v1/cloudaccounts/${account.id}/inventory?kind=host`);
    assert.deepEqual([offline.status, offline.body.code], [503, 'PCG_ERR_GATEWAY_OFFLINE']);
    gateway = start();
  });
});
