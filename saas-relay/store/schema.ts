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
}
