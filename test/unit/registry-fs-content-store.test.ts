import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, Readable, Writable } from 'node:stream';
import { buffer, text } from 'node:stream/consumers';
import { ManualClock } from '../../proto/clock.js';
import { PcgError } from '../../proto/errors.js';
import { BLOB_CHUNK, BLOB_SEND_BUFFERS, BlobFileStream } from '../../proto/registry/blob-file-stream.js';
import type { Digest } from '../../proto/registry/content-store.js';
import { FsContentStore } from '../../proto/registry/fs-content-store.js';
import { RegistryError } from '../../proto/registry/registry-error.js';
import { tempDir } from '../support/temp-dir.js';

const sha = (data: string | Buffer): Digest => `sha256:${createHash('sha256').update(data).digest('hex')}`;
const blobFile = (dir: string, digest: Digest): string => join(dir, 'blobs', 'sha256', digest.slice(7, 9), digest.slice(7));
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

function manifestOf(config: string, layers: string[], extra: Record<string, unknown> = {}): Buffer {
  const descriptor = (data: string, mediaType: string) => ({ mediaType, digest: sha(data), size: Buffer.byteLength(data) });
  return Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: OCI_MANIFEST, config: descriptor(config, 'application/vnd.oci.image.config.v1+json'),
    layers: layers.map((l) => descriptor(l, 'application/vnd.oci.image.layer.v1.tar')), ...extra,
  }));
}

describe('registry: FsContentStore', function () {
  this.timeout(30_000);
  let dir: ReturnType<typeof tempDir>;
  let clock: ManualClock;
  let store: FsContentStore;

  beforeEach(async () => {
    dir = tempDir('registry-store');
    clock = new ManualClock();
    store = await FsContentStore.open(dir.path, { clock, gcGraceMs: 60_000 });
  });
  afterEach(async () => {
    await store.close();
    await store.close();
    dir.remove();
  });

  it('stores a blob under its digest (0600 index), dedupes the same bytes across repositories, links per repository', async () => {
    const a = await store.putBlob('team/a', Readable.from([Buffer.from('hello '), Buffer.from('world')]), sha('hello world'));
    assert.deepEqual(a, { digest: sha('hello world'), size: 11 });
    const b = await store.putBlob('team/b', Readable.from([Buffer.from('hello world')]));
    assert.deepEqual(b, a);
    assert.equal(readdirSync(join(dir.path, 'blobs', 'sha256', a.digest.slice(7, 9))).length, 1);
    assert.equal(statSync(join(dir.path, 'registry.db')).mode & 0o777, 0o600);
    assert.deepEqual(await store.statBlob('team/a', a.digest), a);
    assert.equal(await store.statBlob('team/c', a.digest), undefined, 'not linked into team/c');
    assert.equal(await text(store.readBlob('team/b', a.digest)), 'hello world');
    assert.equal(await text(store.readBlob('team/b', a.digest, { start: 6, end: 10 })), 'world');
    assert.deepEqual(await store.listRepositories(), ['team/a', 'team/b']);
  });

  it('a digest mismatch rejects with PCG_ERR_BAD_REQUEST (DIGEST_INVALID) and leaves no blob, link or temp file', async () => {
    const wrong = sha('something else');
    await assert.rejects(store.putBlob('r', Readable.from([Buffer.from('payload')]), wrong), (err: unknown) =>
      err instanceof PcgError && err.code === 'PCG_ERR_BAD_REQUEST' && err instanceof RegistryError && err.ociCode === 'DIGEST_INVALID');
    assert.equal(existsSync(blobFile(dir.path, sha('payload'))), false);
    assert.equal(await store.statBlob('r', sha('payload')), undefined);
    assert.deepEqual(readdirSync(join(dir.path, 'uploads')), []);
  });

  it('a source that fails mid-stream leaves nothing either', async () => {
    const failing = new Readable({ read() { this.push(Buffer.from('part')); this.destroy(new Error('connection reset')); } });
    await assert.rejects(store.putBlob('r', failing), /connection reset/);
    assert.deepEqual(readdirSync(join(dir.path, 'uploads')), []);
  });

  it('chunked upload: in-order chunks append, an out-of-order one is 416, the commit verifies the digest', async () => {
    const id = await store.startUpload('r');
    assert.equal(await store.uploadSize('r', id), 0);
    assert.equal(await store.appendUpload('r', id, Readable.from([Buffer.from('abc')]), 0), 3);
    await assert.rejects(store.appendUpload('r', id, Readable.from([Buffer.from('zzz')]), 1), (err: unknown) => err instanceof RegistryError && err.status === 416 && err.ociCode === 'BLOB_UPLOAD_INVALID');
    assert.equal(await store.appendUpload('r', id, Readable.from([Buffer.from('def')]), 3), 6);
    assert.equal(await store.uploadSize('other', id), undefined, 'an upload belongs to its repository');
    assert.deepEqual(await store.commitUpload('r', id, sha('abcdef')), { digest: sha('abcdef'), size: 6 });
    assert.equal(await store.uploadSize('r', id), undefined, 'committed uploads are gone');
    assert.equal(await text(store.readBlob('r', sha('abcdef'))), 'abcdef');
    assert.deepEqual(readdirSync(join(dir.path, 'uploads')), []);
  });

  it('a chunked upload committed with the wrong digest is DIGEST_INVALID and is removed; an unknown upload is BLOB_UPLOAD_UNKNOWN', async () => {
    const id = await store.startUpload('r');
    await store.appendUpload('r', id, Readable.from([Buffer.from('abc')]), 0);
    await assert.rejects(store.commitUpload('r', id, sha('xyz')), (err: unknown) => err instanceof RegistryError && err.ociCode === 'DIGEST_INVALID');
    assert.equal(await store.uploadSize('r', id), undefined);
    assert.equal(existsSync(blobFile(dir.path, sha('abc'))), false);
    await assert.rejects(store.appendUpload('r', id, Readable.from([Buffer.from('a')]), 0), (err: unknown) => err instanceof RegistryError && err.ociCode === 'BLOB_UPLOAD_UNKNOWN' && err.status === 404);
  });

  it('an upload resumed after a restart (running hash lost) still commits with the right digest', async () => {
    const id = await store.startUpload('r');
    await store.appendUpload('r', id, Readable.from([Buffer.from('first-')]), 0);
    await store.close();
    store = await FsContentStore.open(dir.path, { clock, gcGraceMs: 60_000 });
    assert.equal(await store.appendUpload('r', id, Readable.from([Buffer.from('second')]), 6), 12);
    assert.deepEqual(await store.commitUpload('r', id, sha('first-second')), { digest: sha('first-second'), size: 12 });
  });

  it('manifests: referenced blobs must be in the repository (MANIFEST_BLOB_UNKNOWN per blob); tags, lookup by tag and digest, referrers', async () => {
    const bytes = manifestOf('{}', ['layer-1']);
    await assert.rejects(store.putManifest('r', bytes, OCI_MANIFEST, 'v1'), (err: unknown) =>
      err instanceof RegistryError && err.ociCode === 'MANIFEST_BLOB_UNKNOWN' && err.entries.length === 2 && err.code === 'PCG_ERR_BAD_REQUEST');
    await store.putBlob('r', Readable.from([Buffer.from('{}')]));
    await store.putBlob('r', Readable.from([Buffer.from('layer-1')]));
    const stored = await store.putManifest('r', bytes, OCI_MANIFEST, 'v1');
    assert.equal(stored.digest, sha(bytes));
    assert.equal(stored.artifactType, 'application/vnd.oci.image.config.v1+json');
    assert.deepEqual((await store.getManifest('r', 'v1'))?.bytes, bytes);
    assert.deepEqual((await store.getManifest('r', stored.digest))?.digest, stored.digest);
    const sig = manifestOf('{}', [], { artifactType: 'application/vnd.example.sig', subject: { mediaType: OCI_MANIFEST, digest: stored.digest, size: bytes.length } });
    const referrer = await store.putManifest('r', sig, OCI_MANIFEST);
    assert.equal(referrer.subject, stored.digest);
    assert.deepEqual((await store.referrers('r', stored.digest)).map((m) => m.digest), [referrer.digest]);
    assert.deepEqual(await store.referrers('r', stored.digest, 'application/vnd.other'), []);
    for (const tag of ['v3', 'v2', 'latest']) await store.putManifest('r', bytes, OCI_MANIFEST, tag);
    assert.deepEqual(await store.listTags('r'), ['latest', 'v1', 'v2', 'v3']);
    assert.deepEqual(await store.listTags('r', { n: 2, last: 'latest' }), ['v1', 'v2']);
    assert.equal(await store.deleteTag('r', 'v3'), true);
    assert.equal(await store.deleteManifest('r', stored.digest), true);
    assert.deepEqual(await store.listTags('r'), [], "a deleted manifest's tags go with it");
    assert.equal(await store.getManifest('r', 'v1'), undefined);
  });

  it('mount links a blob of another repository; false when that repository lacks it', async () => {
    const info = await store.putBlob('src', Readable.from([Buffer.from('shared')]));
    assert.equal(await store.mountBlob('dst', 'src', info.digest), true);
    assert.deepEqual(await store.statBlob('dst', info.digest), info);
    assert.equal(await store.mountBlob('dst2', 'nowhere', info.digest), false);
  });

  it('GC keeps referenced blobs and young ones, keeps those of a repository with an upload in progress, removes the rest', async () => {
    const config = await store.putBlob('app', Readable.from([Buffer.from('{}')]));
    const layer = await store.putBlob('app', Readable.from([Buffer.from('layer-1')]));
    await store.putManifest('app', manifestOf('{}', ['layer-1']), OCI_MANIFEST, 'v1');
    const orphan = await store.putBlob('app', Readable.from([Buffer.from('orphan!')]));
    const pending = await store.putBlob('busy', Readable.from([Buffer.from('layer pushed before its manifest')]));
    const upload = await store.startUpload('busy');

    assert.deepEqual(await store.collectGarbage(), { removedBlobs: 0, freedBytes: 0 }, 'everything is younger than the grace period');
    clock.advance(120_000);
    const young = await store.putBlob('app', Readable.from([Buffer.from('just pushed')]));
    assert.deepEqual(await store.collectGarbage(), { removedBlobs: 1, freedBytes: 7 }, 'only the old orphan goes');
    assert.equal(existsSync(blobFile(dir.path, orphan.digest)), false);
    assert.equal(await store.statBlob('app', orphan.digest), undefined);
    for (const kept of [config, layer, pending, young]) assert.equal(existsSync(blobFile(dir.path, kept.digest)), true, kept.digest);

    await store.cancelUpload('busy', upload);
    assert.deepEqual(await store.collectGarbage(), { removedBlobs: 1, freedBytes: pending.size }, 'no upload in progress: the unreferenced layer goes');
    clock.advance(120_000);
    assert.equal((await store.collectGarbage()).removedBlobs, 1, 'the once-young blob, now old');
    assert.equal(await store.deleteManifest('app', sha(manifestOf('{}', ['layer-1']))), true);
    assert.deepEqual(await store.collectGarbage({ graceMs: 0 }), { removedBlobs: 2, freedBytes: config.size + layer.size });
    assert.deepEqual(readdirSync(join(dir.path, 'blobs', 'sha256')).flatMap((d) => readdirSync(join(dir.path, 'blobs', 'sha256', d))), []);
  });

  it('GC removes uploads abandoned longer than uploadTtlMs', async () => {
    const id = await store.startUpload('r');
    clock.advance(86_400_001);
    await store.collectGarbage();
    assert.equal(await store.uploadSize('r', id), undefined);
    assert.deepEqual(readdirSync(join(dir.path, 'uploads')), []);
  });
  describe('reading blobs (BlobFileStream)', () => {
    // Three chunks and a bit: ranges that start, end and cross chunk boundaries.
    const big = Buffer.from(Array.from({ length: 3 * BLOB_CHUNK + 1000 }, (_, i) => (i * 7 + (i >> 8)) & 0xff));
    const ranges = [
      { start: 0, end: big.length - 1 }, { start: 0, end: 0 }, { start: BLOB_CHUNK - 1, end: BLOB_CHUNK }, { start: 5, end: 2 * BLOB_CHUNK + 17 },
      { start: big.length - 1, end: big.length - 1 }, { start: 3 * BLOB_CHUNK, end: big.length - 1 },
    ];
    let digest: Digest;

    /** A sink that keeps a copy of every chunk as written (the sender may reuse its buffers afterwards). */
    const collector = (): { sink: Writable; bytes: () => Buffer; writes: () => number } => {
      const parts: Buffer[] = [];
      const sink = new Writable({ highWaterMark: 1, write: (chunk: Buffer, _enc, done) => { parts.push(Buffer.from(chunk)); setImmediate(done); } });
      return { sink, bytes: () => Buffer.concat(parts), writes: () => parts.length };
    };

    beforeEach(async () => {
      digest = (await store.putBlob('r', Readable.from([big]))).digest;
    });

    it('as a Readable: the whole blob and each range exactly, in chunks of at most BLOB_CHUNK that the reader may keep', async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of store.readBlob('r', digest)) chunks.push(chunk as Buffer);
      assert.ok(Buffer.concat(chunks).equals(big));
      assert.equal(chunks.length, 4);
      assert.ok(chunks.every((c) => c.length <= BLOB_CHUNK));
      for (const { start, end } of ranges) {
        const got = await buffer(store.readBlob('r', digest, { start, end }));
        assert.ok(got.equals(big.subarray(start, end + 1)), `range ${start}-${end}: ${got.length} bytes`);
      }
    });

    it('sendTo: the whole blob and each range exactly, in BLOB_CHUNK writes, the sink ended and the file closed', async () => {
      for (const range of [undefined, ...ranges]) {
        const stream = store.readBlob('r', digest, range);
        assert.ok(stream instanceof BlobFileStream);
        const { sink, bytes, writes } = collector();
        await stream.sendTo(sink);
        const want = range ? big.subarray(range.start, range.end + 1) : big;
        assert.ok(bytes().equals(want), `range ${range?.start}-${range?.end}: ${bytes().length} bytes`);
        assert.equal(writes(), Math.ceil(want.length / BLOB_CHUNK));
        assert.equal(sink.writableFinished, true);
        assert.equal(stream.destroyed, true);
      }
    });

    it(`sendTo keeps at most ${BLOB_SEND_BUFFERS} writes in flight to a sink that does not take them`, async () => {
      const held: Array<() => void> = [];
      const sink = new Writable({ highWaterMark: 1, write: (_chunk: Buffer, _enc, done) => void held.push(done) });
      const eight = await store.putBlob('r', Readable.from([Buffer.alloc(8 * BLOB_CHUNK, 1)]));
      const sent = (store.readBlob('r', eight.digest) as BlobFileStream).sendTo(sink);
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(sink.writableLength, BLOB_SEND_BUFFERS * BLOB_CHUNK);
      assert.equal(held.length, 1, 'the sink took the first write only');
      let taken = 0;
      while (!sink.writableFinished) {
        if (held.length > 0) taken++;
        assert.ok(sink.writableLength <= BLOB_SEND_BUFFERS * BLOB_CHUNK);
        held.shift()?.();
        await new Promise((r) => setImmediate(r));
      }
      await sent;
      assert.equal(taken, 8);
    });

    it('sendTo rejects when the sink is destroyed midway, and closes the file; a missing file rejects with ENOENT before any write', async () => {
      const sink = new PassThrough({ highWaterMark: 1 });
      const stream = store.readBlob('r', digest) as BlobFileStream;
      const sent = stream.sendTo(sink);
      setTimeout(() => sink.destroy(), 50);
      await assert.rejects(sent);
      assert.equal(stream.destroyed, true);
      const gone = new BlobFileStream(join(dir.path, 'no-such-blob'), 0, undefined);
      const { sink: untouched, writes } = collector();
      await assert.rejects(gone.sendTo(untouched), (err: NodeJS.ErrnoException) => err.code === 'ENOENT');
      assert.equal(writes(), 0);
    });
  });
});
