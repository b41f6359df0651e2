import { randomBytes } from 'node:crypto';
import { link, mkdir, open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Clock } from '../../proto/clock.js';
import { PcgError } from '../../proto/errors.js';
import { Secret } from '../../proto/secret.js';
import type { ClusterCa } from '../jobs/job-executor.js';
import { clusterCaOf, createClusterCa } from './cluster-ca.js';

/** Directory of the per-cluster CA files in the state dir (0700; each file 0600). */
export const CLUSTER_CA_DIR = 'cluster-ca';

interface StoredCa {
  readonly certPem: string;
  readonly keyPem: string;
}

/**
 * Each cluster's Kubernetes CA, made once and kept in the state dir: `cluster-ca/<clusterId>.json`
 * (0600). Stored rather than derived: a derived RSA key would depend on the key generator's
 * prime search (a library upgrade would silently give a running cluster another CA, and every
 * node joining it later would pin the wrong one) and on fixed validity dates.
 *
 * Crash safety: the file is written complete under a temporary name and then linked into place,
 * and link() fails when the name exists, so the first writer wins and nobody reads half a file.
 * A crash before the link leaves no CA and no userdata carrying one (the CA is fetched before any
 * clone); after it, every run reads that CA.
 */
export class ClusterCaStore {
  readonly #loading = new Map<string, Promise<ClusterCa>>();

  private constructor(private readonly dir: string, private readonly clock: Pick<Clock, 'now'>) {}

  static async open(stateDir: string, clock: Pick<Clock, 'now'>): Promise<ClusterCaStore> {
    const dir = join(stateDir, CLUSTER_CA_DIR);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    return new ClusterCaStore(dir, clock);
  }

  /** The cluster's CA: read from its file, or made and kept when there is none. */
  caFor(clusterId: string): Promise<ClusterCa> {
    let loading = this.#loading.get(clusterId);
    if (!loading) {
      loading = this.#load(clusterId);
      this.#loading.set(clusterId, loading);
      // A failed read is not cached: the next run tries again.
      loading.catch(() => this.#loading.delete(clusterId));
    }
    return loading;
  }

  /** Removes the cluster's CA (its cluster is deleted); nothing there is fine. */
  async forget(clusterId: string): Promise<void> {
    this.#loading.delete(clusterId);
    await rm(this.#path(clusterId), { force: true });
  }

  async #load(clusterId: string): Promise<ClusterCa> {
    const existing = await this.#read(clusterId);
    if (existing) return existing;
    const made = await createClusterCa(this.clock.now());
    const tmp = join(this.dir, `.${clusterId}.${randomBytes(6).toString('hex')}.tmp`);
    try {
      const file = await open(tmp, 'wx', 0o600);
      try {
        await file.writeFile(JSON.stringify({ certPem: made.certPem, keyPem: made.keyPem.reveal() } satisfies StoredCa));
        await file.sync();
      } finally {
        await file.close();
      }
      await link(tmp, this.#path(clusterId)).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'EEXIST') throw err;
      });
      await syncDir(this.dir);
    } finally {
      await rm(tmp, { force: true });
    }
    // Whoever linked first won: read back what is now the cluster's CA.
    const kept = await this.#read(clusterId);
    if (!kept) throw new PcgError('PCG_ERR_STATE_DIR', `the CA of cluster ${clusterId} vanished from ${this.dir} while it was made`);
    return kept;
  }

  async #read(clusterId: string): Promise<ClusterCa | undefined> {
    let text: string;
    try {
      text = await readFile(this.#path(clusterId), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new PcgError('PCG_ERR_STATE_DIR', `cannot read the CA of cluster ${clusterId} in ${this.dir}`, { cause: err });
    }
    let stored: StoredCa;
    try {
      stored = JSON.parse(text) as StoredCa;
    } catch (err) {
      // The cause is dropped on purpose: a JSON error quotes the file, and the file holds a key.
      throw new PcgError('PCG_ERR_STATE_DIR', `the CA file of cluster ${clusterId} in ${this.dir} is damaged (${(err as Error).name}); restore it from a backup`);
    }
    return clusterCaOf(stored.certPem, new Secret(stored.keyPem));
  }

  #path(clusterId: string): string {
    if (!/^[A-Za-z0-9_-]+$/.test(clusterId)) throw new Error(`not a cluster id: ${clusterId}`);
    return join(this.dir, `${clusterId}.json`);
  }
}

async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
