import type { NodeStatus } from '../../proto/schemas/jobs.js';
import type { ClusterPacks, JobContext, JobExecutor } from '../jobs/job-executor.js';

/**
 * A JobExecutor that readies the cluster's packs (ClusterPacks) before `inner` clones a node, and
 * releases them once a delete has removed every node. Wrap the cluster executor with it where the
 * daemon builds the job runner:
 *
 *   const executor = withClusterPacks(cluster, registry.clusterPacks)
 *
 * Idempotent as the inner executor must be: a re-run records the same scope and finds the packs
 * local. A prepare failure fails the job before anything exists on vSphere.
 */
export function withClusterPacks(inner: JobExecutor, packs: ClusterPacks): JobExecutor {
  return {
    async execute(context: JobContext): Promise<{ readonly nodes: NodeStatus[] }> {
      const { job } = context;
      if (job.action === 'delete') {
        const result = await inner.execute(context);
        await packs.release(job.cluster.clusterId);
        return result;
      }
      const { pulled } = await packs.prepare(job.cluster, context.signal);
      context.event('packs', pulled.length === 0
        ? `${job.cluster.packs.length} packs ready on the gateway`
        : `${job.cluster.packs.length} packs ready on the gateway; pulled from the relay: ${pulled.join(', ')}`);
      return inner.execute(context);
    },
  };
}
