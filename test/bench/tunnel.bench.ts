/**
 * Tunnel benchmarks (issue 2), three tables and three JSON lines from one provisioning run:
 *
 *   1. reconnect storm: N paired gateways (real client code, separate process) reconnect to a
 *      freshly restarted relay after kill -9; seconds until all are online, handshakes/s; beside it
 *      the same N bare TLS websocket connects in the same run (baseline).
 *   2. relay memory per idle tunnel at 1,000 and N tunnels (RSS after full GC), beside bare wss.
 *   3. sealed echo relay→gateway→relay p50/p99 beside a plain ws echo over TLS, as a ratio.
 *
 * PCG_BENCH_GATEWAYS sets N (default 10000).
 */
import { join } from 'node:path';
import { freePort } from '../support/relay-fixture.js';
import { tempDir } from '../support/temp-dir.js';
import { IpcPeer } from './harness/ipc.js';
import { report, runBench } from './harness/report.js';

const N = Number(process.env.PCG_BENCH_GATEWAYS ?? 10_000);
const FIRST = Math.min(1000, N);
const here = new URL('./harness/', import.meta.url).pathname;
const RELAY_HOST = join(here, 'relay-host.js');
const SWARM = join(here, 'gateway-swarm.js');
// Every simulated gateway dials from 127.0.0.1: lift the per-source bound (256) above N for them.
const RELAY_OPTIONS = JSON.stringify({ heartbeatSeconds: 30, maxConnectionsPerAddress: N + 1000, maxConnections: Math.max(15_000, N + 1000) });

interface Memory { rss: number; heapUsed: number; external: number; sessions: number }
/** KiB to one decimal: a bar of 64 KiB per tunnel cannot be judged in whole KiB. */
const kib = (bytes: number): number => Math.round(bytes / 102.4) / 10;

async function waitOnline(swarm: IpcPeer, count: number, timeoutMs: number): Promise<number> {
  const started = performance.now();
  for (;;) {
    const online = await swarm.call<number>('online');
    if (online >= count) return performance.now() - started;
    if (performance.now() - started > timeoutMs) throw new Error(`only ${online}/${count} online after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function main(): Promise<void> {
  const dir = tempDir('bench');
  const port = await freePort();
  const dataDir = join(dir.path, 'relay');
  let relay = await IpcPeer.start(RELAY_HOST, [dataDir, String(port), RELAY_OPTIONS]);
  const swarm = await IpcPeer.start(SWARM);
  try {
    const info = await relay.call<{ url: string; caPin: string; caCert: string }>('info');
    process.stdout.write(`provisioning ${N} gateways and pairing them through the real pairing flow…\n`);
    const codes = await relay.call<string[]>('provision', { count: N });
    const paired = await swarm.call<{ ms: number; ids: string[] }>('pair', { relayUrl: info.url, caPin: info.caPin, codes, baseDir: join(dir.path, 'gw'), concurrency: 64 });
    process.stdout.write(`paired ${N} in ${(paired.ms / 1000).toFixed(1)} s (${Math.round(N / (paired.ms / 1000))}/s)\n`);

    // 2. memory per idle tunnel
    const m0 = await relay.call<Memory>('memory');
    const prepare = (from: number, to: number) => swarm.call('prepare', { baseDir: join(dir.path, 'gw'), from, to, backoffMaxMs: 30_000 });
    await prepare(0, FIRST);
    await swarm.call('start');
    await waitOnline(swarm, FIRST, 120_000);
    const m1 = await relay.call<Memory>('memory');
    await prepare(FIRST, N);
    const firstStarted = performance.now();
    await swarm.call('start');
    await waitOnline(swarm, N, 300_000);
    const initialMs = performance.now() - firstStarted;
    const mN = await relay.call<Memory>('memory');

    // 3. sealed echo vs plain ws echo, same processes, same TLS certificate
    const plainPort = await relay.call<number>('plainServer');
    await swarm.call('plainConnect', { port: plainPort, caCert: info.caCert });
    type Echo = { sealed: { p50: number; p99: number }; plain: { p50: number; p99: number } };
    await relay.call<Echo>('echo', { gatewayId: paired.ids[0], count: 500, size: 256 });
    const measured = await relay.call<Echo>('echo', { gatewayId: paired.ids[0], count: 5000, size: 256 });
    const echo = { sealedP50: measured.sealed.p50, sealedP99: measured.sealed.p99, plainP50: measured.plain.p50, plainP99: measured.plain.p99 };

    // 1a. reconnect storm, relay capacity: all N gateways dial a freshly restarted relay at once.
    await swarm.call('stop');
    await prepare(0, N);
    await relay.kill('SIGKILL');
    relay = await IpcPeer.start(RELAY_HOST, [dataDir, String(port), RELAY_OPTIONS]);
    const cpuBefore = await relay.call<number>('cpu');
    const stormStarted = performance.now();
    await swarm.call('start');
    await waitOnline(swarm, N, 300_000);
    const stormMs = performance.now() - stormStarted;
    // Both processes share this machine's two cores; the relay's own CPU per handshake is the
    // figure that does not depend on what the simulated gateways cost.
    const relayCpuMsPerHandshake = ((await relay.call<number>('cpu')) - cpuBefore) / 1000 / N;
    // 1b. the same after kill -9 under N live tunnels: the clients' own backoff decides the pace.
    await relay.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 2000));
    const restartStarted = performance.now();
    relay = await IpcPeer.start(RELAY_HOST, [dataDir, String(port), RELAY_OPTIONS]);
    const relayReadyMs = performance.now() - restartStarted;
    const crashStormMs = await waitOnline(swarm, N, 300_000);
    const afterStorm = await relay.call<Memory>('memory');
    await swarm.call('stop');

    // Baseline for 1 and 2: the same N as bare wss connections to a fresh process with the same cert.
    await relay.kill('SIGKILL');
    relay = await IpcPeer.start(RELAY_HOST, [dataDir, String(port), RELAY_OPTIONS]);
    const barePort = await relay.call<number>('plainServer');
    const b0 = await relay.call<Memory>('memory');
    const bareStormMs = await swarm.call<number>('plainStorm', { port: barePort, caCert: info.caCert, count: N });
    const bN = await relay.call<Memory>('memory');
    await swarm.call('plainClose');

    const perTunnel1k = (m1.rss - m0.rss) / FIRST;
    const perTunnelN = (mN.rss - m0.rss) / N;
    const perBare = (bN.rss - b0.rss) / N;
    report('reconnect storm', [
      ['gateways', N],
      ['fresh relay, all dial at once: all online (s)', (stormMs / 1000).toFixed(2)],
      ['handshakes/s', Math.round(N / (stormMs / 1000))],
      ['relay CPU per handshake (ms)', relayCpuMsPerHandshake.toFixed(2)],
      ['relay capacity, one core (handshakes/s)', Math.round(1000 / relayCpuMsPerHandshake)],
      ['after kill -9 under load: relay ready (s)', (relayReadyMs / 1000).toFixed(2)],
      ['after kill -9: ready to all online, client backoff (s)', (crashStormMs / 1000).toFixed(2)],
      [`first start of ${N - FIRST} more, all online (s)`, (initialMs / 1000).toFixed(2)],
      ['baseline: bare wss connects (s)', (bareStormMs / 1000).toFixed(2)],
      ['ratio storm / bare', (stormMs / bareStormMs).toFixed(2)],
      ['target', '<= 30 s'],
    ], { gateways: N, seconds: stormMs / 1000, handshakesPerSecond: N / (stormMs / 1000), afterCrashSeconds: crashStormMs / 1000, relayCpuMsPerHandshake, bareSeconds: bareStormMs / 1000, ratio: stormMs / bareStormMs, sessionsAfter: afterStorm.sessions, targetSeconds: 30 });
    report('relay memory per idle tunnel', [
      ['tunnels', `${FIRST} / ${N}`],
      [`RSS per tunnel at ${FIRST} (KiB)`, kib(perTunnel1k)],
      [`RSS per tunnel at ${N} (KiB)`, kib(perTunnelN)],
      [`V8 heap per tunnel at ${N} (KiB)`, kib((mN.heapUsed - m0.heapUsed) / N)],
      [`baseline: bare wss per connection at ${N} (KiB)`, kib(perBare)],
      ['ratio tunnel / bare', (perTunnelN / perBare).toFixed(2)],
      ['target', '<= 64 KiB'],
    ], { tunnels: [FIRST, N], rssPerTunnelKiB: [kib(perTunnel1k), kib(perTunnelN)], heapPerTunnelKiB: kib((mN.heapUsed - m0.heapUsed) / N), bareKiB: kib(perBare), ratio: perTunnelN / perBare, targetKiB: 64 });
    report('sealed echo round trip', [
      ['payload (bytes)', 256],
      ['sealed p50 / p99 (ms)', `${echo.sealedP50.toFixed(3)} / ${echo.sealedP99.toFixed(3)}`],
      ['plain ws p50 / p99 (ms)', `${echo.plainP50.toFixed(3)} / ${echo.plainP99.toFixed(3)}`],
      ['ratio p50', (echo.sealedP50 / echo.plainP50).toFixed(2)],
      ['ratio p99', (echo.sealedP99 / echo.plainP99).toFixed(2)],
      ['target', '<= 1.5x plain at p50'],
      ['with idle tunnels open', N],
    ], { ...echo, ratioP50: echo.sealedP50 / echo.plainP50, ratioP99: echo.sealedP99 / echo.plainP99, idleTunnels: N, target: 1.5 });
  } finally {
    await swarm.kill();
    await relay.kill();
    dir.remove();
  }
}

runBench(main);
