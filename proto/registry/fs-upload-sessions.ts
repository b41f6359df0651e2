import { createHash, randomUUID, type Hash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { Clock } from '../clock.js';
import type { Digest } from './content-store.js';
import { digestOf, hashFile, writeHashed } from './hashed-write.js';
import { RegistryError } from './registry-error.js';
import type { RegistryIndex } from './registry-index.js';

/** An upload's running hash, valid while `size` equals the bytes on disk (lost on restart: then the file is re-read). */
interface RunningHash {
  readonly hash: Hash;
  size: number;
}

const UPLOAD_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Chunked uploads (the spec's upload sessions) as files under `<store>/uploads/<uuid>`, their
 * sizes in the index. Chunks are appended in order only; one upload takes one chunk at a time.
 */
export class FsUploadSessions {
  readonly #hashes = new Map<string, RunningHash>();
  /** Uploads with a chunk being written or a commit hashing: a second request would race for the same bytes. */
  readonly #busy = new Set<string>();

  constructor(private readonly dir: string, private readonly index: RegistryIndex, private readonly clock: Clock) {}

  async start(repo: string): Promise<string> {
    const id = randomUUID();
    await (await open(this.path(id), 'wx', 0o600)).close();
    this.index.startUpload(id, repo, this.clock.now());
    this.#hashes.set(id, { hash: createHash('sha256'), size: 0 });
    return id;
  }

  async append(repo: string, id: string, source: Readable, offset: number): Promise<number> {
    const row = this.#known(repo, id);
    if (this.#busy.has(id)) throw new RegistryError('BLOB_UPLOAD_INVALID', 'another chunk of this upload is being written', { status: 416, detail: { size: row.size } });
    // The spec: chunks arrive in order; one that does not start where the upload ends is refused with 416.
    if (offset !== row.size) throw new RegistryError('BLOB_UPLOAD_INVALID', `chunk starts at ${offset}, the upload has ${row.size} bytes`, { status: 416, detail: { size: row.size } });
    this.#busy.add(id);
    try {
      const running = this.#hashes.get(id);
      const hash = running?.size === offset ? running.hash : createHash('sha256');
      const file = await open(this.path(id), 'r+');
      try {
        const size = offset + await writeHashed(source, file, hash, offset);
        this.index.setUploadSize(id, size, this.clock.now());
        if (running?.size === offset) running.size = size;
        else this.#hashes.delete(id);
        return size;
      } catch (err) {
        // Back to the last complete chunk, so the client can resend from there; the running hash saw the partial bytes.
        this.#hashes.delete(id);
        await file.truncate(offset);
        throw err;
      } finally {
        await file.close();
      }
    } finally {
      this.#busy.delete(id);
    }
  }

  size(repo: string, id: string): number | undefined {
    return UPLOAD_ID.test(id) ? this.index.upload(repo, id)?.size : undefined;
  }

  /**
   * Checks the upload's bytes against `expected` and hands the file to `install` (which moves it
   * into place and drops the upload row). A mismatch cancels the upload: DIGEST_INVALID.
   */
  async commit(repo: string, id: string, expected: Digest, install: (path: string, digest: Digest, size: number) => Promise<void>): Promise<number> {
    const row = this.#known(repo, id);
    if (this.#busy.has(id)) throw new RegistryError('BLOB_UPLOAD_INVALID', 'a chunk of this upload is still being written', { status: 416, detail: { size: row.size } });
    this.#busy.add(id); // a chunk arriving while the file is hashed would change the bytes under the digest
    let digest: Digest;
    try {
      const running = this.#hashes.get(id);
      digest = digestOf(running?.size === row.size ? running.hash : await hashFile(this.path(id)));
      this.#hashes.delete(id);
      if (digest === expected) await install(this.path(id), digest, row.size);
    } finally {
      this.#busy.delete(id);
    }
    if (digest !== expected) {
      await this.cancel(repo, id);
      throw new RegistryError('DIGEST_INVALID', `digest mismatch: the upload is ${digest}, not ${expected}`, { detail: { digest: expected, actual: digest } });
    }
    return row.size;
  }

  async cancel(repo: string, id: string): Promise<void> {
    if (!UPLOAD_ID.test(id) || !this.index.upload(repo, id)) return;
    await this.#drop(id);
  }

  /** Uploads untouched since `before` (abandoned by their clients), except one being written right now. */
  async removeStale(before: number): Promise<void> {
    for (const id of this.index.staleUploads(before)) {
      if (!this.#busy.has(id)) await this.#drop(id);
    }
  }

  /** At open: temp files of pushes cut short by a crash, and upload files the index does not know. */
  async removeOrphans(): Promise<void> {
    for (const name of readdirSync(this.dir)) {
      if (!UPLOAD_ID.test(name) || !this.index.hasUpload(name)) await rm(join(this.dir, name), { force: true });
    }
  }

  /** Where a monolithic push streams before its digest is known (same filesystem as the blobs: rename works). */
  tempPath(): string {
    return join(this.dir, `.put-${randomUUID()}`);
  }

  path(id: string): string {
    // Ids come from randomUUID() or were checked against its shape: never a client's path.
    if (!UPLOAD_ID.test(id)) throw new RegistryError('BLOB_UPLOAD_UNKNOWN', `no upload ${id}`, { detail: { uploadId: id } });
    return join(this.dir, id);
  }

  async #drop(id: string): Promise<void> {
    this.index.deleteUpload(id);
    this.#hashes.delete(id);
    await rm(this.path(id), { force: true });
  }

  #known(repo: string, id: string): { size: number } {
    const row = UPLOAD_ID.test(id) ? this.index.upload(repo, id) : undefined;
    if (!row) throw new RegistryError('BLOB_UPLOAD_UNKNOWN', `no upload ${id} in ${repo}`, { detail: { uploadId: id } });
    return row;
  }
}
