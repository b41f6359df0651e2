import { strict as assert } from 'node:assert';
import { ApiClient } from '../support/api-client.js';
import { StoreProbe, userWithRole, type ErrorBody } from '../support/cluster-api-fixture.js';
import { GatewayLab } from '../support/gateway-lab.js';
import { RelayProcess, type Tenant } from '../support/relay-fixture.js';

interface Pool { id: string; cloudAccountId: string; range: { start: string; end: string }; prefix: number; gateway: string | null; dns: string[]; size: number; allocated: number; free: number }

describe('IP pools API', function () {
  this.timeout(60_000);
  let relay: RelayProcess;
  let acme: Tenant;
  let api: ApiClient;
  let otherApi: ApiClient;
  let lab: GatewayLab;
  let accountId: string;
  let store: StoreProbe;

  before(async () => {
    relay = await RelayProcess.start();
    acme = await relay.createTenant('acme');
    api = new ApiClient(relay.url, relay.caCert, acme.apiKey);
    otherApi = api.withKey((await relay.createTenant('other')).apiKey);
    lab = new GatewayLab(() => relay, () => api);
    await lab.pair('dc1');
    accountId = (await api.get<Array<{ id: string }>>('/v1/cloudaccounts')).body[0]!.id;
    store = new StoreProbe(relay);
  });
  after(async () => {
    store.close();
    await lab.cleanup();
    await relay.stop();
  });

  it('creates range and subnet pools with size, allocated and free counts', async () => {
    const range = await api.post<Pool>(`/v1/cloudaccounts/${accountId}/ippools`, {
      name: 'range', range: { start: '10.10.0.10', end: '10.10.0.29' }, prefix: 24, gateway: '10.10.0.1', dns: ['10.10.0.2'], searchDomains: ['corp.local'],
    });
    assert.equal(range.status, 201, JSON.stringify(range.body));
    assert.deepEqual([range.body.size, range.body.allocated, range.body.free, range.body.gateway], [20, 0, 20, '10.10.0.1']);
    const subnet = await api.post<Pool>(`/v1/cloudaccounts/${accountId}/ippools`, { name: 'subnet', subnet: '172.16.4.0/24', gateway: '172.16.4.1' });
    assert.equal(subnet.status, 201, JSON.stringify(subnet.body));
    assert.deepEqual([subnet.body.range, subnet.body.prefix, subnet.body.size], [{ start: '172.16.4.2', end: '172.16.4.254' }, 24, 253]);
    const middle = await api.post<Pool>(`/v1/cloudaccounts/${accountId}/ippools`, { name: 'middle-gw', subnet: '172.16.5.0/29', gateway: '172.16.5.3' });
    assert.deepEqual([middle.body.range, middle.body.size], [{ start: '172.16.5.1', end: '172.16.5.6' }, 5], 'a gateway inside the hosts is left out of the count');
    const listed = await api.get<Pool[]>(`/v1/cloudaccounts/${accountId}/ippools`);
    assert.deepEqual(listed.body.map((p) => p.id), [range.body.id, subnet.body.id, middle.body.id]);
    assert.deepEqual((await api.get<Pool>(`/v1/ippools/${range.body.id}`)).body.dns, ['10.10.0.2']);
    const dup = await api.post<ErrorBody>(`/v1/cloudaccounts/${accountId}/ippools`, { name: 'range', subnet: '10.20.0.0/24' });
    assert.deepEqual([dup.status, dup.body.code], [409, 'PCG_ERR_CONFLICT']);
    assert.equal((await api.delete(`/v1/ippools/${middle.body.id}`)).status, 204);
  });

  it('refuses pools that cannot work, naming the field, and stores nothing', async () => {
    const before = store.counts().ip_pools;
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ range: { start: '10.0.0.20', end: '10.0.0.10' }, prefix: 24 }, /range.start 10.0.0.20 is after range.end 10.0.0.10/],
      [{ range: { start: '10.0.0.10', end: '10.0.1.10' }, prefix: 24 }, /range.end 10.0.1.10 is outside 10.0.0.0\/24/],
      [{ range: { start: '10.0.0.10', end: '10.0.0.20' }, prefix: 24, gateway: '10.0.0.15' }, /gateway 10.0.0.15 lies inside the range/],
      [{ range: { start: '10.0.0.10', end: '10.0.0.20' }, prefix: 24, gateway: '10.0.9.1' }, /range.start 10.0.0.10 is outside 10.0.9.0\/24 \(the gateway's network\)/],
      [{ range: { start: '10.0.0.0', end: '10.0.0.20' }, prefix: 24 }, /range.start 10.0.0.0 is the network or broadcast address/],
      [{ range: { start: '10.0.0.10', end: '10.0.0.20' } }, /needs its prefix/],
      [{ subnet: '10.0.0.0/24', range: { start: '10.0.0.10', end: '10.0.0.20' }, prefix: 24 }, /either range/],
      [{}, /either range/],
      [{ subnet: '10.0.0.1/24' }, /not a network address with a prefix/],
      [{ subnet: '10.0.0.0/24', prefix: 25 }, /prefix 25 differs from the subnet's \/24/],
      [{ subnet: '10.0.0.0/24', gateway: '10.0.1.1' }, /gateway 10.0.1.1 is not a host address of 10.0.0.0\/24/],
      [{ subnet: '10.0.0.0/15' }, /at most 65536 are allowed/],
      [{ range: { start: '10.0.0.1', end: '10.1.0.1' }, prefix: 8 }, /at most 65536 are allowed/],
      [{ subnet: '10.0.0.0/24', dns: ['not-an-ip'] }, /body\/dns\/0 must match pattern/],
    ];
    for (const [body, message] of cases) {
      const res = await api.post<ErrorBody>(`/v1/cloudaccounts/${accountId}/ippools`, { name: 'bad', ...body });
      assert.deepEqual([res.status, res.body.code], [400, 'PCG_ERR_BAD_REQUEST'], JSON.stringify(body));
      assert.match(res.body.message, message, JSON.stringify(body));
    }
    assert.equal(store.counts().ip_pools, before);
  });

  it('viewers read pools but cannot write; other tenants see 404', async () => {
    const pool = await api.post<Pool>(`/v1/cloudaccounts/${accountId}/ippools`, { name: 'rbac', subnet: '10.30.0.0/28', gateway: '10.30.0.1' });
    const viewer = await userWithRole(api, 'project-viewer', acme.projectId);
    assert.equal((await viewer.get<Pool>(`/v1/ippools/${pool.body.id}`)).status, 200);
    assert.ok((await viewer.get<Pool[]>(`/v1/cloudaccounts/${accountId}/ippools`)).body.some((p) => p.id === pool.body.id));
    for (const res of [
      await viewer.post<ErrorBody>(`/v1/cloudaccounts/${accountId}/ippools`, { name: 'v', subnet: '10.31.0.0/28' }),
      await viewer.delete<ErrorBody>(`/v1/ippools/${pool.body.id}`),
    ]) assert.deepEqual([res.status, res.body.code], [403, 'PCG_ERR_FORBIDDEN']);
    for (const res of [
      await otherApi.get<ErrorBody>(`/v1/ippools/${pool.body.id}`),
      await otherApi.delete<ErrorBody>(`/v1/ippools/${pool.body.id}`),
      await otherApi.get<ErrorBody>(`/v1/cloudaccounts/${accountId}/ippools`),
      await otherApi.post<ErrorBody>(`/v1/cloudaccounts/${accountId}/ippools`, { name: 'o', subnet: '10.32.0.0/28' }),
    ]) assert.deepEqual([res.status, res.body.code], [404, 'PCG_ERR_NOT_FOUND']);
    assert.equal((await api.get<Pool>(`/v1/ippools/${pool.body.id}`)).status, 200);
  });
});
