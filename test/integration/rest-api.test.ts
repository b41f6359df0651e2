import { strict as assert } from 'node:assert';
import { ApiClient } from '../support/api-client.js';
import { createGateway } from '../support/gateway-fixture.js';
import { RelayProcess, type Tenant } from '../support/relay-fixture.js';

interface ErrorBody { code: string; message: string }

describe('relay REST API', function () {
  this.timeout(30_000);
  let relay: RelayProcess;
  let acme: Tenant;
  let other: Tenant;
  let api: ApiClient;
  let otherApi: ApiClient;

  before(async () => {
    relay = await RelayProcess.start();
    acme = await relay.createTenant('acme');
    other = await relay.createTenant('other');
    api = new ApiClient(relay.url, relay.caCert, acme.apiKey);
    otherApi = api.withKey(other.apiKey);
  });
  after(() => relay.stop());

  it('refuses requests without a valid API key with 401 and a code', async () => {
    for (const client of [api.withKey(undefined), api.withKey('pcg_key_AAAAAAAAAAAAAAAAAAAA.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx')]) {
      const res = await client.get<ErrorBody>('/v1/gateways');
      assert.equal(res.status, 401);
      assert.equal(res.body.code, 'PCG_ERR_UNAUTHENTICATED');
    }
  });

  it("another tenant's gateway, project and cloud account are 404", async () => {
    const gw = await createGateway(api, 'dc1');
    for (const path of [`/v1/gateways/${gw.id}`, `/v1/projects/${acme.projectId}`]) {
      const res = await otherApi.get<ErrorBody>(path);
      assert.equal(res.status, 404, path);
      assert.equal(res.body.code, 'PCG_ERR_NOT_FOUND');
    }
    assert.equal((await otherApi.delete<ErrorBody>(`/v1/gateways/${gw.id}`)).status, 404);
    assert.equal((await otherApi.post<ErrorBody>(`/v1/gateways/${gw.id}/pairing-code`)).status, 404);
    assert.deepEqual((await otherApi.get<unknown[]>('/v1/gateways')).body, []);
    assert.equal((await api.get<{ status: string }>(`/v1/gateways/${gw.id}`)).body.status, 'pending-pairing');
  });

  it('bad bodies get 400 with the offending field named', async () => {
    const cases: Array<[unknown, RegExp]> = [
      [{}, /body must have required property 'name'/],
      [{ name: '' }, /body\/name must NOT have fewer than 1 characters/],
      [{ name: 'x', extra: true }, /must NOT have additional properties/],
      [{ name: 42 }, /body\/name must be string/],
    ];
    for (const [body, message] of cases) {
      const res = await api.post<ErrorBody>('/v1/gateways', body);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal(res.body.code, 'PCG_ERR_BAD_REQUEST');
      assert.match(res.body.message, message);
    }
    const broken = await api.send<ErrorBody>('POST', '/v1/gateways', undefined, '{"name":');
    assert.equal(broken.status, 400);
    assert.equal(broken.body.code, 'PCG_ERR_BAD_REQUEST');
    const unknown = await api.get<ErrorBody>('/v1/nothing-here');
    assert.deepEqual([unknown.status, unknown.body.code], [404, 'PCG_ERR_NOT_FOUND']);
  });

  it('projects, users with roles and API keys; a viewer cannot create gateways', async () => {
    const project = await api.post<{ id: string; name: string }>('/v1/projects', { name: 'edge' });
    assert.equal(project.status, 201);
    assert.equal((await api.post<ErrorBody>('/v1/projects', { name: 'edge' })).body.code, 'PCG_ERR_CONFLICT');
    const user = await api.post<{ id: string; grants: unknown[] }>('/v1/users', { email: 'viewer@acme.io', name: 'Viewer', grants: [{ role: 'project-viewer', projectId: project.body.id }] });
    assert.equal(user.status, 201);
    const key = await api.post<{ apiKey: string; id: string }>(`/v1/users/${user.body.id}/apikeys`, { name: 'laptop' });
    assert.equal(key.status, 201);
    const viewer = api.withKey(key.body.apiKey);
    const denied = await viewer.post<ErrorBody>('/v1/gateways', { name: 'nope' });
    assert.deepEqual([denied.status, denied.body.code], [403, 'PCG_ERR_FORBIDDEN']);
    assert.deepEqual((await viewer.get<Array<{ id: string }>>('/v1/projects')).body.map((p) => p.id), [project.body.id]);
    const listed = await api.get<Array<{ id: string; revokedAt: string | null }>>('/v1/apikeys');
    assert.ok(listed.body.some((k) => k.id === key.body.id && k.revokedAt === null));
    assert.ok(!JSON.stringify(listed.body).includes(key.body.apiKey.split('.')[1]!), 'secrets are shown once only');
    assert.equal((await api.delete(`/v1/apikeys/${key.body.id}`)).status, 204);
    assert.equal((await viewer.get<ErrorBody>('/v1/projects')).status, 401);
  });

  it('serves OpenAPI at /docs/json with every route', async () => {
    const doc = await api.withKey(undefined).get<{ openapi: string; paths: Record<string, unknown> }>('/docs/json');
    assert.equal(doc.status, 200);
    assert.match(doc.body.openapi, /^3\./);
    for (const path of ['/v1/gateways', '/v1/gateways/{id}', '/v1/gateways/{id}/pairing-code', '/v1/cloudaccounts', '/v1/projects', '/v1/users', '/v1/apikeys', '/v1/tenant']) {
      assert.ok(path in doc.body.paths, path);
    }
  });
});
