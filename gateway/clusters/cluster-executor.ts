import { setMaxListeners } from 'node:events';
import type { Logger } from 'pino';
import type { Clock } from '../../proto/clock.js';
import { PcgError } from '../../proto/errors.js';
import type { ClusterSpec, NodeStatus } from '../../proto/schemas/jobs.js';
import type { ClusterInspector, ClusterKeys, JobContext, JobExecutor } from '../jobs/job-executor.js';
import { readInventory } from '../vsphere/inventory.js';
import type { VcenterService } from '../vsphere/vcenter-service.js';
import { VmOperations } from '../vsphere/vm-operations.js';
import { applyCluster } from './cluster-apply.js';
import { deleteCluster } from './cluster-delete.js';
import { locateClusterFolder } from './cluster-folder-locator.js';
import type { ClusterRun, RunContext } from './cluster-run.js';
import { findClusterVms } from './cluster-vms.js';

export interface ClusterExecutorDeps {
  readonly vcenter: Pick<VcenterService, 'session'>;
  readonly clock: Clock;
  readonly log: Logger;
  /** How long a powered-on node may take to get an address, and then to phone home. */
  readonly readyTimeoutMs: number;
  /** Clones in flight at once per job. */
  readonly cloneConcurrency: number;
  /** Between reads of the guests' addresses (one read for all nodes waiting). @default 2000 */
  readonly ipPollMs?: number;
  /** Longest wait for one vCenter task (clone, power, destroy). @default 600_000 */
  readonly taskTimeoutMs?: number;
  /** Per-cluster secrets kept by the gateway (pack read tokens, each cluster's CA): NodeReadinessService. */
  readonly clusterKeys: ClusterKeys;
}

const DEFAULTS = { ipPollMs: 2_000, taskTimeoutMs: 600_000 } as const;

/**
 * What a job does on vSphere: `apply` makes vCenter hold exactly the spec's nodes, `delete`
 * removes them and the cluster's folder. Idempotent and crash-safe by construction: names and
 * instance UUIDs are derived, every state-changing call is journaled before it is made, and a
 * run starts by resolving what a crashed run left open (see call-resolver.ts).
 */
export class ClusterExecutor implements JobExecutor, ClusterInspector {
  readonly #deps: Required<ClusterExecutorDeps>;

  constructor(deps: ClusterExecutorDeps) {
    if (!(deps.cloneConcurrency >= 1)) throw new RangeError(`cloneConcurrency must be at least 1, got ${deps.cloneConcurrency}`);
    this.#deps = Object.freeze({ ...DEFAULTS, ...deps });
  }

  async execute(context: JobContext): Promise<{ readonly nodes: NodeStatus[] }> {
    const { job } = context;
    const run = await this.#run(job.cluster, {
      event: (step, message, options) => context.event(step, message, options), checkpoint: (name) => context.checkpoint(name),
      calls: context.calls, readiness: context.readiness, jobId: job.id,
    }, context.signal);
    this.#deps.log.info({ job: job.id, cluster: job.cluster.clusterId, action: job.action, nodes: job.cluster.nodes.length }, 'cluster job started');
    try {
      if (job.action === 'delete') {
        await deleteCluster(run);
        return { nodes: [] };
      }
      return { nodes: await applyCluster(run) };
    } catch (err) {
      if (context.signal.aborted && !(err instanceof PcgError && err.code === 'PCG_ERR_JOB_CANCELLED')) {
        throw new PcgError('PCG_ERR_JOB_CANCELLED', 'the job was cancelled', { cause: err });
      }
      throw err;
    } finally {
      // Ends whatever still waits on the run's signal (an address poll between rounds).
      run.abort(new PcgError('PCG_ERR_JOB_CANCELLED', 'the run ended'));
    }
  }

  /** The spec's nodes whose VM is gone: not in the cluster's folder by name, nor anywhere by instance UUID. */
  async missingNodes(cluster: ClusterSpec, signal: AbortSignal): Promise<string[]> {
    const session = await this.#deps.vcenter.session();
    signal.throwIfAborted();
    const { datacenter, folder } = locateClusterFolder(await readInventory(session), cluster);
    signal.throwIfAborted();
    const names = cluster.nodes.map((n) => n.name);
    const { byNode } = await findClusterVms(session, new VmOperations(session), cluster, folder?.ref, datacenter?.ref, names);
    return names.filter((n) => !byNode.has(n));
  }

  async #run(cluster: ClusterSpec, context: RunContext, jobSignal: AbortSignal): Promise<ClusterRun> {
    const session = await this.#deps.vcenter.session();
    const internal = new AbortController();
    const signal = AbortSignal.any([jobSignal, internal.signal]);
    // Every task wait and readiness wait of the run listens on it (30 nodes: 60+ at once), each
    // removed when its wait ends: not a leak, so no MaxListenersExceededWarning for big clusters.
    setMaxListeners(0, signal);
    const d = this.#deps;
    return {
      context, cluster, session, ops: new VmOperations(session), signal, jobSignal,
      clock: d.clock, log: d.log, readyTimeoutMs: d.readyTimeoutMs, taskTimeoutMs: d.taskTimeoutMs, ipPollMs: d.ipPollMs,
      cloneConcurrency: d.cloneConcurrency, clusterKeys: d.clusterKeys, abort: (reason) => internal.abort(reason),
    };
  }
}
