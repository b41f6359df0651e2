import { PcgError } from '../../proto/errors.js';
import type { ClusterSpec } from '../../proto/schemas/jobs.js';
import type { ClusterPacks } from '../jobs/job-executor.js';
import type { ClusterPackScopes } from './cluster-pack-scopes.js';
import type { PublicPackPuller } from './public-pack-puller.js';

/** The registry a profile layer names for the relay's public packs (saas-relay/clusters/profile-packs.ts). */
export const PUBLIC_REGISTRY = 'public';

/**
 * ClusterPacks on the gateway's registry: the scope first (durable before any node can hold the
 * token), then the public packs, one after the other (a profile names a handful; each is pulled
 * once, and nodes booting later find them local). Without a puller (the gateway's registry has no
 * relay behind it) public packs must already be on the gateway.
 */
export class ClusterPackPreparer implements ClusterPacks {
  constructor(private readonly scopes: ClusterPackScopes, private readonly puller: PublicPackPuller | null) {}

  async prepare(cluster: ClusterSpec, signal: AbortSignal): Promise<{ readonly pulled: readonly string[] }> {
    await this.scopes.record(cluster.clusterId, cluster.packs);
    const pulled: string[] = [];
    if (!this.puller) return { pulled };
    for (const pack of cluster.packs.filter((p) => p.registry === PUBLIC_REGISTRY)) {
      signal.throwIfAborted();
      const found = await this.puller.ensure(pack.name, pack.version);
      if (found === 'absent') throw new PcgError('PCG_ERR_PROFILE_PACK', `the ${pack.layer} layer's public pack ${pack.name}:${pack.version} is neither on this gateway nor in the relay's public registry`);
      if (found === 'pulled') pulled.push(`${pack.name}:${pack.version}`);
    }
    return { pulled };
  }

  release(clusterId: string): Promise<void> {
    return this.scopes.forget(clusterId);
  }
}
