import { createHash } from 'node:crypto';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, renameSync, rmSync, unlinkSync } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { systemClock, type Clock } from '../clock.js';
import { BlobFileStream } from './blob-file-stream.js';
import type { BlobInfo, ContentStore, Digest, StoredManifest } from './content-store.js';
import { FsUploadSessions } from './fs-upload-sessions.js';
import { digestOf, writeHashed } from './hashed-write.js';
import { parseManifest } from './manifest-parser.js';
import { isSha256Digest, isTag, looksLikeDigest } from './oci-grammar.js';
import { RegistryError } from './registry-error.js';
import { RegistryIndex, type ManifestRow } from './registry-index.js';
import { syncDirectory } from './sync-directory.js';

export interface FsContentStoreOptions {
  /** Unreferenced blobs younger than this survive a collection (clients push layers before the manifest). @default 3_600_000 (1 h) */
  readonly gcGraceMs: number;
  /** Uploads untouched this long are abandoned: a collection deletes them. @default 86_400_000 (24 h) */
  readonly uploadTtlMs: number;
  /** @default systemClock */
  readonly clock: Clock;
}

export const DEFAULT_FS_CONTENT_STORE_OPTIONS: FsContentStoreOptions = Object.freeze({ gcGraceMs: 3_600_000, uploadTtlMs: 86_400_000, clock: systemClock });

/** The index file in the store's directory (0600). */
export const REGISTRY_DB_FILE = 'registry.db';

/**
 * The registry's ContentStore on a local filesystem: blobs content-addressed under
 * `<dir>/blobs/sha256/<2 hex>/<64 hex>`, uploads as files under `<dir>/uploads/`, the index in
 * SQLite (`<dir>/registry.db`). A blob is written to a temp file while its sha256 is computed,
 * fsynced, and renamed into place only when the digest matches: a reader never sees a partial
 * blob, and a mismatch leaves nothing. One process owns a directory.
 */
export class FsContentStore implements ContentStore {
  #closed = false;
  readonly #pending = new Set<Promise<unknown>>();

  private readonly uploads: FsUploadSessions;

  private constructor(readonly dir: string, private readonly index: RegistryIndex, private readonly options: FsContentStoreOptions) {
    this.uploads = new FsUploadSessions(join(dir, 'uploads'), index, options.clock);
  }

  static async open(dir: string, options: Partial<FsContentStoreOptions> = {}): Promise<FsContentStore> {
    const complete: FsContentStoreOptions = Object.freeze({ ...DEFAULT_FS_CONTENT_STORE_OPTIONS, ...options });
    mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true, mode: 0o700 });
    mkdirSync(join(dir, 'uploads'), { recursive: true, mode: 0o700 });
    const dbPath = join(dir, REGISTRY_DB_FILE);
    closeSync(openSync(dbPath, 'a', 0o600));
    chmodSync(dbPath, 0o600);
    const index = RegistryIndex.open(dbPath);
    const store = new FsContentStore(dir, index, complete);
    try {
      await store.uploads.removeOrphans();
    } catch (err) {
      index.close();
      throw err;
    }
    return store;
  }

  // ---- blobs ----

  statBlob(repo: string, digest: Digest): Promise<BlobInfo | undefined> {
    return this.#settle(() => {
      const size = this.index.linkedBlobSize(repo, digest);
      return size === undefined || !existsSync(this.#blobPath(digest)) ? undefined : { digest, size };
    });
  }

  readBlob(repo: string, digest: Digest, range?: { readonly start: number; readonly end: number }): Readable {
    this.#open();
    // A BlobFileStream: the OCI blob GET sends it with reused buffers (see its sendTo()).
    return new BlobFileStream(this.#blobPath(digest), range?.start ?? 0, range?.end);
  }

  putBlob(repo: string, source: Readable, expected?: Digest): Promise<BlobInfo> {
    return this.#track(async () => {
      const tmp = this.uploads.tempPath();
      const hash = createHash('sha256');
      let size: number;
      try {
        const file = await open(tmp, 'wx', 0o600);
        try {
          size = await writeHashed(source, file, hash, 0);
        } finally {
          await file.close();
        }
      } catch (err) {
        source.destroy();
        await rm(tmp, { force: true });
        throw err;
      }
      const digest = digestOf(hash);
      if (expected !== undefined && digest !== expected) {
        await rm(tmp, { force: true });
        throw new RegistryError('DIGEST_INVALID', `digest mismatch: the bytes are ${digest}, not ${expected}`, { detail: { digest: expected, actual: digest } });
      }
      await this.#install(repo, tmp, digest, size);
      return { digest, size };
    });
  }

  mountBlob(repo: string, from: string, digest: Digest): Promise<boolean> {
    return this.#settle(() => {
      const size = this.index.linkedBlobSize(from, digest);
      if (size === undefined || !existsSync(this.#blobPath(digest))) return false;
      this.index.putBlob(repo, digest, size, this.options.clock.now());
      return true;
    });
  }

  /** Unlinks the blob from `repo`; its bytes go at the next collection when nothing else references them. */
  deleteBlob(repo: string, digest: Digest): Promise<boolean> {
    return this.#settle(() => this.index.unlinkBlob(repo, digest));
  }

  // ---- chunked uploads ----

  startUpload(repo: string): Promise<string> {
    return this.#track(() => this.uploads.start(repo));
  }

  appendUpload(repo: string, uploadId: string, source: Readable, offset: number): Promise<number> {
    return this.#track(() => this.uploads.append(repo, uploadId, source, offset));
  }

  uploadSize(repo: string, uploadId: string): Promise<number | undefined> {
    return this.#settle(() => this.uploads.size(repo, uploadId));
  }

  commitUpload(repo: string, uploadId: string, expected: Digest): Promise<BlobInfo> {
    return this.#track(async () => {
      const size = await this.uploads.commit(repo, uploadId, expected, (path, digest, bytes) => this.#install(repo, path, digest, bytes, uploadId));
      return { digest: expected, size };
    });
  }

  cancelUpload(repo: string, uploadId: string): Promise<void> {
    return this.#track(() => this.uploads.cancel(repo, uploadId));
  }

  // ---- manifests and tags ----

  putManifest(repo: string, bytes: Buffer, mediaType: string, tag?: string): Promise<StoredManifest> {
    return this.#settle(() => this.#putManifest(repo, bytes, mediaType, tag));
  }

  #putManifest(repo: string, bytes: Buffer, mediaType: string, tag: string | undefined): StoredManifest {
    if (tag !== undefined && !isTag(tag)) throw new RegistryError('MANIFEST_INVALID', `"${tag}" is not a valid tag`, { detail: { tag } });
    const parsed = parseManifest(bytes, mediaType);
    const digest: Digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    // Checked and written in one synchronous step: no delete or collection can slip in between.
    const missing = [
      ...parsed.refs.blobs.filter((d) => this.index.linkedBlobSize(repo, d) === undefined),
      ...parsed.refs.manifests.filter((d) => !this.index.hasManifest(repo, d)),
    ];
    if (missing.length > 0) {
      const [first, ...rest] = missing.map((d) => ({ code: 'MANIFEST_BLOB_UNKNOWN' as const, message: `manifest references ${d}, which is not in ${repo}`, detail: { digest: d } }));
      throw new RegistryError('MANIFEST_BLOB_UNKNOWN', first!.message, { detail: first!.detail, more: rest });
    }
    const row: ManifestRow = { digest, media_type: parsed.mediaType, artifact_type: parsed.artifactType, subject: parsed.subject, size: bytes.length, bytes };
    this.index.transaction(() => this.index.putManifest(repo, row, parsed.refs, tag, this.options.clock.now()));
    return toStored(row);
  }

  getManifest(repo: string, reference: string): Promise<StoredManifest | undefined> {
    return this.#settle(() => {
      const row = looksLikeDigest(reference) ? this.index.manifestByDigest(repo, reference) : this.index.manifestByTag(repo, reference);
      return row && toStored(row);
    });
  }

  deleteManifest(repo: string, digest: Digest): Promise<boolean> {
    return this.#settle(() => this.index.deleteManifest(repo, digest));
  }

  listTags(repo: string, options: { readonly n?: number; readonly last?: string } = {}): Promise<string[]> {
    return this.#settle(() => this.index.listTags(repo, options.n ?? -1, options.last ?? ''));
  }

  deleteTag(repo: string, tag: string): Promise<boolean> {
    return this.#settle(() => this.index.deleteTag(repo, tag));
  }

  referrers(repo: string, digest: Digest, artifactType?: string): Promise<StoredManifest[]> {
    return this.#settle(() => this.index.referrers(repo, digest, artifactType).map(toStored));
  }

  listRepositories(options: { readonly n?: number; readonly last?: string } = {}): Promise<string[]> {
    return this.#settle(() => this.index.listRepositories(options.n ?? -1, options.last ?? ''));
  }

  hasRepository(repo: string): Promise<boolean> {
    return this.#settle(() => this.index.hasRepository(repo));
  }

  // ---- garbage collection ----

  collectGarbage(options: { readonly graceMs?: number } = {}): Promise<{ readonly removedBlobs: number; readonly freedBytes: number }> {
    return this.#track(async () => {
      const now = this.options.clock.now();
      // Abandoned uploads first: while one is open, its repository's unreferenced blobs are kept.
      await this.uploads.removeStale(now - this.options.uploadTtlMs);
      // Choosing the victims, dropping their rows and unlinking their files is one synchronous step:
      // a blob being installed (row + rename, also synchronous) is either before it (then young) or after.
      const victims = this.index.sweepBlobs(now - (options.graceMs ?? this.options.gcGraceMs));
      let freedBytes = 0;
      for (const { digest, size } of victims) {
        rmSync(this.#blobPath(digest), { force: true });
        freedBytes += size;
      }
      return { removedBlobs: victims.length, freedBytes };
    });
  }

  /** Idempotent; waits for the writes in flight. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.allSettled([...this.#pending]);
    this.index.close();
  }

  // ---- internals ----

  /**
   * Moves a verified temp file into place and records it, in one synchronous step (see
   * collectGarbage). Same bytes already stored: the temp file is dropped (dedupe).
   */
  async #install(repo: string, tmp: string, digest: Digest, size: number, uploadId?: string): Promise<void> {
    const path = this.#blobPath(digest);
    let renamed = false;
    if (this.index.blobSize(digest) !== undefined && existsSync(path)) {
      unlinkSync(tmp);
    } else {
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      renameSync(tmp, path);
      renamed = true;
    }
    this.index.transaction(() => {
      this.index.putBlob(repo, digest, size, this.options.clock.now());
      if (uploadId !== undefined) this.index.deleteUpload(uploadId);
    });
    // The rename is durable only once its directory is synced.
    if (renamed) await syncDirectory(dirname(path));
  }

  #blobPath(digest: Digest): string {
    // The digest becomes a path: only the exact sha256 form may (no separators, no `..`).
    if (!isSha256Digest(digest)) throw new RegistryError('DIGEST_INVALID', `"${String(digest)}" is not a sha256 digest`, { detail: { digest } });
    const hex = digest.slice('sha256:'.length);
    return join(this.dir, 'blobs', 'sha256', hex.slice(0, 2), hex);
  }

  /** A synchronous step as a promise: its errors reject instead of throwing at the caller. */
  #settle<T>(work: () => T): Promise<T> {
    try {
      this.#open();
      return Promise.resolve(work());
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  #open(): void {
    if (this.#closed) throw new Error('FsContentStore used after close()');
  }

  #track<T>(work: () => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new Error('FsContentStore used after close()'));
    const promise = work();
    this.#pending.add(promise);
    const forget = (): void => void this.#pending.delete(promise);
    promise.then(forget, forget);
    return promise;
  }
}

const toStored = (row: ManifestRow): StoredManifest => ({
  digest: row.digest, mediaType: row.media_type, bytes: row.bytes, artifactType: row.artifact_type, subject: row.subject,
});
