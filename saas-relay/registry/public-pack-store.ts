import { chmodSync, existsSync, readdirSync } from 'node:fs';
import { chmod, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Clock } from '../../proto/clock.js';
import { PcgError } from '../../proto/errors.js';
import type { PackManifest } from '../../proto/packs/pack-manifest.js';
import { FsContentStore } from '../../proto/registry/fs-content-store.js';
import { PackRegistry } from '../../proto/registry/pack-registry.js';
import { RegistryLock } from './registry-lock.js';

/** The registry's folder in the relay's data dir (`--registry-dir` overrides it). */
export const PUBLIC_REGISTRY_DIR = 'registry';

/** What a profile check needs of the public registry: one pack version's pack.json. */
export interface PublicPackCatalog {
  /** pack.json of `name` at exactly `version`; undefined when the public registry lacks it. */
  manifestOf(name: string, version: string): Promise<PackManifest | undefined>;
}

/**
 * The public registry's content on disk, as `pcg-relay serve` and `pcg-relay packs import` open it:
 *
 *   <dir>/            0700   owner.lock (RegistryLock), token.key (public-registry.ts)
 *   <dir>/store/      0700   FsContentStore: blobs/, uploads/, registry.db (files 0600)
 *   <dir>/packs/      0700   PackRegistry: packs.db (0600), pack-uploads/ (0600 while checked)
 *
 * One process at a time (the lock); close() releases everything, in reverse order.
 */
export class PublicPackStore implements PublicPackCatalog {
  #closed = false;

  private constructor(readonly dir: string, readonly store: FsContentStore, readonly packs: PackRegistry, private readonly lock: RegistryLock) {}

  static async open(dir: string, ports: { readonly clock: Clock }): Promise<PublicPackStore> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    // mkdir's mode applies only to folders it creates; the registry folder may come from an older setup.
    await chmod(dir, 0o700);
    const lock = RegistryLock.acquire(dir, ports.clock.now());
    let store: FsContentStore | undefined;
    try {
      store = await FsContentStore.open(join(dir, 'store'), { clock: ports.clock });
      const packsDir = join(dir, 'packs');
      const packs = await PackRegistry.create(store, { dir: packsDir });
      restrictSqliteFiles(packsDir);
      return new PublicPackStore(dir, store, packs, lock);
    } catch (err) {
      await store?.close();
      lock.release();
      throw err;
    }
  }

  async manifestOf(name: string, version: string): Promise<PackManifest | undefined> {
    try {
      const found = await this.packs.get(name, version);
      // get() also resolves tags; a profile names a version, so only an exact one counts.
      return found.version === version ? found.manifest : undefined;
    } catch (err) {
      if (err instanceof PcgError && err.code === 'PCG_ERR_NOT_FOUND') return undefined;
      throw err;
    }
  }

  /** Idempotent; after every request using it has ended (the relay closes its server first). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.packs.close();
      await this.store.close();
    } finally {
      this.lock.release();
    }
  }
}

/**
 * better-sqlite3 creates packs.db with the process umask; SQLite gives the -wal and -shm files it
 * makes later the database file's mode, so fixing the files present now covers them too.
 */
function restrictSqliteFiles(dir: string): void {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (name.startsWith('packs.db') && existsSync(path)) chmodSync(path, 0o600);
  }
}
