/**
 * Registry benchmark (issue 8): blob pull and push, 1 MiB and 100 MiB, 1 and 16 concurrent clients,
 * against the gateway's embedded registry (its own process: test/bench/harness/registry-host.ts)
 * and, in the same run, Debian's `docker-registry` (CNCF distribution 2.8, filesystem store), both
 * over HTTPS on loopback. Rounds alternate A/B then B/A so background load falls on both alike;
 * the figure is the median of the per-round ratios ours / distribution. Then the gateway process's
 * RSS (/proc/<pid>/status VmRSS) while 16 clients pull a 100 MiB blob, fast and throttled: a
 * registry that streams adds a few socket buffers, one that buffers a blob adds 100 MiB per client.
 *
 * A client does what docker does: one connection (keep-alive), for ours one token fetch
 * (GET /v2/token, admin basic credentials; distribution runs anonymous, its fastest setup), then
 * its blob requests; that setup is inside the timed window. Push is POST /blobs/uploads/ then
 * PUT <Location>?digest= with the whole body, every push a distinct blob (random bytes with a
 * unique tail) so dedupe cannot help; pulls read one blob again and again.
 *
 * PCG_BENCH_ROUNDS sets the rounds per scenario and registry (default 3);
 * PCG_BENCH_ONLY=<text> runs only the scenarios whose label contains it (e.g. "pull 100");
 * PCG_BENCH_CPU_PROF=<dir> writes a CPU profile of the gateway process into that directory;
 * PCG_BENCH_TLS_CIPHERS=<list> sets the suites the clients offer (default below; `any`: Node's list).
 *
 * Same TLS on both sides: TLS 1.3 with TLS_AES_128_GCM_SHA256, the one suite the clients offer.
 * Left to choose, distribution (Go) takes AES-128-GCM on AES-NI hardware whatever the client
 * prefers, while Node's server takes its own first choice, AES-256-GCM (about 6% more work per
 * byte, on both ends): the figures would compare two ciphers, not two registries.
 * The gateway process inherits the environment: UV_USE_IO_URING=0 measures it without io_uring.
 */
import { createHash, randomBytes, type Hash } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { Client } from 'undici';
import { freePort } from '../support/relay-fixture.js';
import { tempDir } from '../support/temp-dir.js';
import { IpcPeer } from './harness/ipc.js';
import { DistributionRegistry } from './harness/registry-distribution.js';
import { median, report, runBench } from './harness/report.js';

const ROUNDS = Number(process.env.PCG_BENCH_ROUNDS ?? 3);
const ONLY = process.env.PCG_BENCH_ONLY;
const CPU_PROF = process.env.PCG_BENCH_CPU_PROF;
const CIPHERS = process.env.PCG_BENCH_TLS_CIPHERS ?? 'TLS_AES_128_GCM_SHA256';
const TLS_OPTIONS = CIPHERS === 'any' ? {} : { ciphers: CIPHERS };
const MiB = 1024 * 1024;
const HOST = join(new URL('./harness/', import.meta.url).pathname, 'registry-host.js');
const PULL_REPO = 'bench/pull';
const PUSH_REPO = 'bench/push';
const TARGET = { pull: 1.0, push: 0.8 } as const;
const RSS_LIMIT_MIB = 64;
const SUFFIX = 16;

interface Target {
  readonly name: 'ours' | 'distribution';
  readonly url: string;
  readonly caPem: string;
  /** Basic credentials for the token endpoint; undefined: anonymous. */
  readonly basic?: string;
  readonly pid: number;
}

interface Scenario { readonly op: 'pull' | 'push'; readonly size: number; readonly clients: number; readonly perClient: number }

/** Bytes per client per round: enough to dominate connection setup, bounded so a run takes minutes. */
const SCENARIOS: readonly Scenario[] = [
  { op: 'pull', size: MiB, clients: 1, perClient: 100 },
  { op: 'pull', size: MiB, clients: 16, perClient: 16 },
  { op: 'pull', size: 100 * MiB, clients: 1, perClient: 4 },
  { op: 'pull', size: 100 * MiB, clients: 16, perClient: 1 },
  { op: 'push', size: MiB, clients: 1, perClient: 100 },
  { op: 'push', size: MiB, clients: 16, perClient: 16 },
  { op: 'push', size: 100 * MiB, clients: 1, perClient: 4 },
  { op: 'push', size: 100 * MiB, clients: 16, perClient: 1 },
];

const sha = (data: Buffer): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;

/**
 * Distinct blobs of one size without 100 MiB of fresh random bytes each: a shared random body and
 * a 16-byte unique tail; the body's hash state is computed once and copied per blob.
 */
class BlobMaker {
  #next = 0;
  readonly #body: Buffer;
  readonly #bodyHash: Hash;

  constructor(readonly size: number) {
    this.#body = randomBytes(size - SUFFIX);
    this.#bodyHash = createHash('sha256').update(this.#body);
  }

  make(): { chunks: Buffer[]; digest: string } {
    const tail = Buffer.alloc(SUFFIX);
    tail.writeBigUInt64BE(BigInt(this.#next++));
    randomBytes(8).copy(tail, 8);
    return { chunks: [this.#body, tail], digest: `sha256:${this.#bodyHash.copy().update(tail).digest('hex')}` };
  }
}

/** One registry client: one keep-alive connection, for ours one bearer token for its repository. */
class BlobClient {
  private constructor(private readonly client: Client, private readonly authorization: string | undefined) {}

  static async connect(target: Target, repo: string, actions: string): Promise<BlobClient> {
    const client = new Client(target.url, { connect: { ca: target.caPem, ...TLS_OPTIONS }, pipelining: 1, bodyTimeout: 120_000, headersTimeout: 120_000 });
    if (!target.basic) return new BlobClient(client, undefined);
    const res = await client.request({ method: 'GET', path: `/v2/token?service=pcg-registry&scope=repository:${repo}:${actions}`, headers: { authorization: target.basic } });
    if (res.statusCode !== 200) throw new Error(`${target.name}: token ${res.statusCode}: ${await res.body.text()}`);
    const { token } = (await res.body.json()) as { token: string };
    return new BlobClient(client, `Bearer ${token}`);
  }

  #headers(extra: Record<string, string> = {}): Record<string, string> {
    return this.authorization ? { authorization: this.authorization, ...extra } : extra;
  }

  /** GET the blob, counting its bytes as they come (no copy kept); `onChunk` may slow the reader down. */
  async pull(repo: string, digest: string, size: number, onChunk?: (received: number, chunk: Buffer) => Promise<void> | undefined): Promise<void> {
    const res = await this.client.request({ method: 'GET', path: `/v2/${repo}/blobs/${digest}`, headers: this.#headers() });
    let received = 0;
    for await (const chunk of res.body) {
      received += (chunk as Buffer).length;
      await onChunk?.(received, chunk as Buffer);
    }
    if (res.statusCode !== 200 || received !== size) throw new Error(`pull ${digest}: ${res.statusCode}, ${received} of ${size} bytes`);
  }

  /** POST /blobs/uploads/ (202, Location), then PUT <Location>&digest= with the whole body (201). */
  async push(repo: string, blob: { chunks: Buffer[]; digest: string }, size: number): Promise<void> {
    const started = await this.client.request({ method: 'POST', path: `/v2/${repo}/blobs/uploads/`, headers: this.#headers({ 'content-length': '0' }) });
    await started.body.dump();
    const location = started.headers.location;
    if (started.statusCode !== 202 || typeof location !== 'string') throw new Error(`POST upload: ${started.statusCode}`);
    const url = new URL(location, 'https://registry.invalid');
    url.searchParams.set('digest', blob.digest);
    const put = await this.client.request({
      method: 'PUT', path: `${url.pathname}${url.search}`, body: Readable.from(blob.chunks),
      headers: this.#headers({ 'content-length': String(size), 'content-type': 'application/octet-stream' }),
    });
    const text = await put.body.text();
    if (put.statusCode !== 201) throw new Error(`PUT upload: ${put.statusCode}: ${text}`);
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}

/** One round of one scenario against one registry: MB/s (10^6 bytes) over the wall clock, setup included. */
async function runRound(target: Target, s: Scenario, pullDigest: string, makers: Map<number, BlobMaker>): Promise<number> {
  // Blobs are made (and hashed) before the clock starts: a client knows its digest before it pushes.
  const blobs = s.op === 'push' ? Array.from({ length: s.clients }, () => Array.from({ length: s.perClient }, () => makers.get(s.size)!.make())) : [];
  const started = performance.now();
  await Promise.all(Array.from({ length: s.clients }, async (_, c) => {
    const client = await BlobClient.connect(target, s.op === 'pull' ? PULL_REPO : PUSH_REPO, s.op === 'pull' ? 'pull' : 'pull,push');
    try {
      for (let i = 0; i < s.perClient; i++) {
        if (s.op === 'pull') await client.pull(PULL_REPO, pullDigest, s.size);
        else await client.push(PUSH_REPO, blobs[c]![i]!, s.size);
      }
    } finally {
      await client.close();
    }
  }));
  const seconds = (performance.now() - started) / 1000;
  return (s.size * s.clients * s.perClient) / 1e6 / seconds;
}

const vmRssBytes = (pid: number): number => {
  const line = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!line) throw new Error(`no VmRSS for ${pid}`);
  return Number(line[1]) * 1024;
};

/**
 * Peak VmRSS of `pid` (sampled every 10 ms) while 16 clients pull the 100 MiB blob; `throttled`
 * readers stop for 250 ms after every 8 MiB, so a server that ignores backpressure piles up bytes.
 */
async function rssUnderPulls(target: Target, digest: string, throttled: boolean): Promise<{ peak: number; seconds: number }> {
  let peak = vmRssBytes(target.pid);
  const sampler = setInterval(() => (peak = Math.max(peak, vmRssBytes(target.pid))), 10);
  const started = performance.now();
  try {
    await Promise.all(Array.from({ length: 16 }, async () => {
      const client = await BlobClient.connect(target, PULL_REPO, 'pull');
      let pauses = 0;
      const slow = throttled ? (received: number): Promise<void> | undefined => {
        if (received < (pauses + 1) * 8 * MiB) return undefined;
        pauses++;
        return new Promise((r) => setTimeout(r, 250));
      } : undefined;
      try {
        await client.pull(PULL_REPO, digest, 100 * MiB, slow);
      } finally {
        await client.close();
      }
    }));
  } finally {
    clearInterval(sampler);
  }
  peak = Math.max(peak, vmRssBytes(target.pid));
  return { peak, seconds: (performance.now() - started) / 1000 };
}

/** Pushes the blob that pulls read, and pulls it back once, hashing it: both registries serve the right bytes. */
async function seed(target: Target, data: Buffer): Promise<string> {
  const digest = sha(data);
  const client = await BlobClient.connect(target, PULL_REPO, 'pull,push');
  try {
    await client.push(PULL_REPO, { chunks: [data], digest }, data.length);
    const hash = createHash('sha256');
    await client.pull(PULL_REPO, digest, data.length, (_received, chunk) => void hash.update(chunk));
    if (`sha256:${hash.digest('hex')}` !== digest) throw new Error(`${target.name} served other bytes for ${digest}`);
  } finally {
    await client.close();
  }
  return digest;
}

/** A clean exit (not a kill), after the CPU profile (if any) is written. */
async function stopGateway(peer: IpcPeer): Promise<void> {
  if (peer.proc.exitCode !== null || peer.proc.signalCode !== null) return;
  if (CPU_PROF) process.stdout.write(`gateway CPU profile: ${await peer.call<string>('profile')}\n`);
  peer.proc.send({ id: -2, type: 'exit' });
  const timer = setTimeout(() => void peer.kill(), 10_000);
  await peer.exited;
  clearTimeout(timer);
}

const label = (s: Scenario): string => `${s.op} ${s.size / MiB} MiB x${s.clients}`;
const mib = (bytes: number): number => Math.round(bytes / MiB * 10) / 10;

async function main(): Promise<void> {
  const dir = tempDir('bench-registry');
  const gatewayDir = join(dir.path, 'gateway');
  const distributionDir = join(dir.path, 'distribution');
  mkdirSync(gatewayDir);
  mkdirSync(distributionDir);
  if (CPU_PROF) mkdirSync(CPU_PROF, { recursive: true });
  let gateway: IpcPeer | undefined;
  let distribution: DistributionRegistry | undefined;
  try {
    gateway = await IpcPeer.start(HOST, [gatewayDir]);
    distribution = await DistributionRegistry.start(distributionDir, await freePort());
    const info = await gateway.call<{ url: string; caPem: string; user: string; password: string; pid: number }>('info');
    const ours: Target = { name: 'ours', url: info.url, caPem: info.caPem, basic: `Basic ${Buffer.from(`${info.user}:${info.password}`).toString('base64')}`, pid: info.pid };
    const peer: Target = { name: 'distribution', url: distribution.url, caPem: distribution.caPem, pid: distribution.pid };

    process.stdout.write('seeding pull blobs and making push bodies…\n');
    const pullData = new Map([[MiB, randomBytes(MiB)], [100 * MiB, randomBytes(100 * MiB)]]);
    const digests = new Map<string, string>();
    for (const t of [ours, peer]) for (const [size, data] of pullData) digests.set(`${t.name}/${size}`, await seed(t, data));
    const makers = new Map([[MiB, new BlobMaker(MiB)], [100 * MiB, new BlobMaker(100 * MiB)]]);

    const rows: Array<[string, string | number]> = [];
    const results: Array<Record<string, unknown>> = [];
    for (const s of SCENARIOS.filter((x) => !ONLY || label(x).includes(ONLY))) {
      const mbps = { ours: [] as number[], distribution: [] as number[] };
      const ratios: number[] = [];
      // One unmeasured round each: connection pools, JIT, page cache.
      for (const t of [ours, peer]) await runRound(t, { ...s, perClient: Math.max(1, Math.ceil(s.perClient / 4)) }, digests.get(`${t.name}/${s.size}`)!, makers);
      for (let r = 0; r < ROUNDS; r++) {
        const order = r % 2 === 0 ? [ours, peer] : [peer, ours];
        for (const t of order) mbps[t.name].push(await runRound(t, s, digests.get(`${t.name}/${s.size}`)!, makers));
        ratios.push(mbps.ours[r]! / mbps.distribution[r]!);
      }
      const ratio = median(ratios);
      const pass = ratio >= TARGET[s.op];
      process.stdout.write(`${label(s)}: ours ${mbps.ours.map((x) => x.toFixed(0)).join('/')} MB/s, distribution ${mbps.distribution.map((x) => x.toFixed(0)).join('/')} MB/s\n`);
      rows.push([`${label(s)}: ours / distribution (MB/s)`, `${median(mbps.ours).toFixed(0)} / ${median(mbps.distribution).toFixed(0)}`]);
      rows.push([`${label(s)}: ratio (target >= ${TARGET[s.op].toFixed(1)})`, `${ratio.toFixed(2)}${pass ? '' : '  BELOW TARGET'}`]);
      results.push({ op: s.op, sizeMiB: s.size / MiB, clients: s.clients, oursMBps: median(mbps.ours), distributionMBps: median(mbps.distribution), ratio, ratios, target: TARGET[s.op], pass });
    }

    // Memory: idle RSS after a full GC, then the peak while 16 clients pull the 100 MiB blob.
    await gateway.call('memory');
    const idle = vmRssBytes(ours.pid);
    const fast = await rssUnderPulls(ours, digests.get(`ours/${100 * MiB}`)!, false);
    await gateway.call('memory');
    const idleAgain = vmRssBytes(ours.pid);
    const slow = await rssUnderPulls(ours, digests.get(`ours/${100 * MiB}`)!, true);
    const peerIdle = vmRssBytes(peer.pid);
    const peerFast = await rssUnderPulls(peer, digests.get(`distribution/${100 * MiB}`)!, false);
    const growth = { fast: fast.peak - idle, slow: slow.peak - idleAgain };
    const streams = Math.max(growth.fast, growth.slow) <= RSS_LIMIT_MIB * MiB;
    rows.push(['gateway RSS idle (MiB)', mib(idle)]);
    rows.push(['gateway RSS growth, 16 pulls of 100 MiB, fast readers (MiB)', `${mib(growth.fast)} (${fast.seconds.toFixed(1)} s)`]);
    rows.push(['gateway RSS growth, 16 pulls of 100 MiB, throttled readers (MiB)', `${mib(growth.slow)} (${slow.seconds.toFixed(1)} s)`]);
    rows.push([`streams (growth <= ${RSS_LIMIT_MIB} MiB)`, streams ? 'yes' : 'NO: a blob is being buffered']);
    rows.push(['distribution RSS idle / growth, fast readers (MiB)', `${mib(peerIdle)} / ${mib(peerFast.peak - peerIdle)}`]);
    rows.push(['rounds per scenario and registry', ROUNDS]);
    rows.push(['TLS 1.3 suites the clients offer (both registries)', CIPHERS]);

    report('registry blob throughput and memory', rows, {
      rounds: ROUNDS, tlsCiphers: CIPHERS, scenarios: results,
      pullPass: results.filter((r) => r.op === 'pull').every((r) => r.pass), pushPass: results.filter((r) => r.op === 'push').every((r) => r.pass),
      rss: { idleMiB: mib(idle), growthFastMiB: mib(growth.fast), growthThrottledMiB: mib(growth.slow), limitMiB: RSS_LIMIT_MIB, streams, distributionIdleMiB: mib(peerIdle), distributionGrowthFastMiB: mib(peerFast.peak - peerIdle) },
    });
  } finally {
    await distribution?.close();
    if (gateway) await stopGateway(gateway);
    dir.remove();
  }
}

runBench(main);
