import { strict as assert } from 'node:assert';
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ManualClock } from '../../proto/clock.js';
import { PcgError } from '../../proto/errors.js';
import type { RegistryError } from '../../proto/registry/registry-error.js';
import type { Digest } from '../../proto/registry/content-store.js';
import { FsContentStore } from '../../proto/registry/fs-content-store.js';
import { packManifestBytes } from '../../proto/registry/pack-artifact.js';
import { PublicUpstream } from '../../gateway/registry/public-upstream.js';
import { PullThroughStore } from '../../gateway/registry/pull-through-store.js';
import { tempDir } from '../support/temp-dir.js';

const digestOf = (b: Buffer): Digest => `sha256:${createHash('sha256').update(b).digest('hex')}`;
type Mode = 'whole' | 'cut' | 'other-bytes';

/**
 * The local store with every statBlob that finds nothing reported: a caller of the pull-through
 * store's statBlob that missed locally joins (or starts) the single flight in the same run of
 * microtasks, so the count says how many callers are waiting on the upstream fetch.
 */
function reportingMisses(store: FsContentStore, onMiss: () => void): FsContentStore {
  return new Proxy(store, {
    get(target, key) {
      if (key === 'statBlob') {
        return async (repo: string, digest: Digest) => {
          const info = await target.statBlob(repo, digest);
          if (!info) onMiss();
          return info;
        };
      }
      const value: unknown = Reflect.get(target, key, target);
      // FsContentStore keeps #private state: its methods must run on the store itself.
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/**
 * An upstream that misbehaves on purpose (a loopback HTTP server standing in for the relay's
 * `/v2/`): it cuts a blob mid-stream or sends other bytes. Pull-through must answer
 * PCG_ERR_REGISTRY_UNREACHABLE and store nothing, and share one upstream request among concurrent callers.
 */
describe('registry: pull-through against a failing upstream', function () {
  this.timeout(30_000);
  const dir = tempDir('pull-through-faults');
  const blob = randomBytes(2 * 1024 * 1024);
  const config = Buffer.from('{"name":"x","version":"1.0.0"}');
  const digest = digestOf(blob);
  const manifest = packManifestBytes({ name: 'x', version: '1.0.0', config: { digest: digestOf(config), size: config.length }, archive: { digest, size: blob.length }, message: null });
  const requests: string[] = [];
  let mode: Mode = 'cut';
  /** Local misses so far, and the cut's gate: it opens when `cutAfterMisses` callers have missed. */
  let connections = 0;
  let misses = 0;
  let cutAfterMisses = 1;
  let openGate: (() => void) | undefined;
  const gate = (): Promise<void> => (misses >= cutAfterMisses ? Promise.resolve() : new Promise((resolve) => {
    openGate = resolve;
  }));
  let server: Server;
  let local: FsContentStore;
  let upstream: PublicUpstream;
  let store: PullThroughStore;

  before(async () => {
    server = createServer((req, res) => {
      requests.push(req.url ?? '');
      if (req.url === '/v2/packs/x/manifests/1.0.0') {
        res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json', 'docker-content-digest': digestOf(manifest) }).end(manifest);
      } else if (req.url === `/v2/packs/x/blobs/${digestOf(config)}`) {
        res.writeHead(200).end(config);
      } else if (req.url === `/v2/packs/x/blobs/${digest}`) {
        res.writeHead(200, { 'content-length': blob.length });
        if (mode === 'whole') res.end(blob);
        else if (mode === 'other-bytes') res.end(randomBytes(blob.length));
        // Half the body, then the connection dies: only once every concurrent caller is known to
        // wait on this fetch (a late one would start a second), or after 10 s (the test then fails on the count).
        else {
          res.write(blob.subarray(0, blob.length / 2));
          const failsafe = setTimeout(() => openGate?.(), 10_000);
          void gate().then(() => {
            clearTimeout(failsafe);
            setImmediate(() => res.destroy());
          });
        }
      } else if (req.url === '/v2/packs/bad/manifests/1.0.0') {
        const bad = Buffer.from('{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{},"layers":"none"}');
        res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json', 'docker-content-digest': digestOf(bad) }).end(bad);
      } else {
        res.writeHead(404).end();
      }
    });
    server.on('connection', () => {
      connections += 1;
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    local = await FsContentStore.open(dir.path, { clock: new ManualClock() });
    upstream = new PublicUpstream({ relayUrl: relayUrl(), relayCaPem: '' }, () => Promise.resolve({ certPem: '', keyPem: '' }));
    store = new PullThroughStore(reportingMisses(local, () => {
      misses += 1;
      if (misses >= cutAfterMisses) openGate?.();
    }), upstream);
  });
  after(async () => {
    await upstream.close();
    await local.close();
    await new Promise((resolve) => server.close(resolve));
    dir.remove();
  });

  const relayUrl = (): string => `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const leftovers = (): string[] => (readdirSync(dir.path, { recursive: true }) as string[]).filter((p) => p.split('/').pop()!.startsWith('.put-'));
  const unreachable = (err: unknown): boolean => err instanceof PcgError && err.code === 'PCG_ERR_REGISTRY_UNREACHABLE' && err.httpStatus === 503;

  it('a blob cut mid-stream: every concurrent caller gets PCG_ERR_REGISTRY_UNREACHABLE from one request, nothing is stored', async () => {
    requests.length = 0;
    // 16 callers miss locally, and so does the one fetch's own second look before it asks upstream.
    misses = 0;
    cutAfterMisses = 17;
    const results = await Promise.allSettled(Array.from({ length: 16 }, () => store.statBlob('packs/x', digest)));
    assert.equal(misses, 17);
    assert.deepEqual(results.map((r) => r.status === 'rejected' && unreachable(r.reason)), Array<boolean>(16).fill(true));
    assert.match((results[0] as PromiseRejectedResult).reason.message, /broke off.*nothing was stored/);
    assert.deepEqual(requests, [`/v2/packs/x/blobs/${digest}`]);
    assert.equal(await local.statBlob('packs/x', digest), undefined);
    assert.deepEqual(leftovers(), []);
  });

  it('other bytes than the digest: refused, nothing stored; a failure is not remembered, the next pull succeeds once', async () => {
    mode = 'other-bytes';
    await assert.rejects(store.statBlob('packs/x', digest), (err: unknown) => unreachable(err) && /other bytes/.test((err as Error).message));
    assert.equal(await local.statBlob('packs/x', digest), undefined);
    mode = 'whole';
    requests.length = 0;
    const infos = await Promise.all(Array.from({ length: 16 }, () => store.statBlob('packs/x', digest)));
    assert.deepEqual(infos.map((i) => i?.size), Array<number>(16).fill(blob.length));
    assert.deepEqual(requests, [`/v2/packs/x/blobs/${digest}`]);
    assert.deepEqual(leftovers(), []);
  });

  it('a manifest whose blob breaks off is not stored; once the blob arrives it is, under its tag, with the upstream digest', async () => {
    mode = 'cut';
    cutAfterMisses = 0;
    await local.deleteBlob('packs/x', digest);
    await assert.rejects(store.getManifest('packs/x', '1.0.0'), unreachable);
    assert.equal(await local.getManifest('packs/x', '1.0.0'), undefined);
    assert.deepEqual(await local.listTags('packs/x'), []);
    mode = 'whole';
    const stored = await store.getManifest('packs/x', '1.0.0');
    assert.equal(stored?.digest, digestOf(manifest));
    assert.deepEqual(await local.listTags('packs/x'), ['1.0.0']);
    assert.equal(await store.getManifest('packs/x', '2.0.0'), undefined, 'a 404 upstream is absent here too');
    assert.equal(await store.statBlob('lib/other', digest), undefined, 'outside packs/ nothing is pulled');
  });

  it('a manifest the relay sends malformed: 503 PCG_ERR_REGISTRY_UNREACHABLE (not the client\'s MANIFEST_INVALID), nothing stored', async () => {
    const err = await store.getManifest('packs/bad', '1.0.0').then(() => undefined, (e: unknown) => e);
    assert.ok(unreachable(err), String(err));
    assert.equal((err as RegistryError).status, 503);
    assert.deepEqual((err as RegistryError).toBody().errors.map((e) => [e.code, (e.detail as { code?: string } | null)?.code]), [['UNKNOWN', 'PCG_ERR_REGISTRY_UNREACHABLE']]);
    assert.match((err as Error).message, /^the relay sent an invalid manifest for packs\/bad:1\.0\.0 \(manifest invalid: config is not a descriptor with a digest\); nothing was stored\./);
    assert.deepEqual(await local.listTags('packs/bad'), []);
  });

  it('close() while a fetch waits for the client certificate: the fetch is refused, no request is sent, no connection stays open', async () => {
    let release: ((credentials: { certPem: string; keyPem: string }) => void) | undefined;
    let asked = 0;
    const closing = new PublicUpstream({ relayUrl: relayUrl(), relayCaPem: '' }, () => {
      asked += 1;
      return new Promise((resolve) => {
        release = resolve;
      });
    });
    const from = requests.length;
    const connectionsBefore = connections;
    const fetch = closing.manifest('packs/x', '1.0.0').then(() => 'answered', (e: unknown) => e);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(asked, 1);
    await closing.close();
    release!({ certPem: '', keyPem: '' });
    const outcome = await fetch;
    assert.ok(unreachable(outcome), String(outcome));
    assert.match((outcome as Error).message, /the gateway registry is closing/);
    assert.equal(requests.length, from, 'nothing reached the relay');
    assert.equal(connections, connectionsBefore, 'no connection was opened (a pool built after close() would have kept it)');
  });
});
