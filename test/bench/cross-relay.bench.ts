/**
 * Cross-relay inventory benchmark: two relays on one PostgreSQL, the gateway's tunnel on relay A
 * with vcsim behind it. The same inventory request is asked of A (same relay: straight down the
 * tunnel) and of B (routed through the store: request row + NOTIFY, A claims and runs it, reply row
 * + NOTIFY back to B), interleaved and in alternating order so background load falls on both alike.
 * Prints p50/p99 of each, the ratio cross / same and the added milliseconds; the store is then
 * checked to show that every request to B, and none to A, went through it.
 *
 * PCG_BENCH_REQUESTS sets the number of measured requests per relay (default 200),
 * PCG_BENCH_KIND the inventory kind (default host).
 */
import { cpSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { ApiClient } from '../support/api-client.js';
import type { Child } from '../support/child.js';
import { RELAY_CLI, runCli } from '../support/child.js';
import { createGateway, pairCli, runGateway } from '../support/gateway-fixture.js';
import { PostgresServer } from '../support/postgres-fixture.js';
import { RelayProcess } from '../support/relay-fixture.js';
import { tempDir } from '../support/temp-dir.js';
import { Vcsim } from '../support/vcsim-fixture.js';
import { waitFor } from '../support/wait-for.js';
import { percentile, report, runBench } from './harness/report.js';

const REQUESTS = Number(process.env.PCG_BENCH_REQUESTS ?? 200);
const KIND = process.env.PCG_BENCH_KIND ?? 'host';
const WARMUP = 20;
const REQUEST_TIMEOUT_MS = 30_000;

interface Account { id: string; gatewayId: string; metadata: { vcenter: unknown } }
interface InventoryBody { items: unknown[] }

/** One timed GET that must answer 200 within REQUEST_TIMEOUT_MS (a hang fails the bench instead of stalling it). */
async function timedInventory(api: ApiClient, path: string, label: string): Promise<{ ms: number; items: number }> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const res = await Promise.race([
    api.get<InventoryBody>(path),
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${label}: no answer within ${REQUEST_TIMEOUT_MS} ms`)), REQUEST_TIMEOUT_MS))),
  ]).finally(() => clearTimeout(timer));
  const ms = performance.now() - started;
  if (res.status !== 200) throw new Error(`${label}: ${res.status} ${JSON.stringify(res.body)}`);
  return { ms, items: res.body.items.length };
}

/** Runs every cleanup step even when an earlier one throws. */
async function cleanup(steps: Array<() => Promise<void> | void>): Promise<void> {
  for (const step of steps) {
    try {
      await step();
    } catch (err) {
      process.stderr.write(`cleanup: ${err instanceof Error ? err.message : String(err)}\n`);
    }
  }
}

async function main(): Promise<void> {
  const dir = tempDir('bench-cross');
  let postgres: PostgresServer | undefined;
  let vcsim: Vcsim | undefined;
  let relayA: RelayProcess | undefined;
  let relayB: RelayProcess | undefined;
  let gateway: Child | undefined;
  try {
    postgres = await PostgresServer.start();
    const url = await postgres.createDatabase('pcg_bench_cross');
    vcsim = await Vcsim.start({ dc: 1, cluster: 2, clusterHost: 4, host: 0, pool: 1, vm: 10, pg: 4, ds: 2, template: 1 });
    const passwordFile = join(dir.path, 'vc-password');
    writeFileSync(passwordFile, vcsim.password, { mode: 0o600 });

    const dataA = join(dir.path, 'relay-a');
    relayA = await RelayProcess.start({ dataDir: dataA, args: ['--database-url', url] });
    // B shares A's CA, keys and certificate (one relay fleet), not A's SQLite files.
    const dataB = join(dir.path, 'relay-b');
    cpSync(dataA, dataB, { recursive: true, filter: (src) => !src.includes('relay.db') });
    relayB = await RelayProcess.start({ dataDir: dataB, args: ['--database-url', url] });
    const out = await runCli(RELAY_CLI, ['admin', 'create-tenant', '--data-dir', dataA, '--database-url', url, '--name', 'bench-cross']);
    if (out.code !== 0) throw new Error(`create-tenant failed: ${out.stderr}`);
    const apiKey = (JSON.parse(out.stdout) as { apiKey: string }).apiKey;
    const apiA = new ApiClient(relayA.url, relayA.caCert, apiKey);
    const apiB = new ApiClient(relayB.url, relayB.caCert, apiKey);

    const gw = await createGateway(apiA, 'bench-cross');
    const state = join(dir.path, 'gw');
    const paired = await pairCli(relayA, state, gw.pairingCode);
    if (paired.code !== 0) throw new Error(`pair failed: ${paired.stderr}`);
    gateway = runGateway(state, ['--vcenter-host', vcsim.host, '--vcenter-user', vcsim.user, '--vcenter-password-file', passwordFile,
      '--vcenter-thumbprint', vcsim.thumbprint, '--log-level', 'warn']);
    const account = await waitFor('vCenter metadata on the cloud account, seen by B', async () => {
      const [a] = (await apiB.get<Account[]>('/v1/cloudaccounts')).body;
      return a?.metadata.vcenter ? a : undefined;
    }, 60_000);

    const path = `/v1/cloudaccounts/${account.id}/inventory?kind=${KIND}`;
    const same: number[] = [];
    const cross: number[] = [];
    let items = 0;
    for (let i = 0; i < WARMUP + REQUESTS; i++) {
      // Alternate which relay goes first, so neither always runs right after the other.
      const order = i % 2 === 0 ? (['A', 'B'] as const) : (['B', 'A'] as const);
      for (const which of order) {
        const r = await timedInventory(which === 'A' ? apiA : apiB, path, `inventory ${which} #${i}`);
        if (i < WARMUP) continue;
        (which === 'A' ? same : cross).push(r.ms);
        if (items !== 0 && r.items !== items) throw new Error(`relay ${which} answered ${r.items} items, the other ${items}`);
        items = r.items;
      }
    }

    // An independent look at the store: B's requests (and only those) went through it, each finished once.
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    let routed: { n: number; finished: number; holders: number };
    try {
      const { rows } = await client.query<{ n: number; finished: number; holders: number }>(
        "select count(*)::int as n, count(finished_at)::int as finished, count(distinct relay_id)::int as holders from tunnel_requests where operation = 'inventory'");
      routed = rows[0]!;
    } finally {
      await client.end();
    }
    if (routed.n !== WARMUP + REQUESTS || routed.finished !== routed.n || routed.holders !== 1) {
      throw new Error(`store shows ${JSON.stringify(routed)}; expected ${WARMUP + REQUESTS} inventory requests routed to one relay, all finished`);
    }

    same.sort((a, b) => a - b);
    cross.sort((a, b) => a - b);
    const s = { p50: percentile(same, 50), p99: percentile(same, 99) };
    const c = { p50: percentile(cross, 50), p99: percentile(cross, 99) };
    report('cross-relay inventory', [
      ['requests per relay (interleaved, after warm-up)', `${REQUESTS} (+${WARMUP})`],
      ['inventory kind (items)', `${KIND} (${items})`],
      ['same relay A, tunnel held here: p50 / p99 (ms)', `${s.p50.toFixed(2)} / ${s.p99.toFixed(2)}`],
      ['cross relay B, routed via PostgreSQL: p50 / p99 (ms)', `${c.p50.toFixed(2)} / ${c.p99.toFixed(2)}`],
      ['ratio cross / same p50', (c.p50 / s.p50).toFixed(2)],
      ['ratio cross / same p99', (c.p99 / s.p99).toFixed(2)],
      ['added by routing at p50 (ms)', (c.p50 - s.p50).toFixed(2)],
      ['routed requests in the store (all finished, one holder)', routed.n],
    ], {
      requests: REQUESTS, kind: KIND, items, sameP50: s.p50, sameP99: s.p99, crossP50: c.p50, crossP99: c.p99,
      ratioP50: c.p50 / s.p50, ratioP99: c.p99 / s.p99, addedP50Ms: c.p50 - s.p50, routed: routed.n,
    });
  } finally {
    await cleanup([
      () => gateway?.stop(),
      () => relayB?.stop(),
      () => relayA?.stop(),
      () => vcsim?.stop(),
      () => postgres?.stop(),
      () => dir.remove(),
    ]);
  }
}

runBench(main);
