import type { Logger } from 'pino';
import { PcgError } from '../../proto/errors.js';
import type { ClusterCa, ClusterKeys, NodeReadiness } from '../jobs/job-executor.js';
import type { JobJournal } from '../jobs/job-journal.js';
import type { ClusterCaStore } from './cluster-ca-store.js';
import type { NodeIdentity, NodeTokens } from './node-tokens.js';

/** The path nodes POST to, under `endpoint.url`. */
export const NODE_READY_PATH = '/v1/nodes/ready';

interface Waiter {
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

/**
 * NodeReadiness for the executor: tokens derived by NodeTokens, readiness journaled (a node that
 * phoned home before a gateway restart stays ready), waiters woken by the phone-home route.
 * Also the executor's ClusterKeys: pack read tokens (NodeTokens, a MAC domain of their own) and
 * each cluster's CA (ClusterCaStore, in the state dir).
 */
export class NodeReadinessService implements NodeReadiness, ClusterKeys {
  readonly #waiters = new Map<string, Set<Waiter>>();

  /** `base` is read when asked: the server's URL is known only once it listens. */
  constructor(
    private readonly tokens: NodeTokens,
    private readonly journal: JobJournal,
    private readonly base: () => { readonly url: string; readonly caPem: string },
    private readonly log: Logger,
    /** Where cluster CAs are kept; without one (tests of phone-home alone) clusterCa() refuses. */
    private readonly cas?: ClusterCaStore,
  ) {}

  /** `url` is the gateway's base URL (no trailing slash): nodes POST to `${url}/v1/nodes/ready`, and fetch packs under it. */
  get endpoint(): { readonly url: string; readonly caPem: string } {
    return this.base();
  }

  tokenFor(clusterId: string, node: string): string {
    return this.tokens.tokenFor(clusterId, node);
  }

  packReadTokenFor(clusterId: string): string {
    return this.tokens.packReadTokenFor(clusterId);
  }

  clusterCa(clusterId: string): Promise<ClusterCa> {
    if (!this.cas) return Promise.reject(new PcgError('PCG_ERR_STATE_DIR', 'this gateway was started without a cluster CA store'));
    return this.cas.caFor(clusterId);
  }

  async forgetCluster(clusterId: string): Promise<void> {
    await this.cas?.forget(clusterId);
  }

  /** A node proved its token: journaled, then every job waiting for it goes on. */
  ready(node: NodeIdentity): void {
    this.journal.nodeReady(node.clusterId, node.node);
    this.log.info({ clusterId: node.clusterId, node: node.node }, 'node reported ready');
    const key = keyOf(node.clusterId, node.node);
    const waiting = this.#waiters.get(key);
    this.#waiters.delete(key);
    for (const waiter of waiting ?? []) waiter.resolve();
  }

  waitReady(clusterId: string, node: string, options: { readonly timeoutMs: number; readonly signal: AbortSignal }): Promise<void> {
    if (options.signal.aborted) return Promise.reject(abortError(options.signal));
    if (this.journal.readyAt(clusterId, node) !== undefined) return Promise.resolve();
    const key = keyOf(clusterId, node);
    return new Promise<void>((resolve, reject) => {
      const settle = (): void => {
        clearTimeout(timer);
        options.signal.removeEventListener('abort', onAbort);
        const set = this.#waiters.get(key);
        set?.delete(waiter);
        if (set?.size === 0) this.#waiters.delete(key);
      };
      const waiter: Waiter = {
        resolve: () => { settle(); resolve(); },
        reject: (error) => { settle(); reject(error); },
      };
      const onAbort = (): void => waiter.reject(abortError(options.signal));
      const timer = setTimeout(() => waiter.reject(new PcgError('PCG_ERR_NODE_TIMEOUT',
        `node ${node} of cluster ${clusterId} did not report ready within ${Math.round(options.timeoutMs / 1000)} s`)), options.timeoutMs);
      options.signal.addEventListener('abort', onAbort, { once: true });
      const set = this.#waiters.get(key) ?? new Set<Waiter>();
      set.add(waiter);
      this.#waiters.set(key, set);
    });
  }

  forget(clusterId: string, node: string): void {
    this.journal.forgetReady(clusterId, node);
  }

  /** Nodes waited for right now. */
  get waiting(): number {
    let n = 0;
    for (const set of this.#waiters.values()) n += set.size;
    return n;
  }

  /** Rejects every waiter (their jobs are being stopped anyway); idempotent. */
  close(): void {
    const error = new PcgError('PCG_ERR_JOB_CANCELLED', 'the gateway is stopping');
    for (const set of [...this.#waiters.values()]) for (const waiter of [...set]) waiter.reject(error);
  }
}

const keyOf = (clusterId: string, node: string): string => `${clusterId}\n${node}`;

function abortError(signal: AbortSignal): PcgError {
  return signal.reason instanceof PcgError ? signal.reason : new PcgError('PCG_ERR_JOB_CANCELLED', 'the wait for a node was cancelled');
}
