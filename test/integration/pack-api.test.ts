import { strict as assert } from 'node:assert';
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Agent, fetch, FormData, type Response } from 'undici';
import { zipOf } from '../fixtures/packs/pack-test-kit.js';
import { testPackZip } from '../support/packctl-packs.js';
import { startPackServer, type PackServer } from '../support/packctl-server.js';

const OPS = `Basic ${Buffer.from('ops:ops-secret').toString('base64')}`;
const READER = `Basic ${Buffer.from('reader:reader-secret').toString('base64')}`;
const sha256 = (b: Buffer): `sha256:${string}` => `sha256:${createHash('sha256').update(b).digest('hex')}`;

describe('pack API /v1/packs', () => {
  let server: PackServer;
  let agent: Agent;
  const call = (path: string, init: { method?: string; body?: Buffer | FormData | string; headers?: Record<string, string> } = {}): Promise<Response> =>
    fetch(`${server.url}${path}`, { ...init, headers: { authorization: OPS, ...init.headers }, dispatcher: agent });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are asserted field by field
  const json = async (response: Response): Promise<any> => response.json();
  const upload = (zip: Buffer, query = '') => call(`/v1/packs${query}`, { method: 'POST', body: zip, headers: { 'content-type': 'application/zip' } });

  before(async () => {
    server = await startPackServer({ maxArchiveBytes: 256 * 1024 });
    agent = new Agent({ connect: { ca: readFileSync(server.caFile, 'utf8') } });
  });
  after(async () => {
    await agent.close();
    await server.close();
  });

  it('uploads raw and multipart, lists with filters and pages, downloads byte-identical, deletes', async () => {
    const calico = await testPackZip({ name: 'calico', version: '3.26.1', layer: 'cni', cloudTypes: ['vsphere'] });
    const raw = await upload(calico, '?name=calico&message=first');
    assert.equal(raw.status, 201);
    const created = await json(raw);
    assert.equal(created.digest, sha256(calico));
    assert.equal(created.message, 'first');
    assert.deepEqual(created.tags, ['3.26.x', '3.x']);
    assert.equal(created.pack.layer, 'cni');
    assert.equal((await upload(calico)).status, 200, 'the same bytes again change nothing');

    const form = new FormData();
    const k8s = await testPackZip({ name: 'kubernetes', version: '1.30.2', layer: 'k8s' });
    form.append('file', new Blob([new Uint8Array(k8s)], { type: 'application/zip' }), 'kubernetes-1.30.2.zip');
    const multipart = await call('/v1/packs', { method: 'POST', body: form });
    assert.equal(multipart.status, 201, await multipart.clone().text());
    // Above the gateway server's 64 KiB body limit for JSON: archives stream past it, to the pack limit.
    const noise = randomBytes(120 * 1024).toString('base64');
    const large = await testPackZip({ name: 'large', version: '1.0.0', values: `noise: ${noise}\n` });
    assert.ok(large.length > 65_536);
    assert.equal((await upload(large)).status, 201);
    const largeForm = new FormData();
    largeForm.append('file', new Blob([new Uint8Array(await testPackZip({ name: 'large', version: '1.0.1', values: `noise: ${noise}\n` }))]), 'large.zip');
    assert.equal((await call('/v1/packs', { method: 'POST', body: largeForm })).status, 201);
    assert.equal((await call('/v1/packs/large/1.0.0', { method: 'DELETE' })).status, 204);
    assert.equal((await call('/v1/packs/large/1.0.1', { method: 'DELETE' })).status, 204);
    for (const v of ['1.29.0', '1.31.0-rc.1']) assert.equal((await upload(await testPackZip({ name: 'kubernetes', version: v, layer: 'k8s' }))).status, 201);

    const ids = (body: { items: { name: string; version: string }[] }) => body.items.map((i) => `${i.name}:${i.version}`);
    assert.deepEqual(ids(await json(await call('/v1/packs'))), ['calico:3.26.1', 'kubernetes:1.29.0', 'kubernetes:1.30.2', 'kubernetes:1.31.0-rc.1']);
    assert.deepEqual(ids(await json(await call('/v1/packs?layer=cni'))), ['calico:3.26.1']);
    assert.deepEqual(ids(await json(await call('/v1/packs?cloudType=aws'))), ['kubernetes:1.29.0', 'kubernetes:1.30.2', 'kubernetes:1.31.0-rc.1']);
    const page1 = await json(await call('/v1/packs?name=kubernetes&limit=2'));
    assert.deepEqual(ids(page1), ['kubernetes:1.29.0', 'kubernetes:1.30.2']);
    const page2 = await json(await call(`/v1/packs?name=kubernetes&limit=2&cursor=${page1.nextCursor}`));
    assert.deepEqual(ids(page2), ['kubernetes:1.31.0-rc.1']);
    assert.equal(page2.nextCursor, null);

    const one = await json(await call('/v1/packs/kubernetes/1.x'));
    assert.equal(one.version, '1.30.2');
    assert.equal(one.pack.name, 'kubernetes');
    const download = await call('/v1/packs/kubernetes/1.30.2/archive');
    assert.equal(download.status, 200);
    assert.equal(download.headers.get('docker-content-digest'), sha256(k8s));
    assert.equal(download.headers.get('etag'), `"${sha256(k8s)}"`);
    assert.ok(Buffer.from(await download.arrayBuffer()).equals(k8s), 'the download is the upload, byte for byte');
    assert.equal((await call('/v1/packs/kubernetes/1.30.2/archive', { headers: { 'if-none-match': `"${sha256(k8s)}"` } })).status, 304);
    assert.ok(Buffer.from(await (await call(`/v1/packs/calico/${sha256(calico)}/archive`)).arrayBuffer()).equals(calico));

    assert.equal((await call('/v1/packs/kubernetes/1.30.2', { method: 'DELETE' })).status, 204);
    assert.deepEqual(await json(await call('/v1/packs/kubernetes/1.30.2')), { code: 'PCG_ERR_NOT_FOUND', message: (await json(await call('/v1/packs/kubernetes/1.30.2'))).message });
    assert.equal((await json(await call('/v1/packs/kubernetes/1.x'))).version, '1.29.0');
    assert.deepEqual(await server.store.listTags('packs/kubernetes'), ['1.29.0', '1.29.x', '1.31.0-rc.1', '1.x']);
  });

  it('refuses an invalid archive with its code and issues, and stores nothing', async () => {
    const repositories = await server.store.listRepositories();
    const bad = await zipOf({ 'pack.json': JSON.stringify({ name: 'broken', displayName: 'B', version: 'one', layer: 'gpu', cloudTypes: ['all'] }), 'values.yaml': '' });
    const response = await upload(bad);
    assert.equal(response.status, 422);
    const body = await json(response);
    assert.equal(body.code, 'PCG_ERR_PACK_INVALID');
    assert.deepEqual((body.issues as { pointer: string }[]).map((i) => i.pointer).sort(), ['/layer']);
    const damaged = await upload(Buffer.from('PK\u0003\u0004 not really a zip'));
    assert.equal(damaged.status, 400);
    assert.equal((await json(damaged)).code, 'PCG_ERR_PACK_ARCHIVE');
    const big = await upload(Buffer.alloc(300 * 1024, 1));
    assert.equal(big.status, 413);
    assert.equal((await json(big)).code, 'PCG_ERR_PACK_TOO_LARGE');
    const mismatch = await upload(await testPackZip({ name: 'other', version: '1.0.0' }), '?name=calico');
    assert.equal((await json(mismatch)).code, 'PCG_ERR_PACK_MISMATCH');
    assert.deepEqual(await server.store.listRepositories(), repositories, 'no repository appeared');
    assert.equal(await server.store.statBlob('packs/broken', sha256(bad)), undefined);
    assert.deepEqual(readdirSync(join(server.dir, 'packs', 'pack-uploads')), [], 'no spooled upload left');
  });

  it('asks the authorizer before reading an upload, and answers 401/403 with codes', async () => {
    server.asked.length = 0;
    const zip = await testPackZip({ name: 'secret-pack', version: '1.0.0' });
    const anonymous = await fetch(`${server.url}/v1/packs?name=secret-pack`, { method: 'POST', body: zip, headers: { 'content-type': 'application/zip' }, dispatcher: agent });
    assert.equal(anonymous.status, 401);
    assert.equal((await json(anonymous)).code, 'PCG_ERR_UNAUTHENTICATED');
    const reader = await call('/v1/packs?name=secret-pack', { method: 'POST', body: zip, headers: { 'content-type': 'application/zip', authorization: READER } });
    assert.equal(reader.status, 403);
    assert.equal((await json(reader)).code, 'PCG_ERR_FORBIDDEN');
    assert.deepEqual(server.asked, ['push packs/secret-pack', 'push packs/secret-pack']);
    assert.equal((await call('/v1/packs?name=secret-pack', { headers: { authorization: READER } })).status, 200);
    assert.deepEqual(await server.store.listTags('packs/secret-pack'), []);
  });

  it('keeps parent tags and refuses to delete them by hand; labels come and go', async () => {
    const put = (tag: string, version: string) => call(`/v1/packs/calico/tags/${tag}`, { method: 'PUT', body: JSON.stringify({ version }), headers: { 'content-type': 'application/json' } });
    assert.equal((await upload(await testPackZip({ name: 'calico', version: '3.27.0', layer: 'cni' }))).status, 201);
    assert.deepEqual(await json(await put('lts__3.26', '3.26.1')), { tag: 'lts__3.26', version: '3.26.1', kind: 'label' });
    assert.equal((await json(await call('/v1/packs/calico/tags/3.x'))).version, '3.27.0');
    const reserved = await call('/v1/packs/calico/tags/3.x', { method: 'DELETE' });
    assert.equal(reserved.status, 409);
    assert.equal((await json(reserved)).code, 'PCG_ERR_PACK_TAG_RESERVED');
    assert.equal((await json(await put('3.x', '3.26.1'))).code, 'PCG_ERR_PACK_TAG_RESERVED');
    assert.equal((await call('/v1/packs/calico/tags/lts__3.26', { method: 'DELETE' })).status, 204);
    assert.equal((await call('/v1/packs/calico/tags/lts__3.26')).status, 404);
  });
});
