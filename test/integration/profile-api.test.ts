import { strict as assert } from 'node:assert';
import { ApiClient } from '../support/api-client.js';
import { profileBody, StoreProbe, userWithRole, type ErrorBody } from '../support/cluster-api-fixture.js';
import { RelayProcess, type Tenant } from '../support/relay-fixture.js';

interface Profile { id: string; projectId: string | null; name: string; layers: Array<{ layer: string; name: string; template?: string; values: string }> }

describe('cluster profiles API', function () {
  this.timeout(60_000);
  let relay: RelayProcess;
  let acme: Tenant;
  let api: ApiClient;
  let otherApi: ApiClient;
  let store: StoreProbe;

  before(async () => {
    relay = await RelayProcess.start();
    acme = await relay.createTenant('acme');
    api = new ApiClient(relay.url, relay.caCert, acme.apiKey);
    otherApi = api.withKey((await relay.createTenant('other')).apiKey);
    store = new StoreProbe(relay);
  });
  after(async () => {
    store.close();
    await relay.stop();
  });

  it('creates, reads, replaces and deletes a project profile; the os layer carries the template', async () => {
    const created = await api.post<Profile>(`/v1/projects/${acme.projectId}/profiles`, profileBody('base', { addons: 2 }));
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.projectId, acme.projectId);
    assert.deepEqual(created.body.layers.map((l) => l.layer), ['os', 'k8s', 'cni', 'csi', 'addon', 'addon']);
    assert.equal(created.body.layers[0]!.template, 'ubuntu-2204');
    assert.equal(created.body.layers[1]!.template, undefined);
    for (const path of [`/v1/profiles/${created.body.id}`, `/v1/projects/${acme.projectId}/profiles/${created.body.id}`]) {
      const got = await api.get<Profile>(path);
      assert.deepEqual([got.status, got.body.name], [200, 'base'], path);
    }
    const replaced = await api.send<Profile>('PUT', `/v1/profiles/${created.body.id}`, profileBody('base-v2', { template: 'ubuntu-2404' }));
    assert.equal(replaced.status, 200);
    assert.deepEqual([replaced.body.name, replaced.body.layers.length, replaced.body.layers[0]!.template], ['base-v2', 4, 'ubuntu-2404']);
    const clash = await api.post<ErrorBody>(`/v1/projects/${acme.projectId}/profiles`, profileBody('base-v2'));
    assert.deepEqual([clash.status, clash.body.code], [409, 'PCG_ERR_CONFLICT']);
    assert.equal((await api.delete(`/v1/profiles/${created.body.id}`)).status, 204);
    assert.equal((await api.get<ErrorBody>(`/v1/profiles/${created.body.id}`)).status, 404);
  });

  it('refuses invalid YAML naming the layer and line:column, and bad order, versions and templates; nothing is stored', async () => {
    const before = store.counts().cluster_profiles;
    const yaml = await api.post<ErrorBody>(`/v1/projects/${acme.projectId}/profiles`, profileBody('bad-yaml', { cniValues: 'mtu: 1450\nipam:\n  type: [host-local\n' }));
    assert.deepEqual([yaml.status, yaml.body.code], [400, 'PCG_ERR_VALUES_INVALID']);
    assert.match(yaml.body.message, /layers\[2\] \(cni "calico"\): values are not valid YAML at line \d+:\d+/);
    const dupKey = await api.post<ErrorBody>(`/v1/projects/${acme.projectId}/profiles`, profileBody('dup', { cniValues: 'mtu: 1\nmtu: 2\n' }));
    assert.deepEqual([dupKey.status, dupKey.body.code], [400, 'PCG_ERR_VALUES_INVALID']);
    assert.match(dupKey.body.message, /layers\[2\] \(cni "calico"\).* at line 2:1: Map keys must be unique/);
    const notMap = await api.post<ErrorBody>(`/v1/projects/${acme.projectId}/profiles`, profileBody('list', { cniValues: '- a\n- b\n' }));
    assert.deepEqual([notMap.status, notMap.body.code], [400, 'PCG_ERR_VALUES_INVALID']);

    const body = profileBody('order') as { layers: Array<Record<string, unknown>> };
    const cases: Array<[string, (layers: Array<Record<string, unknown>>) => unknown[], RegExp]> = [
      ['k8s before os', (l) => [l[1], l[0], l[2], l[3]], /layers\[0\] is "k8s" but must be "os"/],
      ['cni and csi swapped', (l) => [l[0], l[1], l[3], l[2]], /layers\[2\] is "csi" but must be "cni"/],
      ['two os layers', (l) => [l[0], l[0], l[2], l[3]], /layers\[1\] is "os" but must be "k8s"/],
      ['no csi', (l) => [l[0], l[1], l[2]], /needs the layers os, k8s, cni and csi/],
      ['addon before csi', (l) => [l[0], l[1], l[2], { ...l[3], layer: 'addon' }], /layers\[3\] is "addon" but must be "csi"/],
      ['bad semver', (l) => [l[0], { ...l[1], version: '1.30' }, l[2], l[3]], /version "1.30" is not a semantic version/],
      ['no template', (l) => [{ ...l[0], template: undefined }, l[1], l[2], l[3]], /must name the VM template/],
      ['template on k8s', (l) => [l[0], { ...l[1], template: 'x' }, l[2], l[3]], /only the os layer names a template/],
      ['unknown layer', (l) => [l[0], { ...l[1], layer: 'kernel' }, l[2], l[3]], /body\/layers\/1\/layer/],
    ];
    for (const [label, edit, message] of cases) {
      const res = await api.post<ErrorBody>(`/v1/projects/${acme.projectId}/profiles`, { ...body, layers: edit(body.layers) });
      assert.deepEqual([res.status, res.body.code], [400, 'PCG_ERR_BAD_REQUEST'], label);
      assert.match(res.body.message, message, label);
    }
    assert.equal(store.counts().cluster_profiles, before, 'no refused profile was stored');
  });

  it('viewers read only, project admins write their project, tenant-wide profiles need a tenant admin', async () => {
    const viewer = await userWithRole(api, 'project-viewer', acme.projectId);
    const admin = await userWithRole(api, 'project-admin', acme.projectId);
    const own = await admin.post<Profile>(`/v1/projects/${acme.projectId}/profiles`, profileBody('by-project-admin'));
    assert.equal(own.status, 201);
    const shared = await api.post<Profile>('/v1/profiles', profileBody('tenant-wide'));
    assert.deepEqual([shared.status, shared.body.projectId], [201, null]);
    const denied = await admin.post<ErrorBody>('/v1/profiles', profileBody('nope'));
    assert.deepEqual([denied.status, denied.body.code], [403, 'PCG_ERR_FORBIDDEN']);
    assert.equal((await admin.send<ErrorBody>('PUT', `/v1/profiles/${shared.body.id}`, profileBody('x'))).status, 403);

    const listed = await viewer.get<Profile[]>(`/v1/projects/${acme.projectId}/profiles`);
    assert.equal(listed.status, 200);
    assert.ok(listed.body.some((p) => p.id === own.body.id) && listed.body.some((p) => p.id === shared.body.id), 'a project lists its own and the tenant-wide profiles');
    assert.deepEqual((await viewer.get<Profile[]>('/v1/profiles')).body.map((p) => p.id), [shared.body.id]);
    assert.equal((await viewer.get(`/v1/profiles/${own.body.id}`)).status, 200);
    for (const res of [
      await viewer.post<ErrorBody>(`/v1/projects/${acme.projectId}/profiles`, profileBody('viewer')),
      await viewer.send<ErrorBody>('PUT', `/v1/profiles/${own.body.id}`, profileBody('viewer')),
      await viewer.delete<ErrorBody>(`/v1/profiles/${own.body.id}`),
      await viewer.delete<ErrorBody>(`/v1/profiles/${shared.body.id}`),
    ]) assert.deepEqual([res.status, res.body.code], [403, 'PCG_ERR_FORBIDDEN']);

    // A project the user has no grant in is invisible, not forbidden.
    const other = await api.post<{ id: string }>('/v1/projects', { name: 'elsewhere' });
    const hidden = await api.post<Profile>(`/v1/projects/${other.body.id}/profiles`, profileBody('hidden'));
    assert.equal((await viewer.get<ErrorBody>(`/v1/profiles/${hidden.body.id}`)).status, 404);
    assert.equal((await viewer.get<ErrorBody>(`/v1/projects/${other.body.id}/profiles`)).status, 404);
    assert.equal((await api.get<ErrorBody>(`/v1/projects/${acme.projectId}/profiles/${hidden.body.id}`)).status, 404, 'not in that project');
  });

  it("another tenant's profiles are 404 for every verb", async () => {
    const mine = await api.post<Profile>(`/v1/projects/${acme.projectId}/profiles`, profileBody('private'));
    for (const res of [
      await otherApi.get<ErrorBody>(`/v1/profiles/${mine.body.id}`),
      await otherApi.send<ErrorBody>('PUT', `/v1/profiles/${mine.body.id}`, profileBody('stolen')),
      await otherApi.delete<ErrorBody>(`/v1/profiles/${mine.body.id}`),
      await otherApi.get<ErrorBody>(`/v1/projects/${acme.projectId}/profiles`),
      await otherApi.post<ErrorBody>(`/v1/projects/${acme.projectId}/profiles`, profileBody('into-yours')),
    ]) assert.deepEqual([res.status, res.body.code], [404, 'PCG_ERR_NOT_FOUND']);
    assert.ok(!(await otherApi.get<Profile[]>('/v1/profiles')).body.some((p) => p.id === mine.body.id));
    assert.equal((await api.get<Profile>(`/v1/profiles/${mine.body.id}`)).body.name, 'private');
  });
});
