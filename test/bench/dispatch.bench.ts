/**
 * Job dispatch benchmark (issue 9): N connected gateways (real client code, one swarm process)
 * whose job feature acknowledges every offer at once and reports a result right away. Jobs are
 * queued the way the cluster routes queue them (insert, then the `job_queued` signal), one per
 * cluster, and timed from the job row's creation to the gateway's ack:
 *
 *   1. paced: PCG_BENCH_JOBS jobs at PCG_BENCH_RATE jobs/s — p50/p99 against the target
 *      (p99 ≤ 100 ms at 500 jobs/s);
 *   2. burst: the same number queued as fast as the store takes them — jobs/s end to end;
 *   baseline, same run and same tunnels: sealed echo round trips at the same pace (store-free).
 *
 * Once on SQLite (one relay), once on PostgreSQL with two relays: the gateways split between
 * them and every job queued through relay A, so half of them reach their tunnel by NOTIFY.
 * PCG_BENCH_DISPATCH_GATEWAYS (default 1000), PCG_BENCH_JOBS (5000), PCG_BENCH_RATE (500),
 * PCG_BENCH_ENGINES (sqlite,postgres).
 */
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PostgresServer } from '../support/postgres-fixture.js';
import { freePort } from '../support/relay-fixture.js';
import { tempDir } from '../support/temp-dir.js';
import { IpcPeer } from './harness/ipc.js';
import { percentile, report, runBench } from './harness/report.js';

const N = Number(process.env.PCG_BENCH_DISPATCH_GATEWAYS ?? 1000);
const JOBS = Number(process.env.PCG_BENCH_JOBS ?? 5000);
const RATE = Number(process.env.PCG_BENCH_RATE ?? 500);
const ENGINES = (process.env.PCG_BENCH_ENGINES ?? 'sqlite,postgres').split(',') as Array<'sqlite' | 'postgres'>;
const WARMUP = 200;
const here = new URL('./harness/', import.meta.url).pathname;
const RELAY_HOST = join(here, 'dispatch-relay-host.js');
const SWARM = join(here, 'gateway-swarm.js');

interface Info { url: string; caPin: string; caCert: string }
interface Cluster { clusterId: string; gatewayId: string }
interface Timed { p50: number; p99: number; max: number; jobsPerSec: number; wallMs: number }

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Queues one job per cluster through `relay`, waits for every ack and every result, and times them. */
async function run(relay: IpcPeer, swarm: IpcPeer, tenantId: string, clusters: Cluster[], rate: number): Promise<Timed> {
  const { ids } = await relay.call<{ ids: string[] }>('enqueue', { tenantId, clusters, rate });
  const want = new Set(ids);
  const acks = await until('every job acknowledged', async () => {
    const all = new Map(await swarm.call<Array<[string, number]>>('jobAcks'));
    return ids.every((id) => all.has(id)) ? all : undefined;
  }, 120_000);
  const rows = await until('every job succeeded', async () => {
    const r = await relay.call<Array<{ id: string; created_at: number; state: string; attempts: number }>>('jobs', { ids });
    return r.length === ids.length && r.every((j) => j.state === 'succeeded') ? r : undefined;
  }, 120_000);
  const redelivered = rows.filter((r) => r.attempts !== 1).length;
  if (redelivered > 0) throw new Error(`${redelivered} jobs were dispatched more than once`);
  const latencies = rows.filter((r) => want.has(r.id)).map((r) => acks.get(r.id)! - r.created_at).sort((a, b) => a - b);
  const first = Math.min(...rows.map((r) => r.created_at));
  const last = Math.max(...ids.map((id) => acks.get(id)!));
  const wallMs = Math.max(1, last - first);
  return { p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: latencies[latencies.length - 1]!, jobsPerSec: (ids.length * 1000) / wallMs, wallMs };
}

/** PostgreSQL statements of a run (every relay), per job: the total and the biggest kinds. */
function statementsPerJob(perRelay: Array<Array<[string, number]>>, jobs: number): { total: number; top: string } {
  const sum = new Map<string, number>();
  for (const rows of perRelay) for (const [k, n] of rows) sum.set(k, (sum.get(k) ?? 0) + n);
  const total = [...sum.values()].reduce((a, b) => a + b, 0) / jobs;
  const top = [...sum].sort((a, b) => b[1] - a[1]).slice(0, 8).map(([k, n]) => `${k} ${(n / jobs).toFixed(2)}`).join(', ');
  return { total, top };
}

async function engine(kind: 'sqlite' | 'postgres'): Promise<void> {
  const dir = tempDir(`bench-dispatch-${kind}`);
  const relays: IpcPeer[] = [];
  let swarm: IpcPeer | undefined;
  let postgres: PostgresServer | undefined;
  try {
    // Every gateway dials from 127.0.0.1: the per-address admission cap must let all of them in.
    const options: Record<string, unknown> = { heartbeatSeconds: 30, maxConnectionsPerAddress: N + 1000, maxConnections: Math.max(15_000, N + 1000) };
    if (kind === 'postgres') {
      postgres = await PostgresServer.start();
      options.databaseUrl = await postgres.createDatabase('pcg_bench_dispatch');
    }
    const dataA = join(dir.path, 'relay-a');
    relays.push(await IpcPeer.start(RELAY_HOST, [dataA, String(await freePort()), JSON.stringify(options)]));
    if (kind === 'postgres') {
      // B shares A's CA and keys (one relay fleet), not its files otherwise.
      const dataB = join(dir.path, 'relay-b');
      cpSync(dataA, dataB, { recursive: true, filter: (src) => !src.includes('relay.db') });
      relays.push(await IpcPeer.start(RELAY_HOST, [dataB, String(await freePort()), JSON.stringify(options)]));
    }
    const [relayA] = relays as [IpcPeer];
    const infos = await Promise.all(relays.map((r) => r.call<Info>('info')));
    const infoA = infos[0]!;
    swarm = await IpcPeer.start(SWARM);
    const provisioned = await relayA.call<{ tenantId: string; projectId: string; codes: string[] }>('provision', { count: N });
    const baseDir = join(dir.path, 'gw');
    const paired = await swarm.call<{ ids: string[] }>('pair', { relayUrl: infoA.url, caPin: infoA.caPin, codes: provisioned.codes, baseDir, concurrency: 32 });
    // With two relays, every other gateway dials B.
    if (relays.length === 2) {
      for (let i = 1; i < N; i += 2) {
        const file = join(baseDir, `gw-${i}`, 'identity.json');
        writeFileSync(file, readFileSync(file, 'utf8').replace(infoA.url, infos[1]!.url));
      }
    }
    await swarm.call('prepare', { baseDir, from: 0, to: N, backoffMaxMs: 5000, cheapJobs: true });
    await swarm.call('start');
    await until('every gateway online', async () => ((await swarm!.call<number>('online')) >= N ? true : undefined), 120_000);
    const sessions = await Promise.all(relays.map((r) => r.call<number>('sessions')));
    const seed = (count: number) => relayA.call<Cluster[]>('seed', { tenantId: provisioned.tenantId, projectId: provisioned.projectId, gatewayIds: paired.ids, count });
    const [warm, paced, burst] = [await seed(WARMUP), await seed(JOBS), await seed(JOBS)];

    await run(relayA, swarm, provisioned.tenantId, warm, RATE);
    const echoIds = relays.length === 2 ? paired.ids.filter((_, i) => i % 2 === 0) : paired.ids;
    const baseline = await relayA.call<{ p50: number; p99: number }>('echo', { gatewayIds: echoIds, count: Math.min(JOBS, RATE * 4), rate: RATE });
    await Promise.all(relays.map((r) => r.call('statements')));
    const p = await run(relayA, swarm, provisioned.tenantId, paced, RATE);
    const perJob = statementsPerJob(await Promise.all(relays.map((r) => r.call<Array<[string, number]>>('statements'))), JOBS);
    const b = await run(relayA, swarm, provisioned.tenantId, burst, 0);
    const met = p.p99 <= 100 && p.jobsPerSec >= RATE * 0.95;
    const name = `job dispatch (${kind}, ${relays.length} relay${relays.length > 1 ? 's' : ''})`;
    report(name, [
      ['gateways connected (per relay)', `${N} (${sessions.join(' + ')})`],
      ['jobs per run (one cluster each), warm-up', `${JOBS}, ${WARMUP}`],
      [`paced at ${RATE}/s: achieved jobs/s`, p.jobsPerSec.toFixed(0)],
      ['paced: creation → gateway ack p50 / p99 / max (ms)', `${p.p50} / ${p.p99} / ${p.max}`],
      ['baseline: sealed echo round trip, same pace, p50 / p99 (ms)', `${baseline.p50.toFixed(2)} / ${baseline.p99.toFixed(2)}`],
      ['ratio paced p99 / echo p99', (p.p99 / baseline.p99).toFixed(1)],
      ['burst: jobs/s (creation of the first → ack of the last)', b.jobsPerSec.toFixed(0)],
      ['burst: creation → ack p50 / p99 (ms)', `${b.p50} / ${b.p99}`],
      ...(perJob.total > 0 ? [['paced: store statements per job, all relays', `${perJob.total.toFixed(1)} (${perJob.top})`] as [string, string]] : []),
      ['target p99 ≤ 100 ms at 500 jobs/s', met ? 'met' : 'NOT met'],
    ], {
      engine: kind, relays: relays.length, gateways: N, jobs: JOBS, rate: RATE,
      pacedJobsPerSec: p.jobsPerSec, pacedP50: p.p50, pacedP99: p.p99, pacedMax: p.max,
      echoP50: baseline.p50, echoP99: baseline.p99, ratioP99: p.p99 / baseline.p99,
      burstJobsPerSec: b.jobsPerSec, burstP50: b.p50, burstP99: b.p99, statementsPerJob: perJob.total, targetMet: met,
    });
  } finally {
    await swarm?.call('stop').catch(() => undefined);
    await swarm?.kill();
    for (const r of relays) await r.kill();
    await postgres?.stop().catch(() => undefined);
    dir.remove();
  }
}

async function main(): Promise<void> {
  for (const kind of ENGINES) await engine(kind);
}

runBench(main);
