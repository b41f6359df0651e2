import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../proto/atomic-file.js';
import { PcgError } from '../../proto/errors.js';
import { packRepository } from '../../proto/registry/pack-artifact.js';
import type { PackRef } from '../../proto/schemas/jobs.js';

/** The file in the registry's folder: `{ "<clusterId>": ["packs/ubuntu", …] }` (0600, written atomically). */
export const CLUSTER_PACKS_FILE = 'cluster-packs.json';

/**
 * What each cluster's pack read token may pull: the repositories of the packs in the cluster's
 * spec, recorded when a job for it starts (before any node boots) and dropped when the cluster is
 * deleted. Kept in the state dir, so nodes still fetch after a gateway restart. A token of a
 * cluster with no record pulls nothing (fail closed: a cluster this gateway never built has no
 * business in its registry).
 *
 * The token is derived from the cluster id alone (gateway/nodes/node-tokens.ts) and stays valid
 * when a profile changes; what it reaches follows the latest spec. Reads are synchronous (the
 * registry's credential check is); writes are serialised and durable when they resolve.
 */
export class ClusterPackScopes {
  #tail: Promise<void> = Promise.resolve();

  private constructor(private readonly path: string, private readonly scopes: Map<string, readonly string[]>) {}

  static async open(dir: string): Promise<ClusterPackScopes> {
    const path = join(dir, CLUSTER_PACKS_FILE);
    const scopes = new Map<string, readonly string[]>();
    if (existsSync(path)) {
      let doc: unknown;
      try {
        doc = JSON.parse(await readFile(path, 'utf8'));
      } catch (err) {
        throw new PcgError('PCG_ERR_STATE_DIR', `${path} is not valid JSON; remove it and re-run the clusters' jobs to rebuild it`, { cause: err });
      }
      for (const [clusterId, repos] of Object.entries(doc as Record<string, unknown>)) {
        if (Array.isArray(repos)) scopes.set(clusterId, Object.freeze(repos.filter((r): r is string => typeof r === 'string')));
      }
    }
    return new ClusterPackScopes(path, scopes);
  }

  /** The repositories `clusterId`'s token may pull; [] when the cluster is unknown. */
  repositoriesOf(clusterId: string): readonly string[] {
    return this.scopes.get(clusterId) ?? [];
  }

  /** Sets the cluster's scope to its spec's packs (whatever registry each names: nodes fetch them all here). */
  record(clusterId: string, packs: readonly Pick<PackRef, 'name'>[]): Promise<void> {
    const repos = Object.freeze([...new Set(packs.map((p) => packRepository(p.name)))].sort());
    const current = this.scopes.get(clusterId);
    if (current && current.length === repos.length && current.every((r, i) => r === repos[i])) return this.#tail;
    this.scopes.set(clusterId, repos);
    return this.#save();
  }

  /** Drops a deleted cluster's scope; idempotent. */
  forget(clusterId: string): Promise<void> {
    if (!this.scopes.delete(clusterId)) return this.#tail;
    return this.#save();
  }

  /** Each save writes the whole map as it is when the save runs, so the last one written holds every change. */
  #save(): Promise<void> {
    const run = this.#tail.then(() => writeFileAtomic(this.path, `${JSON.stringify(Object.fromEntries(this.scopes), null, 1)}\n`, 0o600));
    this.#tail = run.catch(() => undefined);
    return run;
  }
}
