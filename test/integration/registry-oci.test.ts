import { strict as assert } from 'node:assert';
import { createHash, randomBytes } from 'node:crypto';
import Fastify from 'fastify';
import { Readable } from 'node:stream';
import type { Digest } from '../../proto/registry/content-store.js';
import { FsContentStore } from '../../proto/registry/fs-content-store.js';
import { ociRoutes } from '../../proto/registry/oci-routes.js';
import { RegistryAuth } from '../../proto/registry/registry-auth.js';
import { AuthLimiter } from '../../proto/registry/registry-auth-limiter.js';
import { ManualClock } from '../../proto/clock.js';
import { Secret } from '../../proto/secret.js';
import { OciClient, type OciReply } from '../support/oci-client.js';
import { REGISTRY_ADMIN, startOciRegistry, type OciRegistryFixture } from '../support/oci-registry-fixture.js';
import { tempDir } from '../support/temp-dir.js';

const sha = (data: string | Buffer): Digest => `sha256:${createHash('sha256').update(data).digest('hex')}`;
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const CONFIG = Buffer.from('{"architecture":"amd64","os":"linux"}');

function manifest(layers: Buffer[], extra: Record<string, unknown> = {}): Buffer {
  return Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: OCI_MANIFEST,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha(CONFIG), size: CONFIG.length },
    layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha(l), size: l.length })), ...extra,
  }));
}

/** The spec's error body, first entry's code. */
const codeOf = (reply: OciReply): string => reply.json<{ errors: Array<{ code: string }> }>().errors[0]!.code;

describe('registry: OCI distribution API v1.1 on the gateway HTTPS server', function () {
  this.timeout(60_000);
  let fx: OciRegistryFixture;
  let admin: OciClient;

  before(async () => {
    fx = await startOciRegistry('registry-oci');
    admin = fx.client;
  });
  after(async () => fx.close());

  const push = async (name: string, data: Buffer): Promise<OciReply> =>
    admin.send('POST', `/v2/${name}/blobs/uploads/?digest=${sha(data)}`, { body: data, headers: { 'content-type': 'application/octet-stream' } });

  describe('base and auth', () => {
    it('GET /v2/ without credentials: 401 UNAUTHORIZED with a Bearer challenge naming the token realm; with basic credentials 200', async () => {
      const anonymous = await admin.as(undefined).send('GET', '/v2/');
      assert.equal(anonymous.status, 401);
      assert.equal(anonymous.headers['www-authenticate'], `Bearer realm="${fx.server.url}/v2/token",service="pcg-registry"`);
      assert.equal(anonymous.headers['docker-distribution-api-version'], 'registry/2.0');
      assert.equal(codeOf(anonymous), 'UNAUTHORIZED');
      const ok = await admin.send('GET', '/v2/');
      assert.equal(ok.status, 200);
      assert.deepEqual(ok.json(), {});
      const wrong = await admin.as(OciClient.basic(REGISTRY_ADMIN.user, 'hunter2-not-it')).send('GET', '/v2/');
      assert.equal(wrong.status, 401);
      assert.equal(codeOf(wrong), 'UNAUTHORIZED');
      assert.equal(wrong.body.toString().includes('hunter2'), false, 'a password never comes back');
    });

    it('the challenge of a repository request carries its scope: pull for reads, pull,push for writes', async () => {
      const read = await admin.as(undefined).send('GET', '/v2/lib/app/manifests/v1');
      assert.equal(read.status, 401);
      assert.match(read.headers['www-authenticate']!, /^Bearer realm="[^"]+\/v2\/token",service="pcg-registry",scope="repository:lib\/app:pull"$/);
      const write = await admin.as(undefined).send('POST', '/v2/lib/app/blobs/uploads/');
      assert.equal(write.status, 401);
      assert.match(write.headers['www-authenticate']!, /scope="repository:lib\/app:pull,push"$/);
    });

    it('token flow: /v2/token grants only what the credentials allow; a pull token that pushes gets insufficient_scope', async () => {
      const refused = await admin.as(undefined).send('GET', '/v2/token?service=pcg-registry&scope=repository:lib/tok:pull');
      assert.equal(refused.status, 401);
      assert.equal(refused.headers['www-authenticate'], 'Basic realm="pcg-registry"');
      const issued = await admin.send('GET', '/v2/token?service=pcg-registry&scope=repository:lib/tok:pull');
      assert.equal(issued.status, 200);
      const { token, access_token, expires_in } = issued.json<{ token: string; access_token: string; expires_in: number }>();
      assert.equal(access_token, token);
      assert.equal(expires_in, 300);
      const bearer = admin.as(`Bearer ${token}`);
      assert.equal((await push('lib/tok', Buffer.from('tok'))).status, 201);
      assert.equal((await bearer.send('HEAD', `/v2/lib/tok/blobs/${sha('tok')}`)).status, 200);
      const denied = await bearer.send('POST', '/v2/lib/tok/blobs/uploads/');
      assert.equal(denied.status, 401);
      assert.match(denied.headers['www-authenticate']!, /scope="repository:lib\/tok:pull,push",error="insufficient_scope"$/);
      const other = await bearer.send('HEAD', `/v2/lib/other/blobs/${sha('tok')}`);
      assert.equal(other.status, 401, 'the token is scoped to lib/tok');
      const forged = await admin.as(`Bearer ${token.slice(0, -2)}xx`).send('GET', '/v2/');
      assert.equal(forged.status, 401);
      assert.match(forged.headers['www-authenticate']!, /error="invalid_token"/);
    });

    it("a cluster's pack read token pulls its packs (as bearer or as a basic password), nothing else, and never pushes: 403 DENIED", async () => {
      assert.equal((await push('packs/tok', Buffer.from('tok'))).status, 201);
      await fx.grantPacks('cluster-1', [{ name: 'tok', version: '1.0.0' }]);
      const readToken = fx.tokens.packReadTokenFor('cluster-1');
      const node = admin.as(`Bearer ${readToken}`);
      assert.equal((await node.send('HEAD', `/v2/packs/tok/blobs/${sha('tok')}`)).status, 200);
      assert.equal((await admin.as(OciClient.basic('node', readToken)).send('HEAD', `/v2/packs/tok/blobs/${sha('tok')}`)).status, 200);
      const outside = await node.send('HEAD', `/v2/lib/tok/blobs/${sha('tok')}`);
      assert.equal(outside.status, 403, 'lib/tok is no pack of cluster-1');
      const pushAttempt = await node.send('POST', '/v2/packs/tok/blobs/uploads/');
      assert.equal(pushAttempt.status, 403);
      assert.equal(codeOf(pushAttempt), 'DENIED');
      const nodeToken = fx.tokens.tokenFor('cluster-1', 'cp-0');
      assert.equal((await admin.as(`Bearer ${nodeToken}`).send('GET', '/v2/')).status, 401, "a node's phone-home token is not a read token");
    });
  });

  describe('blobs', () => {
    const data = randomBytes(200_000); // larger than the gateway's 64 KiB JSON body limit: streamed, not parsed

    it('monolithic push: 201 with Location and Docker-Content-Digest; GET returns the bytes, HEAD the size', async () => {
      const pushed = await push('lib/blobs', data);
      assert.equal(pushed.status, 201);
      assert.equal(pushed.headers.location, `/v2/lib/blobs/blobs/${sha(data)}`);
      assert.equal(pushed.headers['docker-content-digest'], sha(data));
      const got = await admin.send('GET', `/v2/lib/blobs/blobs/${sha(data)}`);
      assert.equal(got.status, 200);
      assert.equal(got.headers['content-type'], 'application/octet-stream');
      assert.equal(got.headers['docker-content-digest'], sha(data));
      assert.deepEqual(got.body, data);
      const head = await admin.send('HEAD', `/v2/lib/blobs/blobs/${sha(data)}`);
      assert.equal(head.status, 200);
      assert.equal(head.headers['content-length'], String(data.length));
      assert.equal(head.body.length, 0);
    });

    it('Range: 206 with Content-Range; beyond the end 416 with bytes */size', async () => {
      const part = await admin.send('GET', `/v2/lib/blobs/blobs/${sha(data)}`, { headers: { range: 'bytes=10-19' } });
      assert.equal(part.status, 206);
      assert.equal(part.headers['content-range'], `bytes 10-19/${data.length}`);
      assert.deepEqual(part.body, data.subarray(10, 20));
      const tail = await admin.send('GET', `/v2/lib/blobs/blobs/${sha(data)}`, { headers: { range: 'bytes=-5' } });
      assert.deepEqual(tail.body, data.subarray(data.length - 5));
      const beyond = await admin.send('GET', `/v2/lib/blobs/blobs/${sha(data)}`, { headers: { range: `bytes=${data.length}-` } });
      assert.equal(beyond.status, 416);
      assert.equal(beyond.headers['content-range'], `bytes */${data.length}`);
    });

    it('digest mismatch: 400 DIGEST_INVALID and nothing stored; unknown blob 404 BLOB_UNKNOWN; malformed digest 400 DIGEST_INVALID', async () => {
      const bad = await admin.send('POST', `/v2/lib/blobs/blobs/uploads/?digest=${sha('other')}`, { body: 'payload' });
      assert.equal(bad.status, 400);
      assert.equal(codeOf(bad), 'DIGEST_INVALID');
      const missing = await admin.send('GET', `/v2/lib/blobs/blobs/${sha('payload')}`);
      assert.equal(missing.status, 404);
      assert.equal(codeOf(missing), 'BLOB_UNKNOWN');
      const malformed = await admin.send('GET', '/v2/lib/blobs/blobs/sha256:xyz');
      assert.equal(malformed.status, 400);
      assert.equal(codeOf(malformed), 'DIGEST_INVALID');
    });

    it('chunked: POST 202 (Location, Docker-Upload-UUID, Range), PATCH in order 202, out of order 416, GET 204, PUT ?digest= 201', async () => {
      const started = await admin.send('POST', '/v2/lib/chunked/blobs/uploads/');
      assert.equal(started.status, 202);
      const location = started.headers.location!;
      const uuid = started.headers['docker-upload-uuid']!;
      assert.equal(location, `/v2/lib/chunked/blobs/uploads/${uuid}`);
      assert.equal(started.headers.range, '0-0');
      const first = await admin.send('PATCH', location, { body: 'hello', headers: { 'content-range': '0-4', 'content-type': 'application/octet-stream' } });
      assert.equal(first.status, 202);
      assert.equal(first.headers.location, location);
      assert.equal(first.headers.range, '0-4');
      const outOfOrder = await admin.send('PATCH', location, { body: 'XX', headers: { 'content-range': '7-8' } });
      assert.equal(outOfOrder.status, 416);
      assert.equal(codeOf(outOfOrder), 'BLOB_UPLOAD_INVALID');
      const streamed = await admin.send('PATCH', location, { body: ', ' }); // no Content-Range: appended at the end
      assert.equal(streamed.headers.range, '0-6');
      const status = await admin.send('GET', location);
      assert.equal(status.status, 204);
      assert.equal(status.headers.range, '0-6');
      const closed = await admin.send('PUT', `${location}?digest=${sha('hello, world')}`, { body: 'world', headers: { 'content-range': '7-11' } });
      assert.equal(closed.status, 201);
      assert.equal(closed.headers.location, `/v2/lib/chunked/blobs/${sha('hello, world')}`);
      assert.equal((await admin.send('GET', `/v2/lib/chunked/blobs/${sha('hello, world')}`)).body.toString(), 'hello, world');
      const gone = await admin.send('PATCH', location, { body: 'x' });
      assert.equal(gone.status, 404);
      assert.equal(codeOf(gone), 'BLOB_UPLOAD_UNKNOWN');
    });

    it('an upload closed with the wrong digest: 400 DIGEST_INVALID; DELETE of an upload 204, then 404 BLOB_UPLOAD_UNKNOWN', async () => {
      const a = (await admin.send('POST', '/v2/lib/chunked/blobs/uploads/')).headers.location!;
      await admin.send('PATCH', a, { body: 'abc' });
      const wrong = await admin.send('PUT', `${a}?digest=${sha('abd')}`);
      assert.equal(wrong.status, 400);
      assert.equal(codeOf(wrong), 'DIGEST_INVALID');
      const b = (await admin.send('POST', '/v2/lib/chunked/blobs/uploads/')).headers.location!;
      assert.equal((await admin.send('DELETE', b)).status, 204);
      const after = await admin.send('GET', b);
      assert.equal(after.status, 404);
      assert.equal(codeOf(after), 'BLOB_UPLOAD_UNKNOWN');
    });

    it('cross-repository mount: 201 when the source has the blob, else 202 with an upload session', async () => {
      const mounted = await admin.send('POST', `/v2/lib/mounted/blobs/uploads/?mount=${sha(data)}&from=lib/blobs`);
      assert.equal(mounted.status, 201);
      assert.equal(mounted.headers.location, `/v2/lib/mounted/blobs/${sha(data)}`);
      assert.equal((await admin.send('HEAD', `/v2/lib/mounted/blobs/${sha(data)}`)).status, 200);
      const fallback = await admin.send('POST', `/v2/lib/mounted/blobs/uploads/?mount=${sha('absent')}&from=lib/blobs`);
      assert.equal(fallback.status, 202);
      assert.match(fallback.headers.location!, /^\/v2\/lib\/mounted\/blobs\/uploads\/[0-9a-f-]{36}$/);
    });
  });

  describe('manifests, tags, referrers', () => {
    const layer = Buffer.from('layer bytes');
    const image = manifest([layer]);

    it('PUT with a blob missing: 400 MANIFEST_BLOB_UNKNOWN naming it; after the blobs, 201 with Location and Docker-Content-Digest', async () => {
      const missing = await admin.send('PUT', '/v2/lib/img/manifests/v1', { body: image, headers: { 'content-type': OCI_MANIFEST } });
      assert.equal(missing.status, 400);
      const errors = missing.json<{ errors: Array<{ code: string; detail: { digest: string } }> }>().errors;
      assert.deepEqual(errors.map((e) => [e.code, e.detail.digest]), [['MANIFEST_BLOB_UNKNOWN', sha(CONFIG)], ['MANIFEST_BLOB_UNKNOWN', sha(layer)]]);
      await push('lib/img', CONFIG);
      await push('lib/img', layer);
      const put = await admin.send('PUT', '/v2/lib/img/manifests/v1', { body: image, headers: { 'content-type': OCI_MANIFEST } });
      assert.equal(put.status, 201);
      assert.equal(put.headers.location, `/v2/lib/img/manifests/${sha(image)}`);
      assert.equal(put.headers['docker-content-digest'], sha(image));
    });

    it('GET / HEAD by tag and by digest: the bytes as pushed, Content-Type and Docker-Content-Digest', async () => {
      for (const reference of ['v1', sha(image)]) {
        const got = await admin.send('GET', `/v2/lib/img/manifests/${reference}`, { headers: { accept: OCI_MANIFEST } });
        assert.equal(got.status, 200);
        assert.equal(got.headers['content-type'], OCI_MANIFEST);
        assert.equal(got.headers['docker-content-digest'], sha(image));
        assert.deepEqual(got.body, image);
        const head = await admin.send('HEAD', `/v2/lib/img/manifests/${reference}`);
        assert.equal(head.status, 200);
        assert.equal(head.headers['content-length'], String(image.length));
      }
      const unknown = await admin.send('GET', '/v2/lib/img/manifests/nope');
      assert.equal(unknown.status, 404);
      assert.equal(codeOf(unknown), 'MANIFEST_UNKNOWN');
    });

    it('PUT by digest must hash to it (400 DIGEST_INVALID); invalid JSON 400 MANIFEST_INVALID; above 4 MiB 413', async () => {
      const mismatch = await admin.send('PUT', `/v2/lib/img/manifests/${sha('x')}`, { body: image, headers: { 'content-type': OCI_MANIFEST } });
      assert.equal(mismatch.status, 400);
      assert.equal(codeOf(mismatch), 'DIGEST_INVALID');
      const byDigest = await admin.send('PUT', `/v2/lib/img/manifests/${sha(image)}`, { body: image, headers: { 'content-type': OCI_MANIFEST } });
      assert.equal(byDigest.status, 201);
      const notJson = await admin.send('PUT', '/v2/lib/img/manifests/broken', { body: '{nope', headers: { 'content-type': OCI_MANIFEST } });
      assert.equal(notJson.status, 400);
      assert.equal(codeOf(notJson), 'MANIFEST_INVALID');
      const huge = Buffer.alloc(4 * 1024 * 1024 + 1, 0x20);
      const tooLarge = await admin.send('PUT', '/v2/lib/img/manifests/huge', { body: huge, headers: { 'content-type': OCI_MANIFEST } });
      assert.equal(tooLarge.status, 413);
      assert.equal(codeOf(tooLarge), 'SIZE_INVALID');
    });

    it('name and tag grammar: 400 NAME_INVALID, 400 MANIFEST_INVALID for a bad tag', async () => {
      for (const name of ['Upper/case', 'a//b', 'trailing-', 'double..dot']) {
        const reply = await admin.send('GET', `/v2/${name}/tags/list`);
        assert.equal(reply.status, 400, name);
        assert.equal(codeOf(reply), 'NAME_INVALID', name);
      }
      const badTag = await admin.send('PUT', '/v2/lib/img/manifests/-bad', { body: image, headers: { 'content-type': OCI_MANIFEST } });
      assert.equal(badTag.status, 400);
      assert.equal(codeOf(badTag), 'MANIFEST_INVALID');
      assert.equal((await admin.send('GET', '/v2/a__b/c-d--e.f/tags/list')).status, 404, 'a valid name, just unknown');
    });

    it('tags list: lexical, n/last pagination with a Link header until the end; unknown repository 404 NAME_UNKNOWN', async () => {
      for (const tag of ['v4', 'v2', 'v3']) await admin.send('PUT', `/v2/lib/img/manifests/${tag}`, { body: image, headers: { 'content-type': OCI_MANIFEST } });
      const all = await admin.send('GET', '/v2/lib/img/tags/list');
      assert.deepEqual(all.json(), { name: 'lib/img', tags: ['v1', 'v2', 'v3', 'v4'] });
      assert.equal(all.headers.link, undefined);
      const page1 = await admin.send('GET', '/v2/lib/img/tags/list?n=2');
      assert.deepEqual(page1.json(), { name: 'lib/img', tags: ['v1', 'v2'] });
      assert.equal(page1.headers.link, '</v2/lib/img/tags/list?n=2&last=v2>; rel="next"');
      const page2 = await admin.send('GET', '/v2/lib/img/tags/list?n=2&last=v2');
      assert.deepEqual(page2.json(), { name: 'lib/img', tags: ['v3', 'v4'] });
      assert.equal(page2.headers.link, undefined);
      const unknown = await admin.send('GET', '/v2/lib/nothing/tags/list');
      assert.equal(unknown.status, 404);
      assert.equal(codeOf(unknown), 'NAME_UNKNOWN');
    });

    it('referrers: PUT with a subject answers OCI-Subject; the index lists it with artifactType and annotations; artifactType filters', async () => {
      const signature = manifest([], {
        artifactType: 'application/vnd.example.signature', annotations: { 'org.example.signer': 'ci' },
        subject: { mediaType: OCI_MANIFEST, digest: sha(image), size: image.length },
      });
      const put = await admin.send('PUT', `/v2/lib/img/manifests/${sha(signature)}`, { body: signature, headers: { 'content-type': OCI_MANIFEST } });
      assert.equal(put.status, 201);
      assert.equal(put.headers['oci-subject'], sha(image));
      const list = await admin.send('GET', `/v2/lib/img/referrers/${sha(image)}`);
      assert.equal(list.status, 200);
      assert.equal(list.headers['content-type'], OCI_INDEX);
      assert.equal(list.headers['oci-filters-applied'], undefined);
      assert.deepEqual(list.json(), {
        schemaVersion: 2, mediaType: OCI_INDEX,
        manifests: [{ mediaType: OCI_MANIFEST, digest: sha(signature), size: signature.length, artifactType: 'application/vnd.example.signature', annotations: { 'org.example.signer': 'ci' } }],
      });
      const filtered = await admin.send('GET', `/v2/lib/img/referrers/${sha(image)}?artifactType=application/vnd.example.sbom`);
      assert.equal(filtered.headers['oci-filters-applied'], 'artifactType');
      assert.deepEqual(filtered.json<{ manifests: unknown[] }>().manifests, []);
      const matching = await admin.send('GET', `/v2/lib/img/referrers/${sha(image)}?artifactType=application/vnd.example.signature`);
      assert.equal(matching.json<{ manifests: unknown[] }>().manifests.length, 1);
      const none = await admin.send('GET', `/v2/lib/img/referrers/${sha('unknown')}`);
      assert.equal(none.status, 200, 'never 404');
      assert.deepEqual(none.json<{ manifests: unknown[] }>().manifests, []);
      const malformed = await admin.send('GET', '/v2/lib/img/referrers/not-a-digest');
      assert.equal(malformed.status, 400);
      assert.equal(codeOf(malformed), 'DIGEST_INVALID');
    });

    it('DELETE: a tag 202, a manifest by digest 202 (then 404 MANIFEST_UNKNOWN), a blob 202 (then 404 BLOB_UNKNOWN)', async () => {
      assert.equal((await admin.send('DELETE', '/v2/lib/img/manifests/v4')).status, 202);
      assert.deepEqual((await admin.send('GET', '/v2/lib/img/tags/list')).json<{ tags: string[] }>().tags, ['v1', 'v2', 'v3']);
      assert.equal((await admin.send('DELETE', `/v2/lib/img/manifests/${sha(image)}`)).status, 202);
      const gone = await admin.send('GET', `/v2/lib/img/manifests/${sha(image)}`);
      assert.equal(gone.status, 404);
      assert.equal(codeOf(gone), 'MANIFEST_UNKNOWN');
      assert.equal((await admin.send('DELETE', `/v2/lib/img/manifests/${sha(image)}`)).status, 404);
      assert.equal((await admin.send('DELETE', `/v2/lib/img/blobs/${sha(layer)}`)).status, 202);
      assert.equal(codeOf(await admin.send('GET', `/v2/lib/img/blobs/${sha(layer)}`)), 'BLOB_UNKNOWN');
      const unsupported = await admin.send('POST', '/v2/lib/img/manifests/v1');
      assert.equal(unsupported.status, 405);
      assert.equal(codeOf(unsupported), 'UNSUPPORTED');
    });
  });

  it('with deletes disabled, manifest and blob DELETE answer 405 UNSUPPORTED', async () => {
    const dir = tempDir('registry-nodelete');
    const store = await FsContentStore.open(dir.path);
    const app = Fastify();
    try {
      await app.register(ociRoutes, { store, auth: null, deleteEnabled: false });
      await store.putBlob('r', Readable.from([Buffer.from('x')]));
      for (const url of [`/v2/r/blobs/${sha('x')}`, `/v2/r/manifests/${sha('x')}`, '/v2/r/manifests/latest']) {
        const reply = await app.inject({ method: 'DELETE', url });
        assert.equal(reply.statusCode, 405, url);
        assert.equal(reply.json<{ errors: Array<{ code: string }> }>().errors[0]!.code, 'UNSUPPORTED');
      }
      assert.equal((await app.inject({ method: 'GET', url: `/v2/r/blobs/${sha('x')}` })).statusCode, 200);
    } finally {
      await app.close();
      await store.close();
      dir.remove();
    }
  });

  it('password guessing: after the failures budget of an address, 429 TOOMANYREQUESTS with Retry-After, even for the right password', async () => {
    const clock = new ManualClock();
    const credentials = { authenticate: (u: string, p: string) => Promise.resolve(u === 'a' && p === 'b' ? [{ repository: '*', actions: ['pull' as const] }] : undefined), verifyReadToken: () => undefined };
    const auth = new RegistryAuth({}, { credentials, key: new Secret(Buffer.alloc(32, 1)), clock });
    const dir = tempDir('registry-limit');
    const store = await FsContentStore.open(dir.path);
    const app = Fastify();
    try {
      await app.register(ociRoutes, { store, auth, authLimiter: new AuthLimiter({ failuresPerMinute: 3 }, clock) });
      const attempt = (password: string) => app.inject({ method: 'GET', url: '/v2/', headers: { authorization: OciClient.basic('a', password) } });
      for (let i = 0; i < 3; i++) assert.equal((await attempt('guess')).statusCode, 401);
      for (const password of ['guess', 'b']) {
        const limited = await attempt(password);
        assert.equal(limited.statusCode, 429);
        assert.equal(limited.headers['retry-after'], '20');
        assert.equal(limited.json<{ errors: Array<{ code: string }> }>().errors[0]!.code, 'TOOMANYREQUESTS');
      }
      clock.advance(20_000);
      assert.equal((await attempt('b')).statusCode, 200);
    } finally {
      await app.close();
      await store.close();
      dir.remove();
    }
  });
});
