/**
 * The seam between the job runner (journal, concurrency, reporting; gateway/jobs/) and what a job
 * does on vSphere (gateway/clusters/). Each side depends only on these ports.
 */
import type { Secret } from '../../proto/secret.js';
import type { ClusterSpec, Job, NodeStatus } from '../../proto/schemas/jobs.js';

export type EventLevel = 'info' | 'warn' | 'error';

/** The vSphere calls that change something, as journaled. */
export type VsphereOp = 'create-folder' | 'clone' | 'reconfigure' | 'power-on' | 'power-off' | 'destroy' | 'destroy-folder';

/**
 * One journaled call: its intent is written (durably) *before* the call is made, its task
 * reference as soon as vCenter returns it, and its outcome when the task ends. After a crash,
 * `intent` or `issued` records are what must be resolved before anything new is issued.
 */
export interface CallRecord {
  readonly clusterId: string;
  /** Node name, or '' for a cluster-wide call (the folder). */
  readonly node: string;
  readonly op: VsphereOp;
  readonly jobId: string;
  readonly state: 'intent' | 'issued' | 'done' | 'failed';
  /** Task managed object id (`task-12`), once issued. */
  readonly task: string | null;
  /** The managed object the call produced or acted on (`vm-42`, `group-v7`), when known. */
  readonly target: string | null;
  readonly at: number;
}

/** The write-ahead record of vSphere calls (SQLite in the state dir; each write is durable when it returns). */
export interface CallJournal {
  /** Records the intent of a call; replaces an earlier record of the same (cluster, node, op). */
  intent(clusterId: string, node: string, op: VsphereOp, jobId: string): void;
  issued(clusterId: string, node: string, op: VsphereOp, task: string): void;
  finished(clusterId: string, node: string, op: VsphereOp, outcome: 'done' | 'failed', target?: string): void;
  get(clusterId: string, node: string, op: VsphereOp): CallRecord | undefined;
  /** Calls of the cluster whose outcome is unknown (intent or issued): a crash fell inside them. */
  unresolved(clusterId: string): CallRecord[];
}

/** Nodes phoning home (`POST /v1/nodes/ready` on the gateway's HTTPS port). */
export interface NodeReadiness {
  /** Where nodes phone home, and the CA they verify the gateway with. */
  readonly endpoint: { readonly url: string; readonly caPem: string };
  /** The node's token for its userdata: stable for (cluster, node), so a retried clone carries the same. */
  tokenFor(clusterId: string, node: string): string;
  /** Resolves once the node has reported (now or earlier); rejects on abort or after `timeoutMs` with PCG_ERR_NODE_TIMEOUT. */
  waitReady(clusterId: string, node: string, options: { readonly timeoutMs: number; readonly signal: AbortSignal }): Promise<void>;
  /** Forgets the readiness of removed nodes (a recreated node must report again). */
  forget(clusterId: string, node: string): void;
}

/** A cluster's Kubernetes CA as kubeadm wants it in /etc/kubernetes/pki (ca.crt, ca.key). */
export interface ClusterCa {
  readonly certPem: string;
  /** The CA's private key (PEM): written into the first control plane's userdata only, never logged. */
  readonly keyPem: Secret<string>;
  /** `sha256:<hex>` of the CA's DER SubjectPublicKeyInfo: kubeadm's `discovery.bootstrapToken.caCertHashes`. */
  readonly caCertHash: string;
}

/**
 * Per-cluster secrets the gateway keeps (in its state dir) for every node of a cluster, apart
 * from each node's own phone-home token.
 */
export interface ClusterKeys {
  /**
   * Read token for the gateway's pack registry (this cluster's packs): stable per cluster, and
   * never accepted as a node's phone-home token (a different MAC domain and shape).
   */
  packReadTokenFor(clusterId: string): string;
  /**
   * The cluster's CA, made on first use and kept: every later run, retry, repair and scale (and
   * the gateway after a crash or restart) gets the same, so joining nodes can pin it.
   */
  clusterCa(clusterId: string): Promise<ClusterCa>;
  /** Drops what is kept for a deleted cluster; idempotent. */
  forgetCluster(clusterId: string): Promise<void>;
}

export interface JobContext {
  readonly job: Job;
  /** Aborted when the job is cancelled or the gateway stops. */
  readonly signal: AbortSignal;
  /** Appends a user-facing event to the job's journaled outbox (delivered to the relay in order). */
  event(step: string, message: string, options?: { readonly node?: string; readonly level?: EventLevel }): void;
  readonly calls: CallJournal;
  readonly readiness: NodeReadiness;
  /**
   * Names a point between two effects (`clone.intent`, `clone.issued`, `power-on.done`, …). The
   * daemon can be told to die there (PCG_FAILPOINT, fault tests: a kill -9 at an exact step).
   */
  checkpoint(name: string): void;
}

/**
 * Runs one job to its end. Resolves with the cluster's nodes; throws a PcgError to fail the job
 * (its code and message reach the user); throws after `signal` aborted to end it cancelled.
 * Must be idempotent: a job interrupted by a crash is executed again from the start, and finds
 * what the interrupted run already did.
 */
export interface JobExecutor {
  execute(context: JobContext): Promise<{ readonly nodes: NodeStatus[] }>;
}

/** Looks at vSphere for a built cluster's nodes (drift: a VM removed by hand). */
export interface ClusterInspector {
  /** Names of the spec's nodes whose VM no longer exists; [] when all are there. */
  missingNodes(cluster: ClusterSpec, signal: AbortSignal): Promise<string[]>;
}

/**
 * Readies what a cluster's nodes fetch from the gateway's registry, before any of them boots
 * (gateway/registry/cluster-pack-preparer.ts): the cluster's pack read token is scoped to the
 * spec's packs, and the public ones are pulled from the relay into the gateway's registry, so
 * nodes only ever talk to the gateway.
 */
export interface ClusterPacks {
  /** Resolves once every pack of the spec can be served; a public pack the relay lacks is PCG_ERR_PROFILE_PACK, a relay that does not answer PCG_ERR_REGISTRY_UNREACHABLE. */
  prepare(cluster: ClusterSpec, signal: AbortSignal): Promise<{ readonly pulled: readonly string[] }>;
  /** The cluster is deleted: its token pulls nothing any more. Idempotent. */
  release(clusterId: string): Promise<void>;
}
