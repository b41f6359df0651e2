/**
 * Bench child for the dispatch benchmark: the real Relay in its own process. It provisions
 * gateways, seeds clusters straight into the store (no cluster API needed), queues jobs the way the
 * cluster routes do (insert, then the `job_queued` signal) at a set pace, and reads job times back.
 */
import pg from 'pg';
import pino from 'pino';
import { Relay } from '../../../saas-relay/relay.js';
import { newId } from '../../../saas-relay/store/ids.js';
import type { RelaySignals } from '../../../saas-relay/store/relay-signals.js';
import { echo } from '../../../saas-relay/tunnel/handlers/echo-handlers.js';
import { specOf } from '../../support/job-seed.js';
import { serveIpc } from './ipc.js';
import { percentile } from './report.js';

const [dataDir = '', port = '0', optionsJson = '{}'] = process.argv.slice(2);
/** PostgreSQL statements this process sent, by verb and table: what a job costs the store in round trips. */
const statements = new Map<string, number>();
countStatements(statements);
const relay = await Relay.create({ dataDir, listen: `127.0.0.1:${port}`, logger: pino({ level: 'warn' }), ...(JSON.parse(optionsJson) as object) });
// The relay's own signals: on SQLite a wake-up only reaches listeners in this process.
const signals = (relay as unknown as { signals: RelaySignals }).signals;
const db = relay.database.db;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

serveIpc({
  info: () => ({ url: relay.url, caPin: relay.pki.caPin, port: relay.port, caCert: relay.pki.ca.certPem, relayId: relay.relayId }),
  provision: async (msg) => {
    const count = msg.count as number;
    const tenant = await relay.tenancy.createTenant(`bench-${Date.now()}`);
    const { PairingCodes } = await import('../../../saas-relay/pairing/pairing-codes.js');
    const { SecretHasher } = await import('../../../saas-relay/security/secret-hasher.js');
    const codes = new PairingCodes(db, new SecretHasher(relay.pki.hashKey), relay.options.clock, 3_600_000);
    const out: string[] = [];
    for (let i = 0; i < count; i++) {
      const gw = await relay.gateways.create(tenant.tenantId, `bench-${i}`);
      out.push((await codes.issue(tenant.tenantId, gw.id)).code.reveal());
    }
    return { tenantId: tenant.tenantId, projectId: tenant.projectId, codes: out };
  },
  sessions: () => relay.hub.sessionCount,
  /** Statements sent since the last call (PostgreSQL only), then the count starts again. */
  statements: () => {
    const out = [...statements];
    statements.clear();
    return out;
  },
  /** One cluster per job (jobs of one cluster run one after another; this measures dispatch, not that queue). */
  seed: async (msg) => {
    const { tenantId, projectId, gatewayIds, count } = msg as { tenantId: string; projectId: string; gatewayIds: string[]; count: number };
    const accounts = new Map((await db.selectFrom('cloud_accounts').select(['id', 'gateway_id']).where('tenant_id', '=', tenantId).execute()).map((a) => [a.gateway_id, a.id]));
    const now = Date.now();
    const out: Array<{ clusterId: string; gatewayId: string }> = [];
    for (let i = 0; i < count; i += 500) {
      const rows = [];
      for (let j = i; j < Math.min(count, i + 500); j++) {
        const gatewayId = gatewayIds[j % gatewayIds.length]!;
        const clusterId = newId('cls');
        out.push({ clusterId, gatewayId });
        rows.push({
          id: clusterId, tenant_id: tenantId, project_id: projectId, name: 'b', profile_id: 'prf_bench', cloud_account_id: accounts.get(gatewayId) ?? 'cld_none',
          gateway_id: gatewayId, state: 'provisioning' as const, placement: '{}', node_pools: '{}', addressing: '{"mode":"dhcp"}', next_worker: 0, created_at: now, updated_at: now, deleted_at: null,
        });
      }
      await db.insertInto('clusters').values(rows).execute();
    }
    return out;
  },
  /**
   * Queues one job per cluster at `rate` per second (0: a burst), each insert followed by its
   * signal, as concurrent API requests would: an insert starts when due, not when the previous one
   * is done (at most 64 at once).
   */
  enqueue: async (msg) => {
    const { tenantId, clusters, rate } = msg as { tenantId: string; clusters: Array<{ clusterId: string; gatewayId: string }>; rate: number };
    const started = performance.now();
    const ids: string[] = [];
    const running = new Set<Promise<void>>();
    for (let i = 0; i < clusters.length; i++) {
      if (rate > 0) {
        const wait = started + (i * 1000) / rate - performance.now();
        if (wait > 1) await sleep(wait);
      }
      while (running.size >= 64) await Promise.race(running);
      const { clusterId, gatewayId } = clusters[i]!;
      const one = relay.jobs.enqueue({ tenantId, clusterId, gatewayId, kind: 'create', action: 'apply', spec: specOf(clusterId, ['cp-0']) })
        .then(async (job) => {
          ids.push(job.id);
          await signals.notify('job_queued', gatewayId).catch(() => undefined);
        });
      running.add(one);
      void one.finally(() => running.delete(one));
    }
    await Promise.all(running);
    return { ids, ms: performance.now() - started };
  },
  /** Jobs by state, and each job's creation time. */
  jobs: async (msg) => {
    const rows = await db.selectFrom('jobs').select(['id', 'created_at', 'state', 'attempts']).where('id', 'in', msg.ids as string[]).execute();
    return rows;
  },
  states: async () => db.selectFrom('jobs').select(['state', db.fn.countAll<number>().as('n')]).groupBy('state').execute(),
  /** Baseline: sealed echo round trips over the same tunnels at the same pace, relay-side timing. */
  echo: async (msg) => {
    const { gatewayIds, count, rate } = msg as { gatewayIds: string[]; count: number; rate: number };
    const local = gatewayIds.filter((id) => relay.hub.session(id));
    const started = performance.now();
    const times: number[] = [];
    const pending: Array<Promise<void>> = [];
    for (let i = 0; i < count; i++) {
      const wait = started + (i * 1000) / rate - performance.now();
      if (wait > 1) await sleep(wait);
      const session = relay.hub.session(local[i % local.length]!);
      if (!session) continue;
      const t = performance.now();
      pending.push(echo(session, 'x'.repeat(64)).then(() => void times.push(performance.now() - t)));
    }
    await Promise.all(pending);
    times.sort((a, b) => a - b);
    return { p50: percentile(times, 50), p99: percentile(times, 99), n: times.length };
  },
});
process.send?.({ id: -1, result: 'ready' });

/** Counts every query a pg client sends (pool and listener alike), keyed like `update jobs`. */
function countStatements(into: Map<string, number>): void {
  const proto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const original = proto.query;
  proto.query = function query(this: unknown, ...args: unknown[]) {
    const first = args[0];
    const text = typeof first === 'string' ? first : (first as { text?: string } | undefined)?.text ?? '';
    into.set(statementKey(text), (into.get(statementKey(text)) ?? 0) + 1);
    return original.apply(this, args);
  };
}

function statementKey(text: string): string {
  const t = text.replace(/\s+/g, ' ').trim().toLowerCase();
  const verb = /^\w+/.exec(t)?.[0] ?? '?';
  if (verb === 'select' && t.includes('pg_notify')) return 'notify';
  const table = /(?:^(?:update|insert into|delete from)|\bfrom) "?(\w+)"?/.exec(t)?.[1];
  return table ? `${verb} ${table}` : verb;
}
