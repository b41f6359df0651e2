/**
 * Pack sync benchmark (issue 8): reconcile of a 1,000-pack index between the gateway's reporter
 * and a real relay over a real tunnel (handshake, sealed frames). The baseline, measured in the
 * same run, is a full report of the whole index ("sync now"); the figure is a delta after one pack
 * changed: its time, and the bytes it moves on the tunnel (sealed frames both ways) against the
 * full report's. The gateway side is the daemon's own code (PackSyncReporter over a packs.db read
 * by openPackSyncSource); only the session under it is hand-driven (RawSession) so its bytes can
 * be counted.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { RequestTracker } from '../../proto/request-tracker.js';
import { packIndexDigest } from '../../proto/registry/pack-index-digest.js';
import { PackIndex, type PackIndexEntry } from '../../proto/registry/pack-index.js';
import type { Frame } from '../../proto/schemas/frames.js';
import type { ReportSession } from '../../gateway/jobs/job-reporter.js';
import { PackSyncReporter } from '../../gateway/registry/pack-sync-reporter.js';
import { openPackSyncSource, packIndexFile } from '../../gateway/registry/pack-sync-source.js';
import { ApiClient } from '../support/api-client.js';
import { createGateway, pairCli } from '../support/gateway-fixture.js';
import { RawSession } from '../support/raw-session.js';
import { RelayProcess } from '../support/relay-fixture.js';
import { tempDir } from '../support/temp-dir.js';
import { median, report, runBench } from './harness/report.js';

const PACKS = 1000;
const ROUNDS = 9;

const hex = (n: number): string => n.toString(16).padStart(64, '0');
const entry = (i: number, revision = 0): PackIndexEntry => ({
  name: `bench-pack-${String(Math.floor(i / 4)).padStart(3, '0')}`, version: `1.${i % 4}.0`, displayName: `Bench pack ${i}`, layer: i % 5 === 0 ? 'csi' : 'addon',
  cloudTypes: ['vsphere', 'aws'], addonType: null, manifestDigest: `sha256:${hex(i + 1)}`, archiveDigest: `sha256:${hex(1_000_000 * revision + i + 1)}`,
  archiveSize: 4096, message: null,
});

/** A ReportSession over a hand-driven tunnel session that counts the sealed bytes each way. */
function countingSession(raw: RawSession): ReportSession & { bytes: { sent: number; received: number } } {
  const requests = new RequestTracker();
  const bytes = { sent: 0, received: 0 };
  raw.connection.ws.on('message', (data: Buffer) => (bytes.received += data.length));
  // RawSession opens every frame in order (nonces count); acks are picked from what it opened.
  const push = raw.received.push.bind(raw.received);
  raw.received.push = (...frames: Frame[]): number => {
    for (const f of frames) if (f.type === 'registry.index.ack') requests.resolve(f.id, f);
    return push(...frames);
  };
  return {
    get isOpen() {
      return raw.closed === undefined;
    },
    requests,
    bytes,
    send: (frame: Frame) => {
      bytes.sent += raw.send(frame).length;
    },
  };
}

async function main(): Promise<void> {
  const dir = tempDir('bench-pack-sync');
  const relay = await RelayProcess.start();
  let raw: RawSession | undefined;
  try {
    const api = new ApiClient(relay.url, relay.caCert, (await relay.createTenant('bench')).apiKey);
    const gw = await createGateway(api, 'bench-packs');
    const state = join(dir.path, 'gw');
    const paired = await pairCli(relay, state, gw.pairingCode);
    if (paired.code !== 0) throw new Error(`pairing failed: ${paired.stderr}`);
    mkdirSync(join(state, 'packs'), { recursive: true, mode: 0o700 });
    const index = PackIndex.open(packIndexFile(state));
    for (let i = 0; i < PACKS; i++) index.put(entry(i));

    raw = await RawSession.open(state);
    const session = countingSession(raw);
    const reporter = new PackSyncReporter({ pollMs: 3_600_000 }, { openSource: () => openPackSyncSource(packIndexFile(state)), log: pino({ level: 'silent' }) });
    reporter.opened(session);
    await reporter.sync();

    const measure = async (run: () => Promise<unknown>): Promise<{ ms: number; bytes: number }> => {
      session.bytes.sent = 0;
      session.bytes.received = 0;
      const started = performance.now();
      await run();
      return { ms: performance.now() - started, bytes: session.bytes.sent + session.bytes.received };
    };
    const full: Array<{ ms: number; bytes: number }> = [];
    const delta: Array<{ ms: number; bytes: number }> = [];
    for (let round = 1; round <= ROUNDS; round++) {
      full.push(await measure(() => reporter.resync()));
      // One pack changed (a forced re-push: same name and version, other archive).
      index.put(entry(round * 97 % PACKS, round));
      delta.push(await measure(() => reporter.sync()));
    }
    reporter.closed(session);
    index.close();

    const expected = openPackSyncSource(packIndexFile(state))!;
    const digest = packIndexDigest(expected.entries());
    expected.close();
    const held = (await api.get<{ status: string; packs: number; indexDigest: string }>(`/v1/gateways/${gw.id}/pack-sync`)).body;
    if (held.status !== 'ok' || held.packs !== PACKS || held.indexDigest !== digest) throw new Error(`relay holds ${JSON.stringify(held)}, expected ${PACKS} packs with ${digest}`);

    const fullMs = median(full.map((r) => r.ms));
    const deltaMs = median(delta.map((r) => r.ms));
    const fullBytes = median(full.map((r) => r.bytes));
    const deltaBytes = median(delta.map((r) => r.bytes));
    report('pack-sync: reconcile of a 1,000-pack index', [
      ['packs in the index', PACKS],
      ['rounds (median of)', ROUNDS],
      ['full report (baseline), ms', fullMs.toFixed(1)],
      ['delta, one pack changed, ms', deltaMs.toFixed(1)],
      ['full report, tunnel bytes', fullBytes],
      ['delta, tunnel bytes', deltaBytes],
      ['bytes: delta / full', (deltaBytes / fullBytes).toFixed(4)],
      ['time: delta / full', (deltaMs / fullMs).toFixed(3)],
    ], {
      packs: PACKS, rounds: ROUNDS, fullMs: Number(fullMs.toFixed(2)), deltaMs: Number(deltaMs.toFixed(2)), fullBytes, deltaBytes,
      bytesRatio: Number((deltaBytes / fullBytes).toFixed(5)), timeRatio: Number((deltaMs / fullMs).toFixed(4)), verified: true,
    });
  } finally {
    raw?.close();
    await relay.stop();
    dir.remove();
  }
}

runBench(main);
