/** Kysely table types of the relay store. Times are integer milliseconds since the epoch. */
import type { Generated } from 'kysely';

/** The two engines the store runs on; migrations differ only in column types. */
export type Dialect = 'sqlite' | 'postgres';

export interface TenantTable { id: string; name: string; created_at: number }
export interface ProjectTable { id: string; tenant_id: string; name: string; created_at: number }
export interface UserTable { id: string; tenant_id: string; email: string; name: string; created_at: number }

export type Role = 'tenant-admin' | 'project-admin' | 'project-viewer';

/** tenant-admin binds with project_id null; the project roles bind to one project. */
export interface RoleBindingTable { id: string; tenant_id: string; user_id: string; project_id: string | null; role: Role }

export interface ApiKeyTable {
  id: string;
  tenant_id: string;
  user_id: string;
  name: string;
  /** HMAC-SHA256 of the key's secret under the relay's hash key, hex. */
  secret_hash: string;
  created_at: number;
  revoked_at: number | null;
}

export interface GatewayTable {
  id: string;
  tenant_id: string;
  name: string;
  created_at: number;
  paired_at: number | null;
  revoked_at: number | null;
  /** Ed25519 public key, base64; pinned at pairing. */
  sign_pub: string | null;
  /** X25519 public key, base64. */
  box_pub: string | null;
  cert_serial: string | null;
  cert_expires_at: number | null;
  /** Session epoch, the fencing token: bumped by every authenticated session. */
  epoch: number;
  connected_at: number | null;
  disconnected_at: number | null;
  last_seen_at: number | null;
  version: string | null;
  clock_skew_ms: number | null;
  /** The relay process holding the current session (see tunnel/gateway-calls.ts). */
  relay_id: string | null;
}

export interface PairingCodeTable {
  code_id: string;
  gateway_id: string;
  tenant_id: string;
  /** HMAC-SHA256 of the code's secret under the relay's hash key, hex: never the code itself. */
  secret_hash: string;
  expires_at: number;
  failures: number;
  consumed_at: number | null;
  created_at: number;
}

export interface CloudAccountTable {
  id: string;
  tenant_id: string;
  gateway_id: string;
  name: string;
  kind: 'gateway';
  /** JSON: vCenter metadata reported by the gateway. Never a password. */
  metadata: string;
  created_at: number;
}

/** Change feed read by every relay process: how revocation and supersede cross processes. */
export interface GatewayEventTable {
  id: Generated<number>;
  gateway_id: string;
  kind: 'revoked' | 'superseded';
  epoch: number;
  at: number;
}

/** A request for a gateway, handed from the relay that got it to the relay holding the tunnel. */
export interface TunnelRequestTable {
  id: string;
  gateway_id: string;
  /** The relay expected to answer: the one holding the gateway's session when the request was made. */
  relay_id: string;
  /** Name of a routed operation (tunnel/routed-operation.ts), e.g. `inventory`. */
  operation: string;
  /** JSON arguments of the operation. */
  args: string;
  created_at: number;
  deadline_at: number;
  claimed_at: number | null;
  finished_at: number | null;
}

/** A reply to a routed request: any number of progress rows, then one final row. */
export interface TunnelReplyTable {
  id: Generated<number>;
  request_id: string;
  /** 1 for the final reply, 0 for progress. */
  final: number;
  /** JSON: `{ value }` or `{ error: { code, message } }`. */
  body: string;
  at: number;
}

/** Ordered layers (os, k8s, cni, csi, addon*) of a cluster profile; project_id null = tenant-wide. */
export interface ClusterProfileTable {
  id: string;
  tenant_id: string;
  project_id: string | null;
  name: string;
  description: string;
  /** JSON: PackRef[] (proto/schemas/jobs.ts) in layer order; `values` already parsed once as YAML. */
  layers: string;
  /** The OS layer's VM template (name or path in the datacenter). */
  template: string;
  created_at: number;
  updated_at: number;
}

/** Static addresses on a cloud account: the range [first_ip, last_ip] as IPv4 integers. */
export interface IpPoolTable {
  id: string;
  tenant_id: string;
  cloud_account_id: string;
  name: string;
  first_ip: number;
  last_ip: number;
  prefix: number;
  gateway: string | null;
  /** JSON string[]. */
  dns: string;
  /** JSON string[]. */
  search_domains: string;
  created_at: number;
}

/** One address held by one node; the primary key (pool_id, ip) is what makes allocation exact across relays. */
export interface IpAllocationTable {
  pool_id: string;
  ip: number;
  cluster_id: string;
  node_name: string;
  allocated_at: number;
}

export type ClusterState = 'provisioning' | 'running' | 'failed' | 'scaling' | 'deleting' | 'deleted';

export interface ClusterTable {
  id: string;
  tenant_id: string;
  project_id: string;
  name: string;
  profile_id: string;
  cloud_account_id: string;
  gateway_id: string;
  state: ClusterState;
  /** JSON: Placement. */
  placement: string;
  /** JSON: `{ controlPlane: {count, cpus, memoryMiB, diskGiB}, workers: {…} }`. */
  node_pools: string;
  /** JSON: `{ mode: 'dhcp' }` or `{ mode: 'static', poolId }`. */
  addressing: string;
  /** Next worker index: names are never reused, so `worker-N` always means one VM. */
  next_worker: number;
  created_at: number;
  updated_at: number;
  deleted_at: number | null;
}

/** A node of a cluster as last reported by the gateway (or desired, before its first report). */
export interface ClusterNodeTable {
  cluster_id: string;
  name: string;
  role: 'control-plane' | 'worker';
  /** `removing`: dropped from the desired set by a scale-down; the row and its address go when the job succeeds. */
  state: 'desired' | 'present' | 'missing' | 'removing';
  vm: string | null;
  instance_uuid: string | null;
  ip: string | null;
  ready: number;
  updated_at: number;
}

/** A job for a gateway (proto/schemas/jobs.ts); the relay store is its source of truth. */
export interface JobTable {
  id: string;
  tenant_id: string;
  cluster_id: string;
  gateway_id: string;
  kind: 'create' | 'scale' | 'delete' | 'repair';
  action: 'apply' | 'delete';
  state: 'queued' | 'dispatched' | 'running' | 'succeeded' | 'failed' | 'cancelled';
  /** JSON: ClusterSpec, resolved when the job was queued. */
  spec: string;
  attempts: number;
  /** A dispatched job not acknowledged by then is offered again. */
  lease_until: number | null;
  /** Session epoch of the gateway that acknowledged it: reports over another epoch are not trusted. */
  epoch: number | null;
  cancel_requested_at: number | null;
  /** Highest event seq stored. */
  last_seq: number;
  /** JSON: JobResult, once terminal. */
  result: string | null;
  error_code: string | null;
  error_message: string | null;
  created_at: number;
  updated_at: number;
  finished_at: number | null;
}

/** What happened to a cluster, in order; `id` is the SSE event id (Last-Event-ID resumes after it). */
export interface ClusterEventTable {
  id: Generated<number>;
  cluster_id: string;
  tenant_id: string;
  job_id: string | null;
  /** The job's event seq: (job_id, seq) is unique, so a resent report stores nothing twice. */
  seq: number | null;
  at: number;
  step: string;
  node: string | null;
  level: 'info' | 'warn' | 'error';
  message: string;
}

/** One pack version of a gateway's private registry, as its last `registry.index` left it. */
export interface GatewayPackTable {
  gateway_id: string;
  name: string;
  version: string;
  /** The archive's digest. */
  digest: string;
  layer: string;
  /** JSON: string[]. */
  cloud_types: string;
  updated_at: number;
  /** Sortable form of the version (migration 0005), so pages follow semver order. */
  version_key: string;
}

export type PackSyncStatus = 'ok' | 'failed' | 'pending';

/** How the mirror of a gateway's pack index stands. */
export interface GatewayPackSyncTable {
  gateway_id: string;
  /** The gateway's report counter the rows reflect; null before the first full report. */
  generation: number | null;
  status: PackSyncStatus;
  /** Why the last run failed, or what a pending sync waits for. */
  message: string | null;
  /** When a report was last applied. */
  last_synced_at: number | null;
  /** When a report last arrived (or a sync was asked for), applied or not. */
  last_run_at: number | null;
}

export interface RelayDatabase {
  tenants: TenantTable;
  projects: ProjectTable;
  users: UserTable;
  role_bindings: RoleBindingTable;
  api_keys: ApiKeyTable;
  gateways: GatewayTable;
  pairing_codes: PairingCodeTable;
  cloud_accounts: CloudAccountTable;
  gateway_events: GatewayEventTable;
  tunnel_requests: TunnelRequestTable;
  tunnel_replies: TunnelReplyTable;
  cluster_profiles: ClusterProfileTable;
  ip_pools: IpPoolTable;
  ip_allocations: IpAllocationTable;
  clusters: ClusterTable;
  cluster_nodes: ClusterNodeTable;
  jobs: JobTable;
  cluster_events: ClusterEventTable;
  gateway_packs: GatewayPackTable;
  gateway_pack_sync: GatewayPackSyncTable;
}
