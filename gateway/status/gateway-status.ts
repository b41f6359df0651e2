import { X509Certificate } from 'node:crypto';
import { IdentityStore } from '../identity/identity-store.js';
import { processAlive, readStatus, TUNNEL_STATES, type StopReason, type TunnelState } from './status-file.js';

/** What `pcg-gateway status` shows, also as JSON. */
export interface GatewayStatusReport {
  readonly paired: boolean;
  readonly gatewayId: string | null;
  readonly tenantId: string | null;
  readonly cloudAccountId: string | null;
  readonly relayUrl: string | null;
  readonly tunnel: TunnelState;
  /** Why the tunnel is stopped for good (code and message), when the relay refused this gateway. */
  readonly reason: StopReason | null;
  readonly since: string | null;
  readonly lastHeartbeatAt: string | null;
  readonly certExpiresAt: string | null;
  readonly epoch: number | null;
  readonly lastError: string | null;
  /** Cluster jobs executing and waiting while `run` runs; null when it does not. */
  readonly jobs: { readonly running: number; readonly queued: number } | null;
}

const iso = (ms: number | null | undefined): string | null => (ms ? new Date(ms).toISOString() : null);

export async function gatewayStatus(stateDir: string): Promise<GatewayStatusReport> {
  const store = new IdentityStore(stateDir);
  if (!store.isPaired) {
    return { paired: false, gatewayId: null, tenantId: null, cloudAccountId: null, relayUrl: null, tunnel: 'stopped', reason: null, since: null, lastHeartbeatAt: null, certExpiresAt: null, epoch: null, lastError: null, jobs: null };
  }
  const identity = await store.load();
  const status = await readStatus(stateDir);
  // A status left by a process that is gone says nothing about now, except why it stopped for good.
  // (A file from an older version has no `reason` and other state names: read as stopped.)
  const known = status !== undefined && TUNNEL_STATES.includes(status.state);
  const live = known && (status.reason != null || processAlive(status.pid));
  return {
    paired: true,
    gatewayId: identity.gatewayId,
    tenantId: identity.tenantId,
    cloudAccountId: identity.cloudAccountId,
    relayUrl: identity.relayUrl,
    tunnel: live ? status.state : 'stopped',
    reason: live ? status.reason ?? null : null,
    since: live ? iso(status.since) : null,
    lastHeartbeatAt: iso(status?.lastHeartbeatAt),
    certExpiresAt: new Date(new X509Certificate(identity.clientCertPem).validTo).toISOString(),
    epoch: live ? status.epoch : null,
    lastError: status?.lastError ?? null,
    jobs: live && status.state !== 'stopped' ? status.jobs ?? null : null,
  };
}

export function formatStatus(report: GatewayStatusReport): string {
  if (!report.paired) return "paired:          no (run 'pcg-gateway pair')\ntunnel:          stopped\n";
  const rows: Array<[string, string | number | null]> = [
    ['paired', 'yes'], ['gateway', report.gatewayId], ['tenant', report.tenantId], ['cloud account', report.cloudAccountId], ['relay', report.relayUrl],
    ['tunnel', `${report.tunnel}${report.reason ? ` (${report.reason.code})` : ''}${report.since ? ` since ${report.since}` : report.tunnel === 'stopped' ? ' (not running)' : ''}`],
    ['reason', report.reason?.message ?? null], ['session epoch', report.epoch],
    ['last heartbeat', report.lastHeartbeatAt ?? 'never'], ['cert expires', report.certExpiresAt], ['last error', report.lastError],
    ['jobs', report.jobs ? `${report.jobs.running} running, ${report.jobs.queued} queued` : null],
  ];
  return rows.filter(([, v]) => v !== null).map(([k, v]) => `${`${k}:`.padEnd(17)}${v}\n`).join('');
}
