import { strict as assert } from 'node:assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiClient } from '../../support/api-client.js';
import type { Child } from '../../support/child.js';
import { profileBody, StoreProbe, type ErrorBody } from '../../support/cluster-api-fixture.js';
import { runGateway } from '../../support/gateway-fixture.js';
import { GatewayLab } from '../../support/gateway-lab.js';
import { RelayProcess, type Tenant } from '../../support/relay-fixture.js';
import { tempDir } from '../../support/temp-dir.js';
import { Vcsim } from '../../support/vcsim-fixture.js';
import { waitFor } from '../../support/wait-for.js';

interface Item { kind: string; name: string; path: string; datacenter: string | null }

/**
 * The live placement check: a real paired gateway answers inventory from vcsim through the tunnel,
 * and the relay refuses unknown names and a VM posing as a template before anything is queued.
 */
describe('cluster create checks placement against live inventory', function () {
  this.timeout(120_000);
  let vcsim: Vcsim;
  let relay: RelayProcess;
  let tenant: Tenant;
  let api: ApiClient;
  let lab: GatewayLab;
  let gateway: Child;
  let store: StoreProbe;
  let accountId: string;
  let gatewayId: string;
  let placement: Record<string, string>;
  let templateProfile: string;
  let vmProfile: string;
  const dir = tempDir('placement');

  const inventory = async (kind: string) => (await api.get<{ items: Item[] }>(`/v1/cloudaccounts/${accountId}/inventory?kind=${kind}&datacenter=DC0`)).body.items;
  const create = (name: string, overrides: Record<string, unknown> = {}) => api.post<ErrorBody & { state: string }>(`/v1/projects/${tenant.projectId}/clusters`, {
    name, profileId: templateProfile, cloudAccountId: accountId, placement, addressing: { mode: 'dhcp' },
    nodePools: { controlPlane: { count: 1, cpus: 2, memoryMiB: 2048, diskGiB: 20 }, workers: { count: 1, cpus: 2, memoryMiB: 2048, diskGiB: 20 } }, ...overrides,
  });

  before(async () => {
    vcsim = await Vcsim.start({ dc: 1, cluster: 1, clusterHost: 1, host: 1, vm: 2, ds: 1, pg: 1, template: 1 });
    const passwordFile = join(dir.path, 'vc-password');
    writeFileSync(passwordFile, vcsim.password, { mode: 0o600 });
    relay = await RelayProcess.start({ args: ['--heartbeat', '1s'] });
    tenant = await relay.createTenant('placement');
    api = new ApiClient(relay.url, relay.caCert, tenant.apiKey);
    lab = new GatewayLab(() => relay, () => api);
    const paired = await lab.pair('dc');
    gatewayId = paired.id;
    gateway = runGateway(paired.dir, ['--vcenter-host', vcsim.host, '--vcenter-user', vcsim.user, '--vcenter-password-file', passwordFile, '--vcenter-thumbprint', vcsim.thumbprint]);
    lab.onCleanup(() => gateway.stop());
    await lab.online(gatewayId);
    accountId = await waitFor('vCenter on the cloud account', async () => {
      const [account] = (await api.get<Array<{ id: string; metadata: { vcenter: unknown } }>>('/v1/cloudaccounts')).body;
      return account?.metadata.vcenter ? account.id : undefined;
    }, 20_000);
    const [cluster] = await inventory('cluster');
    const [datastore] = await inventory('datastore');
    const [network] = await inventory('network');
    const [template] = await inventory('template');
    placement = { datacenter: 'DC0', folder: 'vm', computeResource: cluster!.name, datastore: datastore!.name, network: network!.name };
    templateProfile = (await api.post<{ id: string }>(`/v1/projects/${tenant.projectId}/profiles`, profileBody('from-template', { template: template!.name }))).body.id;
    // vcsim names VMs <host>_VM<n> and <cluster>_RP0_VM<n>; the first of the datacenter became the template.
    const vm = ['DC0_H0_VM0', 'DC0_H0_VM1', 'DC0_C0_RP0_VM0', 'DC0_C0_RP0_VM1'].find((n) => n !== template!.name)!;
    vmProfile = (await api.post<{ id: string }>(`/v1/projects/${tenant.projectId}/profiles`, profileBody('from-vm', { template: vm }))).body.id;
    store = new StoreProbe(relay);
  });
  after(async () => {
    store?.close();
    await lab.cleanup();
    await relay.stop();
    await vcsim.stop();
    dir.remove();
  });

  it('refuses unknown placement names (422, naming field and value) and a VM as template, leaving no rows', async () => {
    const before = store.counts();
    for (const [field, value] of [['datacenter', 'DC9'], ['folder', 'no-such-folder'], ['computeResource', 'NoCluster'], ['datastore', 'NoDS'], ['network', 'No Net']] as const) {
      const res = await create(`bad-${field.toLowerCase()}`, { placement: { ...placement, [field]: value } });
      assert.deepEqual([res.status, res.body.code], [422, 'PCG_ERR_PLACEMENT_UNKNOWN'], `${field}: ${JSON.stringify(res.body)}`);
      assert.match(res.body.message, new RegExp(`placement\\.${field} "${value}" does not exist`));
    }
    const vm = await create('from-vm', { profileId: vmProfile });
    assert.deepEqual([vm.status, vm.body.code], [422, 'PCG_ERR_TEMPLATE_INVALID'], JSON.stringify(vm.body));
    assert.match(vm.body.message, /is not a VM template in datacenter DC0/);
    assert.deepEqual(store.counts(), before, 'nothing was written');
  });

  it('accepts names and paths that exist', async () => {
    const ok = await create('good');
    assert.equal(ok.status, 201, JSON.stringify(ok.body));
    const byPath = await create('by-path', { placement: { ...placement, folder: '/DC0/vm', computeResource: `host/${placement.computeResource}` } });
    assert.equal(byPath.status, 201, JSON.stringify(byPath.body));
  });

  it('queues without the check while the gateway is offline (the gateway checks at run time)', async () => {
    await gateway.stop();
    await waitFor('gateway offline', async () => (await lab.view(gatewayId)).status === 'offline', 20_000);
    const res = await create('offline', { placement: { ...placement, datastore: 'NoDS' } });
    assert.deepEqual([res.status, res.body.state], [201, 'provisioning'], JSON.stringify(res.body));
  });
});
